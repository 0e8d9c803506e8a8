// Fuzz target for the push adapters' request and result mappings (runtime-api/src/server):
// input bytes -> a request -> on_request() of every push adapter -> on_outcome() with
// results made from the same bytes. Nothing may crash, every event and platform context must be
// a valid JSON document, and every answer must be safe to put on the wire (status 100..599,
// token header names, header values without CR/LF/NUL).
//
// Input scheme: the head is everything before the first "\n\n" (the rest is the body); its first
// line is "METHOD TARGET", each further line "name: value" (or "name" alone).
//
// The real fuzzer (libFuzzer, Clang only), from the source root:
//   CXX=clang++-14 CC=clang-14 cmake -B build/fuzz -G Ninja -DLAMELLA_FUZZ=ON
//       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAMELLA_WITH_PYTHON=OFF -DLAMELLA_WITH_NODE=OFF
//       -DLAMELLA_WITH_CURL=OFF -DLAMELLA_BUILD_BENCH=OFF -DLAMELLA_BUILD_SAMPLES=OFF
//   cmake --build build/fuzz -j2 --target lamella_http_event_fuzz
//   mkdir -p /tmp/http_event_corpus
//   build/fuzz/tests/fuzz/lamella_http_event_fuzz -max_total_time=120 -max_len=4096
//       -dict=tests/fuzz/http_event.dict /tmp/http_event_corpus tests/fuzz/corpus/http_event
// (the first corpus directory receives new inputs; the checked-in seeds stay read-only).
// Crashes land in ./crash-*; replay one with `lamella_http_event_fuzz crash-<hash>`.
//
// With any other compiler (GCC) the same file builds a plain executable whose main() replays the
// seed corpus and a few thousand pseudo-random mutations of it; ctest runs it
// (lamella_http_event_fuzz_replay), so CI checks the properties on every build.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace lamella;
using namespace lamella::push;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "http_event_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void check_json(const char* what, std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  // The mappings accept max_json_depth; a context wraps what it got in a few more levels.
  options.max_depth = push::detail::max_json_depth + 8;
  (void)boost::json::parse(text, ec, {}, options);
  if (ec) fail(what, text);
}

void check_reply(const reply& r) {
  if (r.status < 100 || r.status > 599) fail("reply status out of range", std::to_string(r.status));
  for (const auto& [name, value] : r.headers) {
    if (name.empty()) fail("empty reply header name", value);
    for (const char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7F || c == ':') fail("bad reply header name", name);
    }
    for (const char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') fail("bad reply header value", value);
    }
  }
}

