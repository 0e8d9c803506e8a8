// What the pull transports of platforms without streamed responses (SCF: scf_transport.h,
// FunctionGraph: functiongraph_transport.h) share: a transport base that buffers a streamed
// Lambda response and posts it whole when it ends, the post that turns the platform's 2xx into
// Lambda's 202, and the small pure pieces of the next-event translation. Each platform keeps its
// own routes, its /next translation and its init-error policy.
#pragma once

#include "lamella/transport.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lamella::detail {

/// Removes `prefix` from the front of `s` and returns true; false (and `s` unchanged) when `s`
/// does not start with it.
bool consume_prefix(std::string_view& s, std::string_view prefix);

/// A non-negative decimal integer, surrounding blanks allowed; nullopt for anything else.
std::optional<std::int64_t> parse_count(std::string_view text);

/// The process environment's value of `name`, nullopt when unset (the env reader the transports
/// use outside tests).
std::optional<std::string> process_env(std::string_view name);

/// A platform's answer to a post (response, error) as Lambda's: every 2xx becomes 202; other
/// statuses are passed through.
http_response translate_post_response(http_response&& answer);

/// A fresh version-4 UUID from two random 64-bit words (for invocations the platform sent no id
/// for).
std::string make_request_id(std::uint64_t high, std::uint64_t low);

/// A platform's 200 answer to its next-event request, translated for Lambda: status 200, `body`
/// (the platform's), Lambda-Runtime-Aws-Request-Id = `request_id`, Lambda-Runtime-Deadline-Ms =
/// `deadline` in epoch milliseconds (absent when nullopt), Lambda-Runtime-Invoked-Function-Arn =
/// `function_arn`, and Content-Type = `content_type` (the platform's; absent when empty), in that
/// order. The caller adds Lamella-Platform-Context.
http_response lambda_next_response(std::string body, std::string_view content_type,
                                   std::string_view request_id,
                                   std::optional<std::chrono::system_clock::time_point> deadline,
                                   std::string function_arn);

/// A transport for a platform with no streamed responses, on behalf of a lambda_client: a
/// streamed response (begin_chunked .. end_chunked) is gathered and posted as one body to the
/// platform's response target when it ends, or, when it ended with error trailers
/// (Lambda-Runtime-Function-Error-Type / -Body), to its error target with the decoded error
/// body. So a streaming handler still works; its caller gets the whole response at the end.
/// Subclasses implement send() and say where a streamed response goes (stream_targets()).
/// Not thread-safe, as every transport.
class buffered_pull_transport : public transport {
 public:
  result<void> begin_chunked(const http_request& request) final;
  result<void> write_chunk(std::string_view bytes) final;
  result<http_response> end_chunked(
      const std::vector<std::pair<std::string_view, std::string_view>>& trailers) final;
  void abort_chunked() noexcept final;

  /// "<platform>/<inner>", e.g. "scf/beast" (the User-Agent's transport token).
  [[nodiscard]] std::string_view name() const noexcept final { return name_; }

 protected:
  /// Where a streamed response goes on the platform.
  struct stream_targets {
    std::string response;  ///< the target the whole body is posted to
    std::string error;     ///< the target an error (error trailers) is posted to
  };

  /// `inner` carries the translated requests; `platform` names this transport ("scf").
  buffered_pull_transport(std::unique_ptr<transport> inner, std::string_view platform);

  /// The platform's targets for a Lambda target that may stream (".../<id>/response"); nullopt
  /// when `lambda_target` is not one (begin_chunked() then fails with not_supported).
  [[nodiscard]] virtual std::optional<stream_targets> targets_for_stream(
      std::string_view lambda_target) const = 0;

  /// Posts `body` to `target` on the platform with `request`'s headers and answers as Lambda
  /// does (translate_post_response()).
  result<http_response> post(const http_request& request, std::string target,
                             std::string_view body);

  /// A locally made answer with a JSON `body` (unknown routes, init errors handled here).
  static http_response local_response(unsigned status, std::string body);

  /// Writes "lamella: init error<note>: <type> <body>" to stderr for a Lambda init-error post
  /// (the function's log on both platforms, which have no init-error endpoint).
  static void log_init_error(const http_request& request, std::string_view note);

  /// A fresh request id (make_request_id() from this transport's random generator).
  std::string fresh_request_id();

  /// The transport that carries the translated requests.
  transport& inner() { return *inner_; }

 private:
  struct chunked_body {
    stream_targets targets;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };

  std::unique_ptr<transport> inner_;
  std::string name_;
  std::mt19937_64 rng_;
  std::optional<chunked_body> chunked_;
};

}  // namespace lamella::detail
