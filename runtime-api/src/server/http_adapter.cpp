// The `http` push adapter (Knative, Cloud Run, OpenFaaS http mode): every request is an API
// Gateway HTTP API (payload 2.0) event, or a CloudEvent's data; results map back as API Gateway
// maps them. The mappings live in http_event.cpp, shared with FC's HTTP triggers.
//
// Every answer to an invocation names its request id (the handler's context.aws_request_id, the
// id in its log lines) in `x-amzn-RequestId`, as Lambda function URLs do, so that a caller can
// find the invocation's logs; a header of that name the handler set itself wins.
#include "server/http_event.h"
#include "server/push_adapter.h"

#include <utility>

namespace lamella::push {

namespace {

/// The answer with `x-amzn-RequestId: <inv.request_id>`, unless the handler set one.
reply with_request_id(reply r, const invocation& inv) {
  if (!inv.request_id.empty() && !detail::find_header(r.headers, "x-amzn-RequestId")) {
    r.headers.emplace_back("x-amzn-RequestId", inv.request_id);
  }
  return r;
}

class http_adapter final : public adapter {
 public:
  explicit http_adapter(http_options options) : options_(std::move(options)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "http"; }

  [[nodiscard]] dispatch on_request(const request& req,
                                    std::string_view request_id) const override {
    dispatch d;
    const std::string_view path = detail::target_path(req.target);
    if (path == options_.health_path || path == "/healthz") {
      d.what = dispatch::kind::reply_now;
      d.immediate = detail::ok_reply();
      return d;
    }
    d.what = dispatch::kind::invoke;
    invocation& inv = d.inv;
    inv.request_id = std::string(request_id);
    inv.function_arn = "arn:aws:lambda:" + options_.function.region + ":" +
                       options_.function.account_id + ":function:" + options_.function.name;
    detail::copy_trace_id(req, inv);
    detail::dispatch_http_request(d, req, request_id, options_.function,
                                  std::chrono::system_clock::now());
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& req, const invocation& inv,
                                 const outcome& result) const override {
    return with_request_id(detail::http_request_reply(req, result), inv);
  }

  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& inv) const override {
    return with_request_id(detail::gateway_timeout_reply(), inv);
  }

  /// An HTTP request's streamed response goes to the client as it is written (a function URL's
  /// behaviour); a CloudEvent's is one answer.
  [[nodiscard]] bool streams(const request& req) const override {
    return detail::detect_cloud_event(req) == detail::cloud_event_mode::none;
  }

  /// Named by x-amzn-RequestId, as every other answer to an invocation.
  [[nodiscard]] reply on_stream_head(const request& /*req*/, const invocation& inv,
                                     reply head) const override {
    return with_request_id(std::move(head), inv);
  }

 private:
  http_options options_;
};

}  // namespace

std::unique_ptr<adapter> make_http_adapter(http_options options) {
  return std::make_unique<http_adapter>(std::move(options));
}

}  // namespace lamella::push
