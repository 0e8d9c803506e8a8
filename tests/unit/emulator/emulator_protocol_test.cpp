#include "emulator/emulator_protocol.h"

#include "client/lambda_protocol.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <regex>

namespace lamella::detail {
namespace {

using namespace std::chrono_literals;

std::string env_value(const env_list& env, std::string_view name) {
  for (const auto& [k, v] : env) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(base64, encodes_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(base64, decodes_with_and_without_padding) {
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
  const std::string binary = "{\"custom\":{\"k\":\"v\"}}\n\x01\x80";
  EXPECT_EQ(base64_decode(base64_encode(binary)), binary);
}

TEST(base64, rejects_invalid_input) {
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));         // impossible length
  EXPECT_FALSE(base64_decode("Zm9vY==="));  // too much padding
  EXPECT_FALSE(base64_decode("Zm=9"));      // padding inside
  EXPECT_FALSE(base64_decode("Zm9v Zg=="));
  EXPECT_FALSE(base64_decode("not base64 at all"));
}

TEST(invocation_type, parses_the_three_types_exactly) {
  EXPECT_EQ(parse_invocation_type(""), invocation_type::request_response);
  EXPECT_EQ(parse_invocation_type("RequestResponse"), invocation_type::request_response);
  EXPECT_EQ(parse_invocation_type("Event"), invocation_type::event);
  EXPECT_EQ(parse_invocation_type("DryRun"), invocation_type::dry_run);
  EXPECT_FALSE(parse_invocation_type("event"));
  EXPECT_FALSE(parse_invocation_type("Async"));
}

TEST(error_bodies, timeout_has_two_decimals) {
  EXPECT_EQ(format_seconds(3000ms), "3.00");
  EXPECT_EQ(format_seconds(250ms), "0.25");
  EXPECT_EQ(format_seconds(900000ms), "900.00");
  EXPECT_EQ(
      timeout_error_body("abc", 3000ms),
      R"({"errorType":"Sandbox.Timedout","errorMessage":"RequestId: abc Error: Task timed out after 3.00 seconds"})");
  EXPECT_EQ(
      init_timeout_error_body("abc", 10000ms),
      R"({"errorType":"Sandbox.Timedout","errorMessage":"RequestId: abc Error: Init timed out after 10.00 seconds"})");
}

TEST(error_bodies, exit_status_and_signals) {
  EXPECT_EQ(describe_exit_status(1 << 8), "exit status 1");
  EXPECT_EQ(describe_exit_status(0), "exit status 0");
  EXPECT_EQ(describe_exit_status(SIGKILL), "signal: killed");
  EXPECT_EQ(describe_exit_status(SIGSEGV), "signal: segmentation fault");
  EXPECT_EQ(describe_exit_status(SIGABRT), "signal: aborted");
  EXPECT_EQ(
      exit_error_body("id1", "exit status 1"),
      R"({"errorType":"Runtime.ExitError","errorMessage":"RequestId: id1 Error: Runtime exited with error: exit status 1"})");
}

TEST(error_bodies, size_limits) {
  EXPECT_EQ(response_too_large_message(), "Exceeded maximum allowed payload size (6291556 bytes).");
  EXPECT_EQ(
      response_too_large_body(),
      R"({"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"})");
  EXPECT_EQ(api_error_body("InvalidRequestID", "Invalid request ID"),
            R"({"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"})");
  const std::string too_large = request_too_large_body(7000000, max_sync_request_bytes);
  EXPECT_NE(too_large.find(R"("errorType":"RequestEntityTooLargeException")"), std::string::npos);
  EXPECT_NE(too_large.find("6291456"), std::string::npos);
  EXPECT_EQ(max_sync_request_bytes, 6291456u);
  EXPECT_EQ(max_event_request_bytes, 1048576u);
}

TEST(error_bodies, normalize_keeps_json_and_wraps_text) {
  auto e = normalize_function_error(R"({"errorType":"ValueError","errorMessage":"bad"})", "X");
  EXPECT_EQ(e.body, R"({"errorType":"ValueError","errorMessage":"bad"})");
  EXPECT_EQ(e.type, "ValueError");

  e = normalize_function_error(R"({"errorMessage":"no type"})", "Runtime.ImportModuleError");
  EXPECT_EQ(e.body, R"({"errorMessage":"no type"})");
  EXPECT_EQ(e.type, "Runtime.ImportModuleError");

  e = normalize_function_error("plain text \"quoted\"", "Runtime.Crash");
  EXPECT_EQ(e.body, R"({"errorType":"Runtime.Crash","errorMessage":"plain text \"quoted\""})");
  EXPECT_EQ(e.type, "Runtime.Crash");

