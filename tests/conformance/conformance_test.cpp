// The conformance table (cases.json) run against every language's conformance handler through
// the real generic bootstrap and the real emulator: the languages cannot drift apart. Each
// language runs on every platform dialect the emulator serves (Lambda, Tencent SCF): the same
// bootstrap and language runtimes must pass the same table on each.
#include "lamella/emulator.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace lamella {
namespace {

const std::filesystem::path bin_dir = LAMELLA_BIN_DIR;
const std::filesystem::path cases_file = LAMELLA_CONFORMANCE_CASES;
const std::filesystem::path fn_dir = LAMELLA_CONFORMANCE_FN_DIR;

struct language_runner {
  std::string name;           // "<language>_<platform>"
  std::filesystem::path dir;  // task root
  std::string handler;
  runtime_dialect dialect = runtime_dialect::lambda;
};

/// Names the parameter in test output (gtest would print its bytes).
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const language_runner& runner, std::ostream* os) { *os << runner.name; }

std::vector<language_runner> runners() {
  std::vector<language_runner> languages{{"cpp", fn_dir / "cpp", "libconformance.so:handle"}};
#ifdef LAMELLA_WITH_PYTHON
  languages.push_back({"python", fn_dir / "python", "handler.handler"});
#endif
#ifdef LAMELLA_WITH_NODE
  languages.push_back({"node", fn_dir / "node", "handler.handler"});
#endif
  std::vector<language_runner> out;
  for (const auto& [platform, dialect] :
       {std::pair{"lambda", runtime_dialect::lambda}, std::pair{"scf", runtime_dialect::scf}}) {
    for (auto lang : languages) {
      lang.name += std::string("_") + platform;
      lang.dialect = dialect;
      out.push_back(std::move(lang));
    }
  }
  return out;
}

boost::json::array load_cases() {
  std::ifstream in(cases_file);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).at("cases").as_array();
}

/// Replaces the string "$request_id" anywhere in `v` with `id`.
void substitute(boost::json::value& v, const std::string& id) {
  if (v.is_string() && v.as_string() == "$request_id") {
    v = id;
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) substitute(kv.value(), id);
  } else if (v.is_array()) {
    for (auto& e : v.as_array()) substitute(e, id);
  }
}

class conformance : public ::testing::TestWithParam<language_runner> {};

TEST_P(conformance, every_case_of_the_table) {
  const auto& lang = GetParam();
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 5u) << "the table must not be empty: " << cases_file;
  std::mutex mutex;
  std::string logs;
  function_config c;
  c.dir = lang.dir;
  c.command = {(bin_dir / "bootstrap").string()};
  c.handler = lang.handler;
  c.name = "conformance";
  c.timeout = std::chrono::seconds(10);
  // Sanitizer builds: forward ASAN_OPTIONS (the emulator passes Lambda's environment only);
  // CPython's own allocations at exit are not leaks of ours.
  if (const char* asan = std::getenv("ASAN_OPTIONS")) {
    c.env.emplace_back(
        "ASAN_OPTIONS",
        std::string(asan) + (lang.name.starts_with("python") ? ":detect_leaks=0" : ""));
  }
  emulator_options o;
  o.dialect = lang.dialect;
  o.log = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    logs.append(line);
  };
  emulator emu(std::move(c), std::move(o));
  for (const auto& entry : cases) {
    const auto& tc = entry.as_object();
    const std::string name(tc.at("name").as_string());
    SCOPED_TRACE(lang.name + " / " + name);
    invoke_request request;
    request.payload = boost::json::serialize(tc.at("event"));
    const auto r = emu.invoke(std::move(request)).get();
    ASSERT_EQ(r.status, 200u);
    const auto& expect = tc.at("expect").as_object();
    boost::system::error_code ec;
    const auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << "not JSON: " << r.body.substr(0, 300);
    if (expect.contains("error_type")) {
      EXPECT_EQ(r.function_error, "Unhandled");
      EXPECT_EQ(body.at("errorType"), expect.at("error_type"));
      if (expect.contains("error_message")) {
        EXPECT_EQ(body.at("errorMessage"), expect.at("error_message"));
      }
    } else {
      EXPECT_TRUE(r.function_error.empty()) << r.body.substr(0, 300);
    }
    if (expect.contains("body")) {
      auto want = expect.at("body");
      substitute(want, r.request_id);
      EXPECT_EQ(body, want) << r.body.substr(0, 300);
    }
    if (expect.contains("body_string_length")) {
      ASSERT_TRUE(body.is_string());
      EXPECT_EQ(body.as_string().size(), expect.at("body_string_length").to_number<std::size_t>());
    }
    if (expect.contains("log_contains")) {
      (void)emu.last_instance();  // flushes pending log lines
      std::lock_guard lock(mutex);
      for (const auto& s : expect.at("log_contains").as_array()) {
        EXPECT_NE(logs.find(std::string(s.as_string())), std::string::npos) << s;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(languages, conformance, ::testing::ValuesIn(runners()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lamella
