#include "config.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace lamella {
namespace {

env_reader fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(config_from_env, lambda_with_a_shared_library_handler) {
  const auto c = config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"},
                                           {"_HANDLER", "libhello.so:hello"},
                                           {"LAMBDA_TASK_ROOT", "/var/task"}}));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->platform_kind, platform_kind::lambda);
  EXPECT_EQ(c->language_kind, language::cpp);
  EXPECT_EQ(c->runtime_api, "127.0.0.1:9001");
  EXPECT_EQ(c->handler, "libhello.so:hello");
  EXPECT_EQ(c->task_root, "/var/task");
}

TEST(config_from_env, task_root_defaults_to_the_working_directory) {
  const auto c =
      config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"}, {"_HANDLER", "lib.so:f"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->task_root, std::filesystem::current_path());
}

TEST(config_from_env, no_platform_is_an_invalid_configuration) {
  EXPECT_EQ(config_from_env(fake_env({{"_HANDLER", "lib.so:f"}})).error(),
            make_error_code(errc::invalid_configuration));
}

TEST(config_from_env, unknown_platform_or_language_override_is_refused) {
  EXPECT_EQ(config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                      {"_HANDLER", "lib.so:f"},
                                      {"LAMELLA_PLATFORM", "mainframe"}}))
                .error(),
            make_error_code(errc::invalid_configuration));
  EXPECT_EQ(config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                      {"_HANDLER", "lib.so:f"},
                                      {"LAMELLA_LANGUAGE", "cobol"}}))
                .error(),
            make_error_code(errc::invalid_configuration));
}

TEST(config_from_env, a_handler_no_language_claims_is_malformed) {
  EXPECT_EQ(
      config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"}, {"_HANDLER", ""}})).error(),
      make_error_code(errc::malformed_handler));
  EXPECT_EQ(config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"}, {"_HANDLER", "nocolon"}}))
                .error(),
            make_error_code(errc::malformed_handler));
}

/// A file_probe that sees exactly `files`.
file_probe fake_files(std::set<std::filesystem::path> files) {
  return [files = std::move(files)](const std::filesystem::path& p) { return files.contains(p); };
}

TEST(config_from_env, a_module_file_in_the_task_root_makes_a_python_handler) {
  const auto env = fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                             {"_HANDLER", "app.handler"},
                             {"LAMBDA_TASK_ROOT", "/var/task"}});
  const auto c = config_from_env(env, fake_files({"/var/task/app.py"}));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->language_kind, language::python);
  EXPECT_EQ(c->handler, "app.handler");
}

TEST(config_from_env, packages_nested_paths_and_layers_are_python) {
  const auto with = [](const std::string& handler, std::set<std::filesystem::path> files) {
    return config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                     {"_HANDLER", handler},
                                     {"LAMBDA_TASK_ROOT", "/var/task"}}),
                           fake_files(std::move(files)));
  };
  EXPECT_EQ(with("pkg.handler", {"/var/task/pkg/__init__.py"})->language_kind, language::python);
  EXPECT_EQ(with("dir/sub/mod.fn", {"/var/task/dir/sub/mod.py"})->language_kind, language::python);
  EXPECT_EQ(with("layered.handler", {"/opt/python/layered.py"})->language_kind, language::python);
}