  e = normalize_function_error("", "");
  EXPECT_EQ(e.body, R"({"errorType":"Runtime.Unknown","errorMessage":""})");
  EXPECT_EQ(e.type, "Runtime.Unknown");
}

TEST(log_lines, start_end_report) {
  EXPECT_EQ(format_start_line("id", "$LATEST"), "START RequestId: id Version: $LATEST\n");
  EXPECT_EQ(format_end_line("id"), "END RequestId: id\n");
  EXPECT_EQ(format_report_line("id", std::chrono::duration<double, std::milli>(1.234), 128, 5000,
                               std::nullopt),
            "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 5 MB\n");
  EXPECT_EQ(format_report_line("id", std::chrono::duration<double, std::milli>(2.0), 256, 1024,
                               std::chrono::duration<double, std::milli>(4.556)),
            "REPORT RequestId: id\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 256 "
            "MB\tMax Memory Used: 1 MB\tInit Duration: 4.56 ms\n");
  // Billed duration is at least 1 ms.
  EXPECT_NE(format_report_line("id", std::chrono::duration<double, std::milli>(0.01), 128, 0,
                               std::nullopt)
                .find("Billed Duration: 1 ms"),
            std::string::npos);
}

TEST(log_lines, tail_is_the_last4_kb) {
  EXPECT_EQ(log_tail("short"), "short");
  std::string big(5000, 'a');
  big += "END";
  const auto tail = log_tail(big);
  EXPECT_EQ(tail.size(), 4096u);
  EXPECT_EQ(tail.substr(tail.size() - 3), "END");
  EXPECT_EQ(log_tail("abcdef", 2), "ef");
}

TEST(ids, request_id_is_aversion4_uuid) {
  const std::string id = format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  EXPECT_EQ(id, "01234567-89ab-4def-bedc-ba9876543210");
  EXPECT_TRUE(std::regex_match(
      format_request_id(~0ULL, ~0ULL),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}

TEST(ids, trace_id_format) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(0x5f5e1000));
  const std::string t = format_trace_id(now, 0x11223344, 0x5566778899aabbccULL, 0xdeadbeef);
  EXPECT_EQ(t, "Root=1-5f5e1000-112233445566778899aabbcc;Parent=00000000deadbeef;Sampled=0");
}

TEST(ids, arn_and_log_stream) {
  EXPECT_EQ(function_arn("eu-west-1", "fn"), "arn:aws:lambda:eu-west-1:012345678912:function:fn");
  const auto day = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  EXPECT_EQ(log_stream_name(day, "$LATEST", 1, 2),
            "2023/11/14/[$LATEST]00000000000000010000000000000002");
}

TEST(environment, only_lambda_variables_then_config_overrides) {
  ::setenv("LAMELLA_PROTOCOL_TEST_HOST_VAR", "leak", 1);
  function_config fn;
  fn.dir = "/srv/fn";
  fn.command = {"/opt/lamella/bin/bootstrap"};
  fn.handler = "app.handler";
  fn.name = "hello";
  fn.memory_mb = 256;
  fn.region = "eu-central-1";
  fn.env = {{"MY_VAR", "1"}, {"TZ", "Europe/Berlin"}};
  const env_list env =
      lambda_environment(fn, "127.0.0.1:9001", "2024/01/01/[$LATEST]abc", {{"ASAN_OPTIONS", "x"}});
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
  EXPECT_EQ(env_value(env, "_HANDLER"), "app.handler");
  EXPECT_EQ(env_value(env, "LAMBDA_TASK_ROOT"), "/srv/fn");
  EXPECT_EQ(env_value(env, "LAMBDA_RUNTIME_DIR"), "/opt/lamella/bin");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_FUNCTION_NAME"), "hello");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_LOG_GROUP_NAME"), "/aws/lambda/hello");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_LOG_STREAM_NAME"), "2024/01/01/[$LATEST]abc");
  EXPECT_EQ(env_value(env, "AWS_LAMBDA_INITIALIZATION_TYPE"), "on-demand");
  EXPECT_EQ(env_value(env, "AWS_REGION"), "eu-central-1");
  EXPECT_EQ(env_value(env, "AWS_DEFAULT_REGION"), "eu-central-1");
  EXPECT_NE(env_value(env, "AWS_ACCESS_KEY_ID"), "<absent>");
  EXPECT_NE(env_value(env, "AWS_SECRET_ACCESS_KEY"), "<absent>");
  EXPECT_NE(env_value(env, "AWS_SESSION_TOKEN"), "<absent>");
  EXPECT_EQ(env_value(env, "AWS_XRAY_CONTEXT_MISSING"), "LOG_ERROR");
  EXPECT_EQ(env_value(env, "AWS_XRAY_DAEMON_ADDRESS"), "169.254.79.129:2000");
  EXPECT_EQ(env_value(env, "_AWS_XRAY_DAEMON_ADDRESS"), "169.254.79.129");
  EXPECT_EQ(env_value(env, "_AWS_XRAY_DAEMON_PORT"), "2000");
  EXPECT_EQ(env_value(env, "LANG"), "en_US.UTF-8");
  EXPECT_EQ(env_value(env, "PATH"), "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin");
  EXPECT_EQ(env_value(env, "LD_LIBRARY_PATH"),
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
            "/var/task/lib:/opt/lib");
  EXPECT_EQ(env_value(env, "ASAN_OPTIONS"), "x");
  EXPECT_EQ(env_value(env, "MY_VAR"), "1");
  EXPECT_EQ(env_value(env, "TZ"), "Europe/Berlin");  // config overrides Lambda's :UTC
  EXPECT_EQ(env_value(env, "LAMELLA_PROTOCOL_TEST_HOST_VAR"), "<absent>");
  EXPECT_EQ(env_value(env, "HOME"), "<absent>");
  // Each name once.
  for (std::size_t i = 0; i < env.size(); ++i) {
    for (std::size_t j = i + 1; j < env.size(); ++j) EXPECT_NE(env[i].first, env[j].first);
  }
  ::unsetenv("LAMELLA_PROTOCOL_TEST_HOST_VAR");
}

