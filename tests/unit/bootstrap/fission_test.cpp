// Fission specialisation before the handler is known (bootstrap/src/fission.h): the answers of
// the specialisation server, with a fake filesystem.
#include "fission.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace lamella {
namespace {

struct fake_fs {
  std::set<std::string> files;
  std::set<std::string> dirs;
  [[nodiscard]] file_probe file_probe_fn() const {
    return [this](const std::filesystem::path& p) { return files.contains(p.string()); };
  }
  [[nodiscard]] directory_probe dir_probe() const {
    return [this](const std::filesystem::path& p) { return dirs.contains(p.string()); };
  }
};

fission_answer ask(const fake_fs& fs, std::string_view method, std::string_view target,
                   std::string_view body = {}, const std::string& env_handler = {}) {
  return fission_prespecialize_answer(method, target, body, env_handler, fs.file_probe_fn(),
                                      fs.dir_probe());
}

TEST(fission_specialize, healthz_before_specialisation_is_200_anything_else_500) {
  const fake_fs fs;
  EXPECT_EQ(ask(fs, "GET", "/healthz").status, 200u);
  const auto other = ask(fs, "POST", "/", "{}");
  EXPECT_EQ(other.status, 500u);
  EXPECT_NE(other.body.find("not specialized"), std::string::npos);
  EXPECT_FALSE(other.function);
  EXPECT_FALSE(other.failed_specialization);
  EXPECT_EQ(ask(fs, "GET", "/v2/specialize").status, 500u);  // only POST specialises
}

TEST(fission_specialize, v2_with_a_directory_and_module_function) {
  fake_fs fs;
  fs.dirs.insert("/userfunc/deployarchive");
  fs.files.insert("/userfunc/deployarchive/app.py");
  const auto a =
      ask(fs, "POST", "/v2/specialize",
          R"({"filepath":"/userfunc/deployarchive","functionName":"app.handler","url":"",)"
          R"("FunctionMetadata":{"name":"hello","namespace":"default"},"envVersion":2})");
  EXPECT_EQ(a.status, 200u) << a.body;
  ASSERT_TRUE(a.function);
  EXPECT_EQ(a.function->task_root, "/userfunc/deployarchive");
  EXPECT_EQ(a.function->handler, "app.handler");
}

TEST(fission_specialize, v2_with_a_single_file_names_a_function_of_that_file) {
  fake_fs fs;
  fs.files.insert("/userfunc/code/hello.js");
  const auto a = ask(fs, "POST", "/v2/specialize",
                     R"({"filepath":"/userfunc/code/hello.js","functionName":"handler"})");
  EXPECT_EQ(a.status, 200u) << a.body;
  ASSERT_TRUE(a.function);
  EXPECT_EQ(a.function->task_root, "/userfunc/code");
  EXPECT_EQ(a.function->handler, "hello.handler");
}

TEST(fission_specialize, v2_cpp_library_and_env_handler_fallback) {
  fake_fs fs;
  fs.dirs.insert("/fn");
  fs.files.insert("/fn/libf.so");
  const auto cpp =
      ask(fs, "POST", "/v2/specialize", R"({"filepath":"/fn","functionName":"libf.so:handle"})");
  ASSERT_TRUE(cpp.function) << cpp.body;
  EXPECT_EQ(cpp.function->handler, "libf.so:handle");
  const auto fallback =
      ask(fs, "POST", "/v2/specialize", R"({"filepath":"/fn","functionName":""})", "libf.so:x");
  ASSERT_TRUE(fallback.function) << fallback.body;
  EXPECT_EQ(fallback.function->handler, "libf.so:x");
}

TEST(fission_specialize, a_missing_module_or_path_fails_clearly) {
  fake_fs fs;
  fs.dirs.insert("/fn");
  const auto missing =
      ask(fs, "POST", "/v2/specialize", R"({"filepath":"/fn","functionName":"nope.handler"})");
  EXPECT_EQ(missing.status, 500u);
  EXPECT_TRUE(missing.failed_specialization);
  EXPECT_FALSE(missing.function);
  EXPECT_NE(missing.body.find("nope.handler"), std::string::npos);
  const auto no_path =
      ask(fs, "POST", "/v2/specialize", R"({"filepath":"/gone","functionName":"a.b"})");
  EXPECT_EQ(no_path.status, 500u);
  EXPECT_NE(no_path.body.find("/gone"), std::string::npos);
  const auto no_function = ask(fs, "POST", "/v2/specialize", R"({"filepath":"/fn"})");
  EXPECT_EQ(no_function.status, 400u);
  EXPECT_TRUE(no_function.failed_specialization);
  for (const char* bad : {"", "{", "[]", R"({"filepath":3})"}) {
    SCOPED_TRACE(bad);
    const auto a = ask(fs, "POST", "/v2/specialize", bad);
    EXPECT_EQ(a.status, 400u);
    EXPECT_FALSE(a.function);
  }
}

TEST(fission_specialize, v1_loads_userfunc_user) {
  fake_fs fs;
  fs.files.insert("/userfunc/user");  // a Node.js file without extension
  const auto a = ask(fs, "POST", "/specialize");
  ASSERT_TRUE(a.function) << a.body;
  EXPECT_EQ(a.function->task_root, "/userfunc");
  EXPECT_EQ(a.function->handler, "user.handler");
}

TEST(fission_specialize, after_a_failure_the_error_is_every_answer) {
  const std::string error = "lamella: cannot specialize: x\n";
  EXPECT_EQ(fission_failed_answer("GET", "/healthz", error).status, 200u);
  EXPECT_EQ(fission_failed_answer("POST", "/v2/specialize", error).status, 400u);
  EXPECT_EQ(fission_failed_answer("POST", "/v2/specialize", error).body,
            "Not a generic container\n");
  const auto other = fission_failed_answer("GET", "/anything", error);
  EXPECT_EQ(other.status, 500u);
  EXPECT_EQ(other.body, error);
}

}  // namespace
}  // namespace lamella