TEST(config_from_env, a_dotted_handler_without_a_module_file_still_goes_to_python) {
  // So that Python reports the missing module as Runtime.ImportModuleError.
  const auto c = config_from_env(
      fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"}, {"_HANDLER", "missing.handler"}}),
      fake_files({}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->language_kind, language::python);
}

TEST(config_from_env, the_shared_library_form_stays_cpp_and_overrides_win) {
  const auto env = [](std::map<std::string, std::string> extra) {
    extra.emplace("AWS_LAMBDA_RUNTIME_API", "h:1");
    return fake_env(std::move(extra));
  };
  EXPECT_EQ(config_from_env(env({{"_HANDLER", "lib.so:f"}}), fake_files({"/var/task/lib.so"}))
                ->language_kind,
            language::cpp);
  EXPECT_EQ(
      config_from_env(env({{"_HANDLER", "nodot"}, {"LAMELLA_LANGUAGE", "python"}}), fake_files({}))
          ->language_kind,
      language::python);
  EXPECT_EQ(config_from_env(env({{"_HANDLER", "app.handler"}, {"LAMELLA_LANGUAGE", "cpp"}}),
                            fake_files({}))
                ->language_kind,
            language::cpp);
}

TEST(config_from_env, a_js_file_in_the_task_root_makes_a_node_handler) {
  const auto with = [](const std::string& handler, std::set<std::filesystem::path> files) {
    return config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                     {"_HANDLER", handler},
                                     {"LAMBDA_TASK_ROOT", "/var/task"}}),
                           fake_files(std::move(files)));
  };
  EXPECT_EQ(with("index.handler", {"/var/task/index.js"})->language_kind, language::node);
  EXPECT_EQ(with("index.handler", {"/var/task/index.mjs"})->language_kind, language::node);
  EXPECT_EQ(with("index.handler", {"/var/task/index.cjs"})->language_kind, language::node);
  EXPECT_EQ(with("index.handler", {"/var/task/index"})->language_kind, language::node);
  // Node splits the last component at its first '.': "index.api.v1.handler" is index.js.
  EXPECT_EQ(with("index.api.v1.handler", {"/var/task/index.js"})->language_kind, language::node);
  EXPECT_EQ(with("src/lib/app.handler", {"/var/task/src/lib/app.mjs"})->language_kind,
            language::node);
  // A Python module of that name wins over a JS file (Python was there first).
  EXPECT_EQ(with("app.handler", {"/var/task/app.py", "/var/task/app.js"})->language_kind,
            language::python);
  // No file at all: a package.json says Node, so Node reports the missing module.
  EXPECT_EQ(with("missing.handler", {"/var/task/package.json"})->language_kind, language::node);
  EXPECT_EQ(with("missing.handler", {})->language_kind, language::python);
}

TEST(config_from_env, node_overrides_are_read) {
  const auto c = config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                           {"_HANDLER", "x"},
                                           {"LAMELLA_LANGUAGE", "node"},
                                           {"LAMELLA_NODE", "/opt/node/bin/node"},
                                           {"LAMELLA_NODE_RUNTIME", "/opt/rt/lamella-node.js"}}),
                                 fake_files({}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->language_kind, language::node);
  EXPECT_EQ(c->node_executable, "/opt/node/bin/node");
  EXPECT_EQ(c->node_runtime, "/opt/rt/lamella-node.js");
}

TEST(node_module_exists, refuses_dotless_and_escaping_handlers) {
  const auto files = fake_files({"/r/index.js", "/r/x/index.js"});
  EXPECT_TRUE(node_module_exists("index.handler", "/r", files));
  EXPECT_TRUE(node_module_exists("x/index.handler", "/r", files));
  EXPECT_FALSE(node_module_exists("index", "/r", files));
  EXPECT_FALSE(node_module_exists(".handler", "/r", files));
  EXPECT_FALSE(node_module_exists("x/../index.handler", "/r", files));
  EXPECT_FALSE(node_module_exists("other.handler", "/r", files));
}

TEST(config_from_env, the_python_adapter_path_can_be_overridden) {
  const auto c = config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                           {"_HANDLER", "app.handler"},
                                           {"LAMELLA_PYTHON_ADAPTER", "/x/liblamella_python.so"}}),
                                 fake_files({}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->python_adapter, "/x/liblamella_python.so");
}

TEST(python_module_exists, looks_for_a_module_file_or_a_package) {
  const auto files = fake_files({"/r/a.py", "/r/p/__init__.py"});
  EXPECT_TRUE(python_module_exists("a.handler", "/r", files));
  EXPECT_TRUE(python_module_exists("p.handler", "/r", files));
  EXPECT_FALSE(python_module_exists("b.handler", "/r", files));
  EXPECT_FALSE(python_module_exists("nodot", "/r", files));
}

TEST(real_files, sees_regular_files_only) {
  const auto probe = real_files();
  EXPECT_TRUE(probe("/proc/self/status"));
  EXPECT_FALSE(probe("/"));
  EXPECT_FALSE(probe("/nonexistent/file.py"));
}

}  // namespace
}  // namespace lamella