request parse_request(std::string_view input) {
  request req;
  const auto split = input.find("\n\n");
  std::string_view head = input.substr(0, split);
  if (split != std::string_view::npos) req.body = std::string(input.substr(split + 2));
  bool first = true;
  while (!head.empty()) {
    const auto nl = head.find('\n');
    const std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (first) {
      const auto space = line.find(' ');
      req.method = std::string(line.substr(0, space));
      req.target = space == std::string_view::npos ? "/" : std::string(line.substr(space + 1));
      first = false;
      continue;
    }
    const auto colon = line.find(':');
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  req.remote_address = "192.0.2.1";
  return req;
}

void exercise(const adapter& a, const request& req) {
  const dispatch d = a.on_request(req, "fuzz-request-id");
  switch (d.what) {
    case dispatch::kind::reply_now:
      check_reply(d.immediate);
      return;
    case dispatch::kind::initialize:
    case dispatch::kind::pre_stop:
    case dispatch::kind::pre_freeze: {
      check_reply(a.on_hook(req, d.what, nullptr));
      const outcome failure = outcome::failure("Error", "hook failed");
      check_reply(a.on_hook(req, d.what, &failure));
      return;
    }
    case dispatch::kind::invoke:
      break;
  }
  // FC event invocations carry the body as is; everything else must be a JSON event.
  if (d.inv.content_type == "application/json") check_json("event is not JSON", d.inv.payload);
  if (!d.inv.platform_context.empty()) {
    check_json("platform_context is not JSON", d.inv.platform_context);
  }
  // Results: the request body itself (arbitrary bytes, often JSON-ish), and fixed shapes.
  check_reply(a.on_outcome(req, d.inv, outcome::success(req.body)));
  check_reply(a.on_outcome(req, d.inv, outcome::success(req.body, "text/plain")));
  check_reply(a.on_outcome(req, d.inv, outcome::success(R"({"statusCode":200,"body":"x"})")));
  check_reply(a.on_outcome(req, d.inv, outcome::failure("ValueError", req.body)));
  check_reply(a.on_timeout(req, d.inv));
  check_reply(a.on_overload(req));
  check_reply(a.on_init_error(req, outcome::failure("Runtime.ImportModuleError", "no module")));
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto http = make_http_adapter(http_options{});
  static const auto fc = make_fc_adapter(fc_options{});
  static const auto fn = make_fn_adapter(fn_options{});
  static const auto azure = make_azure_adapter(azure_options{});
  static const auto gcf_http = make_gcf_adapter(gcf_options{});
  static const auto gcf_cloudevent = make_gcf_adapter(gcf_options{{}, gcf_signature::cloudevent});
  static const auto gcf_event = make_gcf_adapter(gcf_options{{}, gcf_signature::event});
  static const auto kubeless = make_kubeless_adapter(kubeless_options{});
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const request req = parse_request(input);
  for (const auto* a : {http.get(), fc.get(), fn.get(), azure.get(), gcf_http.get(),
                        gcf_cloudevent.get(), gcf_event.get(), kubeless.get()}) {
    exercise(*a, req);
  }
  (void)push::detail::parse_rfc3339(input);
  // The mappings on their own, with the whole input as a result and as an event.
  check_reply(push::detail::http_reply_from_result(input, "application/json"));
  check_reply(push::detail::cloud_event_reply(input, ""));
  check_json("event is not JSON", push::detail::make_http_event(
                                      req, input, function_info{}, std::chrono::system_clock::now(),
                                      {.strip_header_prefix = "x-", .base_path = input}));
  return 0;
}

#ifndef LAMELLA_LIBFUZZER
// Replay driver for compilers without libFuzzer: every file under the given directories (or the
// given files), then `count` pseudo-random mutations of them (default 3000).
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  std::size_t count = 3000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--count=", 0) == 0) {
      count = std::stoul(std::string(arg.substr(8)));
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.emplace_back(arg);
    }
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) seeds.emplace_back("GET /\nhost: example.com\n\n");
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size());
  }

  // Mutations: byte flips, insertions of tokens the mappings care about, splices of two seeds.
  static constexpr std::array<std::string_view, 22> tokens = {
      "\n",
      "\n\n",
      ":",
      "%",
      "%zz",
      "%C3%A9",
      "+",
      "&",
      "=",
      "?",
      "; ",
      "\xFF",
      "\xED\xA0\x80",
      "\r\n",
      "ce-specversion: 1.0\n",
      "x-fc-control-path: /invoke\n",
      "content-type: application/cloudevents+json\n",
      "content-type: application/json\n",
      "{\"statusCode\":",
      "\"isBase64Encoded\":true,\"body\":\"",
      "cookie: a=1; b\n",
      "x-fc-base-path: /a/\n"};
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  const auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (std::size_t n = 0; n < count; ++n) {
    std::string input = seeds[next() % seeds.size()];
    const std::size_t edits = 1 + next() % 8;
    for (std::size_t e = 0; e < edits; ++e) {
      const std::size_t at = input.empty() ? 0 : next() % (input.size() + 1);
      switch (next() % 4) {
        case 0:
          if (!input.empty() && at < input.size()) input[at] = static_cast<char>(next() & 0xFF);
          break;
        case 1:
          input.insert(at, tokens[next() % tokens.size()]);
          break;
        case 2:
          if (at < input.size()) input.erase(at, 1 + next() % 16);
          break;
        default: {
          const std::string& other = seeds[next() % seeds.size()];
          const std::size_t from = other.empty() ? 0 : next() % other.size();
          input.insert(at, other.substr(from, next() % 64));
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
  std::printf("http_event_fuzz: %zu seeds and %zu mutations passed\n", seeds.size(), count);
  return 0;
}
#endif
