// Python handlers end to end: the real generic bootstrap (which loads liblamella_python.so and
// embeds CPython) and `python -m lamella`, against the real emulator over loopback. Covers
// handler loading and the AWS init error types, the context object, events and results,
// function errors with their stack traces, logging and warm state.
#include "lamella/emulator.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace lamella {
namespace {

const std::filesystem::path fn_root = LAMELLA_FN_DIR;
const std::filesystem::path samples = LAMELLA_SAMPLES_DIR;
const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;
const std::filesystem::path py_fn = fn_root / "python" / "fn";
const std::filesystem::path py_broken = fn_root / "python" / "broken";

using env_list = std::vector<std::pair<std::string, std::string>>;

/// A function run by the generic bootstrap with `handler` in `dir`.
function_config py_config(const std::string& handler, const std::filesystem::path& dir = py_fn,
                          env_list env = {}) {
  function_config c;
  c.dir = dir;
  c.command = {(bin_dir / "bootstrap").string()};
  c.handler = handler;
  c.name = "lamella-py-test";
  c.version = "7";
  c.memory_mb = 256;
  c.timeout = std::chrono::seconds(10);
  c.env = std::move(env);
  // Sanitizer builds: the emulator passes Lambda's environment only, so forward ASAN_OPTIONS;
  // CPython's own allocations at exit are not leaks of ours (detect_leaks=0, Python runtimes only).
  if (const char* asan = std::getenv("ASAN_OPTIONS")) {
    c.env.emplace_back("ASAN_OPTIONS", std::string(asan) + ":detect_leaks=0");
  }
  return c;
}

class python_runtime_test : public ::testing::Test {
 protected:
  std::unique_ptr<emulator> start(function_config c) {
    emulator_options o;
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      logs_.append(line);
    };
    return std::make_unique<emulator>(std::move(c), std::move(o));
  }
  /// Everything the runtime and the emulator logged so far.
  std::string logs(emulator& emu) {
    (void)emu.last_instance();  // flushes pending log lines
    std::lock_guard lock(mutex_);
    return logs_;
  }

  std::mutex mutex_;
  std::string logs_;
};

invoke_result call(emulator& emu, std::string payload, std::string trace_id = {},
                   std::string client_context = {}, std::string tenant_id = {}) {
  invoke_request r;
  r.payload = std::move(payload);
  r.trace_id = std::move(trace_id);
  r.client_context = std::move(client_context);
  r.tenant_id = std::move(tenant_id);
  return emu.invoke(std::move(r)).get();
}

boost::json::object json_of(const invoke_result& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
  return v.is_object() ? v.as_object() : boost::json::object{};
}

/// The errorType of a one-shot function error.
std::string error_type_of(const invoke_result& r) {
  EXPECT_EQ(r.function_error, "Unhandled") << r.body;
  const auto body = json_of(r);
  return body.contains("errorType") ? std::string(body.at("errorType").as_string()) : "";
}

TEST_F(python_runtime_test, the_hello_sample_answers_and_keeps_warm_state) {
  auto emu = start(py_config("app.handler", samples / "python-hello"));
  const auto first = call(*emu, R"({"name":"x"})");
  ASSERT_EQ(first.status, 200u);
  ASSERT_TRUE(first.function_error.empty()) << first.body;
  EXPECT_EQ(first.content_type, "application/json");
  const auto body = json_of(first);
  EXPECT_EQ(body.at("message").as_string(), "Hello, x!");
  EXPECT_EQ(body.at("count").as_int64(), 1);
  EXPECT_EQ(body.at("request_id").as_string(), first.request_id);
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 2);
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 3);
}

TEST_F(python_runtime_test, module_globals_persist_and_init_runs_once) {
  auto emu = start(py_config("app.counter"));
  std::int64_t pid = 0;
  for (int i = 1; i <= 4; ++i) {
    const auto body = json_of(call(*emu, "{}"));
    EXPECT_EQ(body.at("count").as_int64(), i);
    EXPECT_EQ(body.at("init_runs").as_int64(), 1);
    if (i == 1) pid = body.at("pid").as_int64();
    EXPECT_EQ(body.at("pid").as_int64(), pid);
  }
}

TEST_F(python_runtime_test, a_nested_module_path_is_loaded) {
  auto emu = start(py_config("pkg/sub/mod.handler"));
  EXPECT_EQ(json_of(call(*emu, "{}")).at("where").as_string(), "pkg.sub.mod");
}