namespace lamella {
namespace {

TEST(config_from_env, scf_when_only_scf_is_configured) {
  const auto c = config_from_env(fake_env({{"SCF_RUNTIME_API", "9.134.0.1"},
                                           {"SCF_RUNTIME_API_PORT", "9001"},
                                           {"_HANDLER", "libhello.so:hello"}}));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->platform_kind, platform_kind::scf);
  EXPECT_EQ(c->runtime_api, "9.134.0.1:9001");
  EXPECT_EQ(c->task_root, std::filesystem::current_path());  // SCF runs in the code directory
}

TEST(config_from_env, scf_port_defaults_to_9001_and_lambda_wins_when_both_are_set) {
  const auto scf =
      config_from_env(fake_env({{"SCF_RUNTIME_API", "127.0.0.1"}, {"_HANDLER", "lib.so:f"}}));
  ASSERT_TRUE(scf);
  EXPECT_EQ(scf->runtime_api, "127.0.0.1:9001");
  const auto both = config_from_env(fake_env({{"SCF_RUNTIME_API", "127.0.0.1"},
                                              {"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                              {"_HANDLER", "lib.so:f"}}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->platform_kind, platform_kind::lambda);
  EXPECT_EQ(both->runtime_api, "h:1");
}

TEST(config_from_env, lamella_platform_chooses_and_requires_its_address) {
  const auto scf = config_from_env(fake_env({{"SCF_RUNTIME_API", "127.0.0.1"},
                                             {"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                             {"LAMELLA_PLATFORM", "scf"},
                                             {"_HANDLER", "lib.so:f"}}));
  ASSERT_TRUE(scf);
  EXPECT_EQ(scf->platform_kind, platform_kind::scf);
  // LAMELLA_PLATFORM=scf without SCF's address: SCF's usual local one (platform_from_env).
  EXPECT_EQ(config_from_env(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"},
                                      {"LAMELLA_PLATFORM", "scf"},
                                      {"_HANDLER", "lib.so:f"}}))
                ->runtime_api,
            "127.0.0.1:9001");
  EXPECT_EQ(config_from_env(fake_env({{"SCF_RUNTIME_API", "127.0.0.1"},
                                      {"LAMELLA_PLATFORM", "lambda"},
                                      {"_HANDLER", "lib.so:f"}}))
                .error(),
            make_error_code(errc::invalid_configuration));
  EXPECT_EQ(config_from_env(fake_env({{"SCF_RUNTIME_API", ""}, {"_HANDLER", "lib.so:f"}})).error(),
            make_error_code(errc::invalid_configuration));
}

TEST(config_from_env, push_platforms_are_served_in_process) {
  const auto http = config_from_env(
      fake_env({{"PORT", "8080"}, {"_HANDLER", "app.handler"}, {"LAMBDA_TASK_ROOT", "/t"}}),
      fake_files({"/t/app.py"}));
  ASSERT_TRUE(http) << http.error().message();
  EXPECT_EQ(http->platform_kind, platform_kind::http);
  EXPECT_EQ(http->language_kind, language::python);
  EXPECT_TRUE(http->runtime_api.empty());
  const auto fc = config_from_env(fake_env({{"FC_CUSTOM_LISTEN_PORT", "9000"},
                                            {"_HANDLER", "index.handler"},
                                            {"LAMBDA_TASK_ROOT", "/t"}}),
                                  fake_files({"/t/index.mjs"}));
  ASSERT_TRUE(fc) << fc.error().message();
  EXPECT_EQ(fc->platform_kind, platform_kind::fc);
  EXPECT_EQ(fc->language_kind, language::node);
  EXPECT_EQ(config_from_env(fake_env({{"LAMELLA_PLATFORM", "http"}, {"_HANDLER", "lib.so:f"}}))
                ->platform_kind,
            platform_kind::http);
  EXPECT_EQ(config_from_env(fake_env({{"PORT", "not-a-port"}, {"_HANDLER", "lib.so:f"}})).error(),
            make_error_code(errc::invalid_configuration));
}

TEST(config_from_env, scf_with_a_bad_handler_is_malformed_not_unconfigured) {
  EXPECT_EQ(config_from_env(fake_env({{"SCF_RUNTIME_API", "127.0.0.1"}, {"_HANDLER", ""}})).error(),
            make_error_code(errc::malformed_handler));
}

TEST(lambda_names_for_platform, fills_the_unset_lambda_names_from_scfs) {
  const auto env = fake_env({{"SCF_RUNTIME_API", "127.0.0.1"},
                             {"SCF_FUNCTIONNAME", "hello"},
                             {"SCF_FUNCTIONVERSION", "3"},
                             {"TENCENTCLOUD_REGION", "ap-guangzhou"},
                             {"AWS_REGION", "keep-me"},
                             {"_HANDLER", "lib.so:f"}});
  const auto c = config_from_env(env);
  ASSERT_TRUE(c);
  const auto names = lambda_names_for_platform(env, *c);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"AWS_LAMBDA_FUNCTION_NAME", "hello"},
      {"AWS_LAMBDA_FUNCTION_VERSION", "3"},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"},
      {"AWS_DEFAULT_REGION", "keep-me"},  // one region for both names
      {"LAMBDA_TASK_ROOT", std::filesystem::current_path().string()}};
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(
      lambda_names_for_platform(fake_env({{"AWS_LAMBDA_RUNTIME_API", "h:1"}}), config{}).empty());
}

TEST(config_from_env, platforms_name_the_handler_when_handler_is_unset) {
  const auto gcf_python =
      config_from_env(fake_env({{"FUNCTION_TARGET", "hello"}, {"LAMBDA_TASK_ROOT", "/t"}}),
                      fake_files({"/t/main.py"}));
  ASSERT_TRUE(gcf_python) << gcf_python.error().message();
  EXPECT_EQ(gcf_python->platform_kind, platform_kind::gcf);
  EXPECT_EQ(gcf_python->handler, "main.hello");
  EXPECT_EQ(gcf_python->language_kind, language::python);
  const auto gcf_node =
      config_from_env(fake_env({{"FUNCTION_TARGET", "hello"}, {"LAMBDA_TASK_ROOT", "/t"}}),
                      fake_files({"/t/index.js"}));
  ASSERT_TRUE(gcf_node);
  EXPECT_EQ(gcf_node->handler, "index.hello");
  EXPECT_EQ(gcf_node->language_kind, language::node);
  const auto kubeless = config_from_env(
      fake_env({{"FUNC_HANDLER", "handle"}, {"MOD_NAME", "app"}, {"LAMBDA_TASK_ROOT", "/t"}}),
      fake_files({"/t/app.py"}));
  ASSERT_TRUE(kubeless);
  EXPECT_EQ(kubeless->platform_kind, platform_kind::kubeless);
  EXPECT_EQ(kubeless->handler, "app.handle");
  const auto fg = config_from_env(fake_env({{"RUNTIME_API_ADDR", "http://127.0.0.1:8888/"},
                                            {"RUNTIME_HANDLER", "index.handler"},
                                            {"RUNTIME_CODE_ROOT", "/opt/function/code"}}),
                                  fake_files({"/opt/function/code/index.mjs"}));
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->platform_kind, platform_kind::functiongraph);
  EXPECT_EQ(fg->runtime_api, "127.0.0.1:8888");
  EXPECT_EQ(fg->task_root, "/opt/function/code");
  EXPECT_EQ(fg->language_kind, language::node);
  // An HTTP function's bootstrap script sets _HANDLER itself: the code root is still the root.
  const auto fg_http = config_from_env(fake_env({{"LAMELLA_PLATFORM", "functiongraph-http"},
                                                 {"_HANDLER", "app.handler"},
                                                 {"RUNTIME_CODE_ROOT", "/opt/function/code"}}),
                                       fake_files({"/opt/function/code/app.py"}));
  ASSERT_TRUE(fg_http);
  EXPECT_EQ(fg_http->task_root, "/opt/function/code");
  EXPECT_EQ(fg_http->language_kind, language::python);
  // _HANDLER, when set, always wins.
  EXPECT_EQ(
      config_from_env(fake_env({{"FUNCTION_TARGET", "hello"}, {"_HANDLER", "lib.so:f"}}))->handler,
      "lib.so:f");
}

}  // namespace
}  // namespace lamella
