#include "lamella/transport.h"

#include <gtest/gtest.h>

namespace lamella {
namespace {

TEST(http_response, header_lookup_ignores_case_and_returns_the_first) {
  http_response r;
  r.headers = {{"Content-Type", "a"},
               {"lambda-runtime-aws-request-id", "id1"},
               {"Lambda-Runtime-Aws-Request-Id", "id2"}};
  EXPECT_EQ(r.header("content-type"), "a");
  EXPECT_EQ(r.header("LAMBDA-RUNTIME-AWS-REQUEST-ID"), "id1");
  EXPECT_EQ(r.header("Missing"), "");
  EXPECT_EQ(r.header("Content-Typ"), "");
}

}  // namespace
}  // namespace lamella