TEST(environment, no_handler_means_no_handler_variable) {
  function_config fn;
  fn.dir = "/srv/fn";
  fn.command = {"/srv/fn/bootstrap"};
  const env_list env = lambda_environment(fn, "127.0.0.1:1", "s", {});
  EXPECT_EQ(env_value(env, "_HANDLER"), "<absent>");
  EXPECT_EQ(env_value(env, "TZ"), ":UTC");
  EXPECT_EQ(env_value(env, "LAMBDA_RUNTIME_DIR"), "/srv/fn");
}

TEST(environment, sanitizer_options_pass_through) {
  ::setenv("UBSAN_OPTIONS", "print_stacktrace=1", 1);
  const env_list pass = sanitizer_passthrough();
  EXPECT_EQ(env_value(pass, "UBSAN_OPTIONS"), "print_stacktrace=1");
  for (const auto& [k, v] : pass) {
    EXPECT_TRUE(k == "ASAN_OPTIONS" || k == "UBSAN_OPTIONS" || k == "TSAN_OPTIONS" ||
                k == "LSAN_OPTIONS")
        << k;
  }
}

TEST(targets, runtime_api_paths) {
  EXPECT_EQ(parse_runtime_target("/2018-06-01/runtime/invocation/next").kind, runtime_target::next);
  auto t = parse_runtime_target("/2018-06-01/runtime/invocation/abc-1/response");
  EXPECT_EQ(t.kind, runtime_target::response);
  EXPECT_EQ(t.request_id, "abc-1");
  t = parse_runtime_target("/2018-06-01/runtime/invocation/abc-1/error?x=1");
  EXPECT_EQ(t.kind, runtime_target::error);
  EXPECT_EQ(t.request_id, "abc-1");
  EXPECT_EQ(parse_runtime_target("/2018-06-01/runtime/init/error").kind,
            runtime_target::init_error);
  EXPECT_EQ(parse_runtime_target("/2018-06-01/ping").kind, runtime_target::ping);
  EXPECT_EQ(parse_runtime_target("/2018-06-01/runtime/invocation//response").kind,
            runtime_target::unknown);
  EXPECT_EQ(parse_runtime_target("/2018-06-01/runtime/invocation/x/other").kind,
            runtime_target::unknown);
  EXPECT_EQ(parse_runtime_target("/2019-01-01/runtime/invocation/next").kind,
            runtime_target::unknown);
}

