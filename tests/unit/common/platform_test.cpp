// platform_from_env: which platform a set of variables selects, and the settings read with it.
#include "lamella/platform.h"

#include <gtest/gtest.h>

#include <map>
#include <utility>
#include <vector>

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
  EXPECT_FALSE(platform_from_env(fake({{"LAMELLA_PLATFORM", "cloudflare-workers"}})));
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

TEST(platform_names, every_platform_round_trips_through_its_name) {
  ASSERT_EQ(all_platforms().size(), 12U);
  for (const auto kind : all_platforms()) {
    EXPECT_EQ(platform_from_name(to_string(kind)), kind) << to_string(kind);
  }
  EXPECT_FALSE(platform_from_name("FC"));
  EXPECT_FALSE(platform_from_name(""));
}

TEST(platform_from_env, each_platform_is_recognised_by_what_it_sets) {
  const std::vector<std::pair<std::map<std::string, std::string, std::less<>>, platform_kind>>
      cases{
          {{{"RUNTIME_API_ADDR", "127.0.0.1:8080"}}, platform_kind::functiongraph},
          {{{"FUNCTIONS_CUSTOMHANDLER_PORT", "41001"}}, platform_kind::azure},
          {{{"FUNCTIONS_HTTPWORKER_PORT", "41001"}}, platform_kind::azure},
          {{{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}, {"FN_FORMAT", "http-stream"}},
           platform_kind::fn},
          {{{"__OW_API_HOST", "https://openwhisk.example"}}, platform_kind::openwhisk},
          {{{"FUNCTION_TARGET", "hello"}, {"PORT", "8080"}}, platform_kind::gcf},
          {{{"FUNC_HANDLER", "handle"}, {"MOD_NAME", "app"}}, platform_kind::kubeless},
          {{{"RUNTIME_CODE_ROOT", "/opt/function/code"}}, platform_kind::functiongraph_http},
          {{{"LAMELLA_PLATFORM", "fission"}}, platform_kind::fission},
          // Lambda's own variable wins over every other platform's.
          {{{"AWS_LAMBDA_RUNTIME_API", "x:1"}, {"PORT", "8080"}, {"FUNCTION_TARGET", "f"}},
           platform_kind::lambda},
          // Cloud Run sets PORT too: FUNCTION_TARGET makes it a Functions Framework function.
          {{{"PORT", "8080"}, {"K_SERVICE", "svc"}}, platform_kind::http},
      };
  for (const auto& [vars, kind] : cases) {
    const auto s = platform_from_env(fake(vars));
    ASSERT_TRUE(s) << to_string(kind);
    EXPECT_EQ(s->kind, kind) << to_string(kind);
  }
}

TEST(platform_from_env, platform_defaults_and_ports) {
  auto s = platform_from_env(fake({{"RUNTIME_API_ADDR", "http://127.0.0.1:8888/"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->runtime_api, "127.0.0.1:8888");  // FunctionGraph's samples prepend http://
  EXPECT_FALSE(is_push(s->kind));
  s = platform_from_env(fake({{"FUNCTIONS_CUSTOMHANDLER_PORT", "41001"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 41001);
  EXPECT_EQ(s->listen_address, "127.0.0.1");
  s = platform_from_env(fake({{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->unix_socket, "/tmp/iofs/lsnr.sock");
  EXPECT_EQ(s->concurrency, 1U);
  EXPECT_FALSE(platform_from_env(fake({{"FN_LISTENER", "tcp:/tmp/x"}})));
  EXPECT_FALSE(platform_from_env(fake({{"LAMELLA_PLATFORM", "fn"}})));  // no socket named
  EXPECT_TRUE(platform_from_env(
      fake({{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}, {"FN_FORMAT", "http-stream"}})));
  EXPECT_TRUE(
      platform_from_env(fake({{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}, {"FN_FORMAT", ""}})));
  // The retired formats speak differently: refused with a reason the bootstrap prints.
  const auto json_format =
      fake({{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}, {"FN_FORMAT", "json"}});
  EXPECT_FALSE(platform_from_env(json_format));
  EXPECT_EQ(platform_problem(json_format),
            "Fn: FN_FORMAT=json is not supported: lamella speaks Fn's http-stream format");
  EXPECT_EQ(platform_problem(fake({{"FN_LISTENER", "tcp:/tmp/x"}})),
            "Fn: FN_LISTENER=tcp:/tmp/x is not a unix:<path> socket address");
  EXPECT_EQ(platform_problem(fake({{"FN_LISTENER", "unix:/" + std::string(107, 'x')}})),
            "Fn: FN_LISTENER's path is longer than 107 bytes");
  EXPECT_EQ(platform_problem(fake({{"LAMELLA_PLATFORM", "nope"}})),
            "LAMELLA_PLATFORM=nope names no platform lamella knows");
  EXPECT_EQ(platform_problem(fake({{"FN_LISTENER", "unix:/tmp/iofs/lsnr.sock"}})), "");
  s = platform_from_env(fake({{"__OW_API_HOST", "h"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 8080);
  EXPECT_EQ(s->concurrency, 1U);  // one /run at a time per container
  s = platform_from_env(fake({{"LAMELLA_PLATFORM", "fission"}, {"LAMELLA_PORT", "0"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 0);
  s = platform_from_env(fake({{"LAMELLA_PLATFORM", "fission"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 8888);
  s = platform_from_env(
      fake({{"FUNC_HANDLER", "h"}, {"FUNC_PORT", "9090"}, {"FUNC_TIMEOUT", "5"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 9090);
  EXPECT_EQ(s->function.timeout, std::chrono::seconds(5));
  EXPECT_EQ(s->function.name, "h");
  s = platform_from_env(fake({{"RUNTIME_CODE_ROOT", "/c"},
                              {"RUNTIME_FUNC_NAME", "fgfn"},
                              {"RUNTIME_MEMORY", "256"},
                              {"RUNTIME_TIMEOUT", "7"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->listen_address, "127.0.0.1");
  EXPECT_EQ(s->port, 8000);
  EXPECT_EQ(s->function.name, "fgfn");
  EXPECT_EQ(s->function.memory_mb, 256U);
  EXPECT_EQ(s->function.timeout, std::chrono::seconds(7));
  // A FunctionGraph container image listens on all interfaces, port 8000.
  s = platform_from_env(
      fake({{"LAMELLA_PLATFORM", "functiongraph-http"}, {"LAMELLA_LISTEN_ADDRESS", "0.0.0.0"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->listen_address, "0.0.0.0");
  EXPECT_EQ(s->port, 8000);
}

TEST(platform_from_env, gcf_refuses_a_signature_type_the_framework_lacks) {
  for (const char* signature : {"http", "cloudevent", "event", ""}) {
    EXPECT_TRUE(platform_from_env(
        fake({{"FUNCTION_TARGET", "hello"}, {"FUNCTION_SIGNATURE_TYPE", signature}})))
        << signature;
  }
  for (const char* signature : {"CloudEvent", "background", "pubsub"}) {
    EXPECT_FALSE(platform_from_env(
        fake({{"FUNCTION_TARGET", "hello"}, {"FUNCTION_SIGNATURE_TYPE", signature}})))
        << signature;
  }
  // Only gcf reads it.
  EXPECT_TRUE(platform_from_env(fake({{"PORT", "8080"}, {"FUNCTION_SIGNATURE_TYPE", "x"}})));
}

}  // namespace
}  // namespace lamella
