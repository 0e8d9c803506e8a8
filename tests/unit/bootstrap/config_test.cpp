#include "config.h"

#include <gtest/gtest.h>

#include <map>

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
  EXPECT_EQ(c->platform_kind, platform::lambda);
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

}  // namespace
}  // namespace lamella