TEST(targets, invoke_paths) {
  EXPECT_TRUE(is_invoke_target("/2015-03-31/functions/function/invocations"));
  EXPECT_TRUE(is_invoke_target("/2015-03-31/functions/my-fn/invocations?Qualifier=x"));
  EXPECT_FALSE(is_invoke_target("/2015-03-31/functions//invocations"));
  EXPECT_FALSE(is_invoke_target("/2015-03-31/functions/a/b/invocations"));
  EXPECT_FALSE(is_invoke_target("/2015-03-31/functions/function/invoke"));
  EXPECT_FALSE(is_invoke_target("/"));
}

TEST(proc_status, parses_vm_hwm) {
  EXPECT_EQ(parse_vm_hwm_kb("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\nVmRSS: 1 kB\n"),
            4321u);
  EXPECT_EQ(parse_vm_hwm_kb("Name:\tx\n"), 0u);
  EXPECT_EQ(parse_vm_hwm_kb(""), 0u);
}

}  // namespace
}  // namespace lamella::detail

namespace lamella {
namespace {

TEST(parse_scf_target, classifies_scfs_paths_without_ids) {
  using detail::runtime_target;
  EXPECT_EQ(detail::parse_scf_target("/runtime/init/ready").kind, runtime_target::init_ready);
  EXPECT_EQ(detail::parse_scf_target("/runtime/invocation/next").kind, runtime_target::next);
  EXPECT_EQ(detail::parse_scf_target("/runtime/invocation/response?x=1").kind,
            runtime_target::response);
  EXPECT_EQ(detail::parse_scf_target("/runtime/invocation/error").kind, runtime_target::error);
  EXPECT_TRUE(detail::parse_scf_target("/runtime/invocation/error").request_id.empty());
  EXPECT_EQ(detail::parse_scf_target("/2018-06-01/runtime/invocation/next").kind,
            runtime_target::unknown);
  EXPECT_EQ(detail::parse_scf_target("/runtime/init/error").kind, runtime_target::unknown);
}

std::string value_of(const detail::env_list& env, std::string_view name) {
  for (const auto& [k, v] : env) {
    if (k == name) return v;
  }
  return "<unset>";
}

std::ptrdiff_t count_of(const detail::env_list& env, std::string_view name) {
  return std::count_if(env.begin(), env.end(), [name](const auto& e) { return e.first == name; });
}

// What every non-Lambda dialect's environment must hold for a function with env
// {TZ=Asia/Shanghai, MINE=1} and the passed-through ASAN_OPTIONS=x: the function's own variables
// win over the platform's (TZ once), and none of Lambda's runtime variables leak in.
void expect_overrides_and_no_lambda(const detail::env_list& env) {
  EXPECT_EQ(value_of(env, "TZ"), "Asia/Shanghai");
  EXPECT_EQ(count_of(env, "TZ"), 1);
  EXPECT_EQ(value_of(env, "MINE"), "1");
  EXPECT_EQ(value_of(env, "ASAN_OPTIONS"), "x");
  EXPECT_EQ(value_of(env, "AWS_LAMBDA_RUNTIME_API"), "<unset>");
  EXPECT_EQ(value_of(env, "LAMBDA_TASK_ROOT"), "<unset>");
}

TEST(scf_environment, is_scfs_with_the_functions_overrides_last) {
  function_config f;
  f.dir = "/var/user";
  f.command = {"/var/user/bootstrap"};
  f.handler = "index.main";
  f.name = "fn";
  f.region = "ap-beijing";
  f.env = {{"TZ", "Asia/Shanghai"}, {"MINE", "1"}};
  const auto env = detail::scf_environment(f, "127.0.0.1", 9001, {{"ASAN_OPTIONS", "x"}});
  EXPECT_EQ(value_of(env, "SCF_RUNTIME_API"), "127.0.0.1");
  EXPECT_EQ(value_of(env, "SCF_RUNTIME_API_PORT"), "9001");
  EXPECT_EQ(value_of(env, "_HANDLER"), "index.main");
  EXPECT_EQ(value_of(env, "SCF_FUNCTIONNAME"), "fn");
  EXPECT_EQ(value_of(env, "SCF_NAMESPACE"), "default");
  EXPECT_EQ(value_of(env, "SCF_FUNCTIONVERSION"), "$LATEST");
  EXPECT_EQ(value_of(env, "TENCENTCLOUD_REGION"), "ap-beijing");
  EXPECT_EQ(value_of(env, "TENCENTCLOUD_UIN"), std::string(detail::emulated_scf_uin));
  expect_overrides_and_no_lambda(env);
}

TEST(parse_functiongraph_target, classifies_functiongraphs_paths_with_ids) {
  using detail::runtime_target;
  EXPECT_EQ(detail::parse_functiongraph_target("/v1/runtime/invocation/request").kind,
            runtime_target::next);
  const auto response = detail::parse_functiongraph_target("/v1/runtime/invocation/response/a-1?x");
  EXPECT_EQ(response.kind, runtime_target::response);
  EXPECT_EQ(response.request_id, "a-1");
  const auto error = detail::parse_functiongraph_target("/v1/runtime/invocation/error/b-2");
  EXPECT_EQ(error.kind, runtime_target::error);
  EXPECT_EQ(error.request_id, "b-2");
  for (const char* bad : {"/v1/runtime/invocation/response/", "/v1/runtime/invocation/error/a/b",
                          "/v1/runtime/invocation/next", "/2018-06-01/runtime/invocation/next",
                          "/runtime/invocation/next", "/v1/runtime/init/error"}) {
    EXPECT_EQ(detail::parse_functiongraph_target(bad).kind, runtime_target::unknown) << bad;
  }
}

TEST(functiongraph_environment, is_functiongraphs_with_the_functions_overrides_last) {
  function_config f;
  f.dir = "/opt/function/code";
  f.command = {"/opt/function/code/bootstrap"};
  f.handler = "index.handler";
  f.name = "fn";
  f.memory_mb = 256;
  f.timeout = std::chrono::milliseconds(2500);
  f.env = {{"TZ", "Asia/Shanghai"}, {"MINE", "1"}};
  const auto env = detail::functiongraph_environment(f, "127.0.0.1:8081", {{"ASAN_OPTIONS", "x"}});
  EXPECT_EQ(value_of(env, "RUNTIME_API_ADDR"), "127.0.0.1:8081");
  EXPECT_EQ(value_of(env, "RUNTIME_HANDLER"), "index.handler");
  EXPECT_EQ(value_of(env, "RUNTIME_FUNC_NAME"), "fn");
  EXPECT_EQ(value_of(env, "RUNTIME_FUNC_VERSION"), "latest");  // FunctionGraph's $LATEST
  EXPECT_EQ(value_of(env, "RUNTIME_PACKAGE"), "default");
  EXPECT_EQ(value_of(env, "RUNTIME_PROJECT_ID"), std::string(detail::emulated_fg_project_id));
  EXPECT_EQ(value_of(env, "RUNTIME_TIMEOUT"), "3");  // whole seconds, rounded up
  EXPECT_EQ(value_of(env, "RUNTIME_MEMORY"), "256");
  EXPECT_EQ(value_of(env, "RUNTIME_CODE_ROOT"), "/opt/function/code");
  EXPECT_EQ(value_of(env, "RUNTIME_MAX_RESP_BODY_SIZE"), "6291456");
  expect_overrides_and_no_lambda(env);
  EXPECT_EQ(value_of(env, "_HANDLER"), "<unset>");
}

TEST(push_runtime_environment, is_lambdas_without_the_runtime_api_plus_port_and_platform) {
  function_config f;
  f.dir = "/var/task";
  f.command = {"/opt/bootstrap"};
  f.name = "web";
  f.env = {{"PORT", "1"}, {"LAMELLA_PLATFORM", "lambda"}, {"MINE", "2"}};
  const std::vector<std::pair<std::string, std::string>> platforms{{"fc", "FC_CUSTOM_LISTEN_PORT"},
                                                                   {"http", "PORT"}};
  for (const auto& platform : platforms) {
    const auto env = push_runtime_environment(f, platform.first, 8080);
    EXPECT_EQ(value_of(env, platform.second), "8080") << platform.first;
    EXPECT_EQ(count_of(env, platform.second), 1);
    EXPECT_EQ(value_of(env, "LAMELLA_PLATFORM"), platform.first);
    EXPECT_EQ(count_of(env, "LAMELLA_PLATFORM"), 1);
    EXPECT_EQ(value_of(env, "AWS_LAMBDA_RUNTIME_API"), "<unset>");
    EXPECT_EQ(value_of(env, "AWS_LAMBDA_FUNCTION_NAME"), "web");
    EXPECT_EQ(value_of(env, "LAMBDA_TASK_ROOT"), "/var/task");
    EXPECT_EQ(value_of(env, "MINE"), "2");
  }
}

TEST(push_runtime_environment, gives_fn_a_unix_socket_listener_instead_of_a_port) {
  function_config f;
  f.dir = "/var/task";
  f.command = {"/opt/bootstrap"};
  f.memory_mb = 256;
  f.env = {{"FN_LISTENER", "unix:/elsewhere/lsnr.sock"}, {"FN_FORMAT", "json"}};
  const auto env = push_runtime_environment(f, "fn", 8080, "/tmp/lamella-fn-x");
  EXPECT_EQ(value_of(env, "FN_LISTENER"), "unix:/tmp/lamella-fn-x/lsnr.sock");
  EXPECT_EQ(count_of(env, "FN_LISTENER"), 1);
  EXPECT_EQ(value_of(env, "FN_FORMAT"), "http-stream");
  EXPECT_EQ(count_of(env, "FN_FORMAT"), 1);
  EXPECT_EQ(value_of(env, "FN_MEMORY"), "256");
  EXPECT_EQ(value_of(env, "LAMELLA_PLATFORM"), "fn");
  EXPECT_EQ(value_of(env, "LAMELLA_PORT"), "<unset>");
  EXPECT_EQ(value_of(env, "AWS_LAMBDA_RUNTIME_API"), "<unset>");
  // Without a directory: Fn's own.
  EXPECT_EQ(value_of(push_runtime_environment(f, "fn", 0), "FN_LISTENER"),
            "unix:/tmp/iofs/lsnr.sock");
}

}  // namespace
}  // namespace lamella
