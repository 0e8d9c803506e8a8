// platform_from_env: which platform a set of variables selects, and the settings read with it.
#include "lamella/platform.h"

#include <gtest/gtest.h>

#include <map>

namespace lamella {
namespace {

env_lookup fake(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(platform_from_env, lambda_when_the_runtime_api_is_set) {
  const auto s = platform_from_env(fake({{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::lambda);
  EXPECT_EQ(s->runtime_api, "127.0.0.1:9001");
  EXPECT_FALSE(is_push(s->kind));
}

TEST(platform_from_env, nothing_recognised_is_an_error) {
  EXPECT_EQ(platform_from_env(fake({})).error(), make_error_code(errc::invalid_configuration));
  EXPECT_FALSE(platform_from_env(fake({{"LAMELLA_PLATFORM", "azure"}})));
  EXPECT_FALSE(platform_from_env(fake({{"LAMELLA_PLATFORM", "lambda"}})));  // no endpoint
}

TEST(platform_from_env, scf_joins_host_and_port_with_the_default_port) {
  auto s = platform_from_env(fake({{"SCF_RUNTIME_API", "10.0.0.1"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::scf);
  EXPECT_EQ(s->runtime_api, "10.0.0.1:9001");
  s = platform_from_env(fake({{"SCF_RUNTIME_API", "10.0.0.1"}, {"SCF_RUNTIME_API_PORT", "9100"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->runtime_api, "10.0.0.1:9100");
  EXPECT_FALSE(
      platform_from_env(fake({{"SCF_RUNTIME_API", "10.0.0.1"}, {"SCF_RUNTIME_API_PORT", "x"}})));
}

TEST(platform_from_env, fc_from_either_port_variable_with_fc_defaults) {
  auto s = platform_from_env(fake({{"FC_CUSTOM_LISTEN_PORT", "9500"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::fc);
  EXPECT_EQ(s->port, 9500);
  EXPECT_EQ(s->listen_address, "0.0.0.0");
  EXPECT_EQ(s->concurrency, 1U);  // FC's instanceConcurrency default
  EXPECT_EQ(s->body_limit, 32U * 1024 * 1024);
  s = platform_from_env(fake({{"FC_SERVER_PORT", "9000"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::fc);
  s = platform_from_env(fake({{"LAMELLA_PLATFORM", "fc"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 9000);
}

TEST(platform_from_env, http_from_port_with_http_defaults) {
  auto s = platform_from_env(fake({{"PORT", "8081"}, {"K_SERVICE", "hello"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::http);
  EXPECT_EQ(s->port, 8081);
  EXPECT_EQ(s->concurrency, 16U);
  EXPECT_EQ(s->queue_limit, 64U);
  EXPECT_EQ(s->body_limit, 6U * 1024 * 1024);
  EXPECT_EQ(s->shutdown_grace, std::chrono::milliseconds(9000));
  EXPECT_EQ(s->function.name, "hello");
  s = platform_from_env(fake({{"LAMELLA_PLATFORM", "http"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 8080);
  s = platform_from_env(fake({{"LAMELLA_PLATFORM", "http"}, {"PORT", "0"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 0);
  EXPECT_FALSE(platform_from_env(fake({{"PORT", "70000"}})));
}

TEST(platform_from_env, explicit_platform_wins_over_detection) {
  const auto s = platform_from_env(
      fake({{"LAMELLA_PLATFORM", "http"}, {"AWS_LAMBDA_RUNTIME_API", "x:1"}, {"PORT", "1234"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, platform_kind::http);
  EXPECT_EQ(s->port, 1234);
  // Detection order: Lambda before FC before PORT.
  EXPECT_EQ(platform_from_env(fake({{"AWS_LAMBDA_RUNTIME_API", "x:1"}, {"PORT", "1"}}))->kind,
            platform_kind::lambda);
  EXPECT_EQ(platform_from_env(fake({{"FC_SERVER_PORT", "9000"}, {"PORT", "1"}}))->kind,
            platform_kind::fc);
}

TEST(platform_from_env, tuning_variables) {
  const auto s = platform_from_env(fake({{"PORT", "8080"},
                                         {"LAMELLA_CONCURRENCY", "4"},
                                         {"LAMELLA_QUEUE", "0"},
                                         {"LAMELLA_SHUTDOWN_GRACE_MS", "2500"},
                                         {"LAMELLA_BODY_LIMIT", "1000"},
                                         {"LAMELLA_HEADER_TIMEOUT_MS", "100"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->concurrency, 4U);
  EXPECT_EQ(s->queue_limit, 0U);
  EXPECT_EQ(s->shutdown_grace, std::chrono::milliseconds(2500));
  EXPECT_EQ(s->body_limit, 1000U);
  EXPECT_EQ(s->header_timeout, std::chrono::milliseconds(100));
  EXPECT_FALSE(platform_from_env(fake({{"PORT", "8080"}, {"LAMELLA_CONCURRENCY", "0"}})));
  EXPECT_FALSE(platform_from_env(fake({{"PORT", "8080"}, {"LAMELLA_QUEUE", "-1"}})));
  EXPECT_FALSE(platform_from_env(fake({{"PORT", "8080"}, {"LAMELLA_SHUTDOWN_GRACE_MS", "1s"}})));
}

TEST(platform_from_env, function_settings) {
  auto s = platform_from_env(fake({{"AWS_LAMBDA_RUNTIME_API", "x:1"},
                                   {"AWS_LAMBDA_FUNCTION_NAME", "fn"},
                                   {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"},
                                   {"AWS_LAMBDA_FUNCTION_TIMEOUT", "30"},
                                   {"AWS_REGION", "eu-west-1"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->function.name, "fn");
  EXPECT_EQ(s->function.memory_mb, 512U);
  EXPECT_EQ(s->function.timeout, std::chrono::seconds(30));
  EXPECT_EQ(s->function.region, "eu-west-1");
  s = platform_from_env(fake({{"FC_CUSTOM_LISTEN_PORT", "9000"},
                              {"FC_FUNCTION_NAME", "fcfn"},
                              {"FC_FUNCTION_MEMORY_SIZE", "1024"},
                              {"FC_REGION", "cn-hangzhou"},
                              {"FC_ACCOUNT_ID", "123"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->function.name, "fcfn");
  EXPECT_EQ(s->function.memory_mb, 1024U);
  EXPECT_EQ(s->function.region, "cn-hangzhou");
  EXPECT_EQ(s->function.account_id, "123");
  EXPECT_EQ(s->function.timeout, std::chrono::seconds(300));
  EXPECT_FALSE(platform_from_env(
      fake({{"AWS_LAMBDA_RUNTIME_API", "x:1"}, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"}})));
}

}  // namespace
}  // namespace lamella
