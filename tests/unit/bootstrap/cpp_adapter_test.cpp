// Loading real shared-library handlers (the cpp-hello-so sample) through the C ABI.
#include "cpp_adapter.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lamella {
namespace {

const std::filesystem::path samples = LAMELLA_SAMPLES_DIR;

TEST(parse_so_handler, splits_at_the_last_colon) {
  const auto s = parse_so_handler("lib/libhello.so:hello");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->library, "lib/libhello.so");
  EXPECT_EQ(s->symbol, "hello");
  EXPECT_FALSE(parse_so_handler("libhello.so"));
  EXPECT_FALSE(parse_so_handler(":hello"));
  EXPECT_FALSE(parse_so_handler("libhello.so:"));
}

TEST(load_so_handler, calls_the_symbol_and_keeps_warm_state) {
  load_error error;
  const auto h = load_so_handler("libhello.so:hello", samples / "cpp-hello-so", error);
  ASSERT_TRUE(h) << error.error_type << ": " << error.message;
  invocation inv;
  inv.payload = std::string("12345");
  inv.request_id = std::string("r1");
  const auto first = h(inv);
  ASSERT_TRUE(first.is_success());
  EXPECT_EQ(first.content_type(), "application/json");
  const auto second = h(inv);
  const auto body = boost::json::parse(second.payload()).as_object();
  EXPECT_EQ(body.at("count").as_int64(), 2);
  EXPECT_EQ(body.at("bytes").as_int64(), 5);
}

TEST(load_so_handler, a_failure_set_by_the_handler_is_a_function_error) {
  load_error error;
  const auto h = load_so_handler("libhello.so:fail", samples / "cpp-hello-so", error);
  ASSERT_TRUE(h);
  const auto o = h(invocation{});
  EXPECT_FALSE(o.is_success());
  EXPECT_EQ(o.error_type(), "HelloError");
}

TEST(load_so_handler, absolute_library_paths_work) {
  load_error error;
  const auto lib = (samples / "cpp-hello-so" / "libhello.so").string();
  EXPECT_TRUE(load_so_handler(lib + ":hello", "/nonexistent", error));
}

TEST(load_so_handler, init_errors_carry_the_aws_types) {
  load_error error;
  EXPECT_FALSE(load_so_handler("libhello.so", samples / "cpp-hello-so", error));
  EXPECT_EQ(error.error_type, "Runtime.MalformedHandlerName");

  EXPECT_FALSE(load_so_handler("libmissing.so:hello", samples / "cpp-hello-so", error));
  EXPECT_EQ(error.error_type, "Runtime.ImportModuleError");
  EXPECT_NE(error.message.find("libmissing.so"), std::string::npos);

  EXPECT_FALSE(load_so_handler("libhello.so:nosuch", samples / "cpp-hello-so", error));
  EXPECT_EQ(error.error_type, "Runtime.HandlerNotFound");
  EXPECT_NE(error.message.find("nosuch"), std::string::npos);
}

}  // namespace
}  // namespace lamella