TEST_F(python_runtime_test, a_missing_module_is_an_import_module_error) {
  auto emu = start(py_config("nosuch.handler"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.ImportModuleError");
  EXPECT_EQ(json_of(r).at("errorMessage").as_string(),
            "Unable to import module 'nosuch': No module named 'nosuch'");
  EXPECT_EQ(json_of(r).at("requestId").as_string(), "");
}

TEST_F(python_runtime_test, a_missing_dependency_is_an_import_module_error) {
  auto emu = start(py_config("imports_missing.handler", py_broken));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.ImportModuleError");
  EXPECT_NE(r.body.find("lamella_no_such_dependency"), std::string::npos) << r.body;
}

TEST_F(python_runtime_test, a_syntax_error_is_a_user_code_syntax_error) {
  auto emu = start(py_config("syntax_error.handler", py_broken));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.UserCodeSyntaxError");
  const auto body = json_of(r);
  EXPECT_NE(std::string(body.at("errorMessage").as_string()).find("syntax_error"),
            std::string::npos);
  ASSERT_FALSE(body.at("stackTrace").as_array().empty());
  EXPECT_NE(std::string(body.at("stackTrace").as_array()[0].as_string()).find("syntax_error.py"),
            std::string::npos);
  EXPECT_NE(logs(*emu).find("[ERROR] Runtime.UserCodeSyntaxError"), std::string::npos);
}

TEST_F(python_runtime_test, a_missing_function_is_handler_not_found) {
  auto emu = start(py_config("app.no_such_function"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.HandlerNotFound");
  EXPECT_EQ(json_of(r).at("errorMessage").as_string(),
            "Handler 'no_such_function' missing on module 'app'");
}

TEST_F(python_runtime_test, malformed_and_escaping_handlers_are_refused) {
  for (const std::string handler :
       {"nodot", "../fn/app.echo", "/etc/app.echo", "pkg/../app.echo"}) {
    auto emu = start(py_config(handler, py_fn, {{"LAMELLA_LANGUAGE", "python"}}));
    EXPECT_EQ(error_type_of(call(*emu, "{}")), "Runtime.MalformedHandlerName") << handler;
  }
}

TEST_F(python_runtime_test, an_exception_at_import_is_reported_with_its_class_name) {
  auto emu = start(py_config("raises_at_import.handler", py_broken));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "RuntimeError");
  EXPECT_EQ(json_of(r).at("errorMessage").as_string(), "init went wrong");
  EXPECT_NE(r.body.find("raises_at_import.py"), std::string::npos) << r.body;
}

TEST_F(python_runtime_test, a_raised_value_error_names_the_users_file_and_line) {
  auto emu = start(py_config("app.fail"));
  const auto r = call(*emu, R"({"x":42})");
  EXPECT_EQ(error_type_of(r), "ValueError");
  const auto body = json_of(r);
  EXPECT_EQ(body.at("errorMessage").as_string(), "bad input: 42");
  EXPECT_EQ(body.at("requestId").as_string(), r.request_id);
  const auto& trace = body.at("stackTrace").as_array();
  ASSERT_EQ(trace.size(), 2u) << r.body;  // fail() then helper(); lamella's frames left out
  const std::string app = (py_fn / "app.py").string();
  // traceback.format_list() strings, as the AWS runtime sends (3.11 adds a caret line when the
  // failing expression is only part of the line).
  EXPECT_TRUE(
      std::string(trace[0].as_string())
          .starts_with("  File \"" + app + "\", line 21, in fail\n    return helper(event)\n"))
      << trace[0].as_string();
  EXPECT_EQ(trace[1].as_string(), "  File \"" + app +
                                      "\", line 25, in helper\n    raise ValueError(\"bad "
                                      "input: \" + str(event.get(\"x\")))\n");
  // The error is logged in AWS's text format: one line, frames indented with U+00A0.
  const auto text = logs(*emu);
  EXPECT_NE(text.find("[ERROR] ValueError: bad input: 42\rTraceback (most recent call last):\r"
                      "\u00a0\u00a0File \"" +
                      app + "\", line 21, in fail\r"),
            std::string::npos)
      << text;
}

TEST_F(python_runtime_test, errors_keep_the_class_name_and_the_runtime_keeps_serving) {
  auto emu = start(py_config("app.custom"));
  EXPECT_EQ(error_type_of(call(*emu, "{}")), "CustomError");
  EXPECT_EQ(error_type_of(call(*emu, "{}")), "CustomError");
}

TEST_F(python_runtime_test, sys_exit_in_a_handler_ends_the_process_with_its_status) {
  auto emu = start(py_config("app.exits"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.ExitError");
  EXPECT_NE(r.body.find("exit status 3"), std::string::npos) << r.body;
}

TEST_F(python_runtime_test, results_are_json_with_exact_decimals_null_and_raw_unicode) {
  auto emu = start(py_config("app.values"));
  const auto r = call(*emu, "{}");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(r.body,
            "{\"decimal\": 1.10, \"big\": 12345678901234567890.000000001, \"none\": null, "
            "\"unicode\": \"h\xc3\xa9llo \xe2\x9c\x93\", \"float\": 0.5, "
            "\"list\": [1, true, null]}");
  auto none = start(py_config("app.none"));
  EXPECT_EQ(call(*none, "{}").body, "null");
}

TEST_F(python_runtime_test, events_are_decoded_from_json) {
  auto emu = start(py_config("app.echo"));
  const std::string event = R"({"a": [1, 2.5, "\u00e9"], "b": {"c": null, "d": false}})";
  const auto r = call(*emu, event);
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  EXPECT_EQ(boost::json::parse(r.body), boost::json::parse(event));
  auto types = start(py_config("app.event_type"));
  EXPECT_EQ(json_of(call(*types, "[1]")).at("type").as_string(), "list");
  EXPECT_EQ(json_of(call(*types, "\"s\"")).at("type").as_string(), "str");
}

TEST_F(python_runtime_test, a_non_json_event_is_an_unmarshal_error) {
  auto emu = start(py_config("app.echo"));
  const auto r = call(*emu, "this is not json");
  EXPECT_EQ(error_type_of(r), "Runtime.UnmarshalError");
  EXPECT_NE(std::string(json_of(r).at("errorMessage").as_string()).find("Unable to unmarshal"),
            std::string::npos);
  EXPECT_TRUE(call(*emu, R"({"still":"serving"})").function_error.empty());
}

TEST_F(python_runtime_test, an_unserialisable_result_is_a_marshal_error) {
  auto emu = start(py_config("app.unserialisable"));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.MarshalError");
  EXPECT_NE(r.body.find("not JSON serializable"), std::string::npos) << r.body;
}

TEST_F(python_runtime_test, bytes_are_returned_as_they_are) {
  auto emu = start(py_config("app.raw_bytes"));
  const auto r = call(*emu, "{}");
  EXPECT_TRUE(r.function_error.empty());
  EXPECT_EQ(r.body, std::string("\0raw", 4));
  EXPECT_EQ(r.content_type, "application/unknown");
}

TEST_F(python_runtime_test, the_context_has_the_aws_attributes) {
  auto emu = start(py_config("app.context_dump", py_fn,
                             {{"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/lamella-py-test"},
                              {"AWS_LAMBDA_LOG_STREAM_NAME", "2024/01/01/[7]abc"}}));
  const auto r =
      call(*emu, "{}", {}, R"({"custom":{"k":"v"},"client":{"app_title":"app"}})", "tenant-1");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto c = json_of(r);
  EXPECT_EQ(c.at("function_name").as_string(), "lamella-py-test");
  EXPECT_EQ(c.at("function_version").as_string(), "7");
  EXPECT_EQ(c.at("memory_limit_in_mb").as_string(), "256");
  EXPECT_EQ(c.at("aws_request_id").as_string(), r.request_id);
  EXPECT_NE(std::string(c.at("invoked_function_arn").as_string()).find("lamella-py-test"),
            std::string::npos);
  EXPECT_EQ(c.at("log_group_name").as_string(), "/aws/lambda/lamella-py-test");
  EXPECT_EQ(c.at("log_stream_name").as_string(), "2024/01/01/[7]abc");
  EXPECT_TRUE(c.at("identity_id").is_null());
  EXPECT_EQ(c.at("client_custom").at("k").as_string(), "v");
  EXPECT_EQ(c.at("client_app_title").as_string(), "app");
  EXPECT_EQ(c.at("tenant_id").as_string(), "tenant-1");
  const auto remaining = c.at("remaining").as_int64();
  EXPECT_GT(remaining, 0);
  EXPECT_LE(remaining, 10000);
}

TEST_F(python_runtime_test, the_trace_id_is_set_per_invocation_for_python_and_subprocesses) {
  auto emu = start(py_config("app.trace"));
  for (const std::string id : {"Root=1-aaaa-1;Parent=11;Sampled=1", "Root=1-bbbb-2;Sampled=0"}) {
    const auto t = json_of(call(*emu, "{}", id));
    EXPECT_EQ(t.at("python").as_string(), id);
    EXPECT_EQ(t.at("process").as_string(), id);
  }
}

TEST_F(python_runtime_test, print_and_logging_reach_the_log_with_the_request_id) {
  auto emu = start(py_config("app.logs", py_fn, {{"AWS_LAMBDA_LOG_LEVEL", "INFO"}}));
  const auto r = call(*emu, R"({"tag":"t1"})");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto text = logs(*emu);
  EXPECT_NE(text.find("printed line t1\n"), std::string::npos) << text;
  const std::regex info("\\[INFO\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t" +
                        r.request_id + "\\tinfo line t1\\n");
  EXPECT_TRUE(std::regex_search(text, info)) << text;
  EXPECT_EQ(text.find("debug line"), std::string::npos) << "AWS_LAMBDA_LOG_LEVEL=INFO filters";
  // A multi-line record stays one line (CR inside), as with the AWS runtime.
  EXPECT_NE(text.find("\t" + r.request_id + "\twarning line\rsecond part\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\tcaught it\rTraceback (most recent call last):\r"), std::string::npos)
      << text;
}

TEST_F(python_runtime_test, json_log_format_gives_json_lines) {
  auto emu = start(py_config(
      "app.logs", py_fn, {{"AWS_LAMBDA_LOG_FORMAT", "JSON"}, {"AWS_LAMBDA_LOG_LEVEL", "DEBUG"}}));
  const auto r = call(*emu, R"({"tag":"j1"})");
  ASSERT_TRUE(r.function_error.empty()) << r.body;
  const auto text = logs(*emu);
  std::vector<boost::json::object> records;
  std::size_t pos = 0;
  while ((pos = text.find("{\"timestamp\"", pos)) != std::string::npos) {
    const auto end = text.find('\n', pos);
    records.push_back(boost::json::parse(text.substr(pos, end - pos)).as_object());
    pos = end;
  }
  ASSERT_EQ(records.size(), 4u) << text;  // debug, info, warning, exception
  const std::regex ms_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (const auto& rec : records) {
    EXPECT_TRUE(std::regex_match(std::string(rec.at("timestamp").as_string()), ms_time));
    EXPECT_EQ(rec.at("requestId").as_string(), r.request_id);
  }
  EXPECT_EQ(records[0].at("level").as_string(), "DEBUG");
  EXPECT_EQ(records[1].at("message").as_string(), "info line j1");
  EXPECT_EQ(records[2].at("logger").as_string(), "child");
  EXPECT_EQ(records[3].at("errorType").as_string(), "KeyError");
  EXPECT_FALSE(records[3].at("stackTrace").as_array().empty());
}

TEST_F(python_runtime_test, a_missing_adapter_is_an_init_error_with_a_clear_message) {
  auto emu = start(py_config("app.echo", py_fn,
                             {{"LAMELLA_PYTHON_ADAPTER", "/nonexistent/liblamella_python.so"}}));
  const auto r = call(*emu, "{}");
  EXPECT_EQ(error_type_of(r), "Runtime.ImportModuleError");
  EXPECT_NE(r.body.find("/nonexistent/liblamella_python.so"), std::string::npos) << r.body;
}

/// `python -m lamella app.handler` as the function's own bootstrap, with the system Python.
function_config python_m_config(const std::string& handler) {
  function_config c = py_config(handler, fn_root / "fn-python-m");
  c.command = {(c.dir / "bootstrap").string()};
  return c;
}

TEST_F(python_runtime_test, python_m_lamella_serves_the_same_handlers) {
  auto emu = start(python_m_config("app.counter"));
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 1);
  EXPECT_EQ(json_of(call(*emu, "{}")).at("count").as_int64(), 2);
  auto failing = start(python_m_config("app.fail"));
  const auto r = call(*failing, R"({"x":1})");
  EXPECT_EQ(error_type_of(r), "ValueError");
  EXPECT_NE(r.body.find("app.py\\\", line 25, in helper"), std::string::npos) << r.body;
  auto trace = start(python_m_config("app.trace"));
  EXPECT_EQ(json_of(call(*trace, "{}", "Root=1-cccc-3")).at("python").as_string(), "Root=1-cccc-3");
}

TEST_F(python_runtime_test, both_ways_run_the_same_core_module) {
  // Embedded: the core is built into liblamella_python.so; python -m: the extension module.
  auto embedded = start(py_config("app.runtime_module"));
  const auto e = json_of(call(*embedded, "{}"));
  EXPECT_TRUE(e.at("builtin").as_bool());
  EXPECT_FALSE(e.at("extension").as_bool());
  auto m = start(python_m_config("app.runtime_module"));
  const auto x = json_of(call(*m, "{}"));
  EXPECT_FALSE(x.at("builtin").as_bool());
  EXPECT_TRUE(x.at("extension").as_bool());
}

TEST_F(python_runtime_test, python_m_lamella_reports_init_errors) {
  auto emu = start(python_m_config("app.missing"));
  EXPECT_EQ(error_type_of(call(*emu, "{}")), "Runtime.HandlerNotFound");
}

}  // namespace
}  // namespace lamella
