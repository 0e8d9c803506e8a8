// INTERIM: minimal `http` and `fc` adapters so that the push server runs end to end before the
// real adapters (API Gateway v2 events, CloudEvents, FC's x-fc-* context) land from their own
// branch. Delete this file (and its line in runtime-api/CMakeLists.txt) when merging them: both
// define make_http_adapter() and make_fc_adapter().
// Mapping: the request body is the event; a success is 200 with the payload and its content
// type; a function error is 500 (http) or 404 with x-fc-status: 404 (fc) with the error JSON.
#include "server/push_adapter.h"

#include "lamella/transport.h"

namespace lamella::push {
namespace {

reply text(unsigned status, std::string body) {
  reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string content_type_of(const request& req) {
  for (const auto& [name, value] : req.headers) {
    if (iequals(name, "Content-Type")) return value;
  }
  return "application/json";
}

class interim_adapter final : public adapter {
 public:
  explicit interim_adapter(bool fc) : fc_(fc) {}
  [[nodiscard]] std::string_view name() const noexcept override { return fc_ ? "fc" : "http"; }

  [[nodiscard]] dispatch on_request(const request& req, std::string_view /*id*/) const override {
    dispatch d;
    const auto path = path_of(req.target);
    if (path == "/_/health" || path == "/healthz") {
      d.immediate = text(200, R"({"status":"OK"})");
      return d;
    }
    if (fc_ && path == "/initialize") {
      d.what = dispatch::kind::initialize;
      return d;
    }
    if (fc_ && path == "/pre-stop") {
      d.what = dispatch::kind::pre_stop;
      return d;
    }
    if (fc_ && path == "/pre-freeze") {
      d.what = dispatch::kind::pre_freeze;
      return d;
    }
    d.what = dispatch::kind::invoke;
    d.inv.payload = req.body;
    d.inv.content_type = content_type_of(req);
    return d;
  }

  [[nodiscard]] reply on_outcome(const request& /*req*/, const invocation& /*inv*/,
                                 const outcome& result) const override {
    if (result.is_success()) {
      reply r;
      r.headers.emplace_back("Content-Type", result.content_type());
      r.body = result.payload();
      return r;
    }
    return failure(result);
  }
  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failed) const override {
    return failed == nullptr ? text(200, "") : failure(*failed);
  }
  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failed) const override {
    return failure(failed);
  }
  [[nodiscard]] reply on_overload(const request& /*req*/) const override {
    return text(503, R"({"errorMessage":"too many requests","errorType":"Overloaded"})");
  }
  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& /*inv*/) const override {
    return text(504, R"({"errorMessage":"Task timed out","errorType":"Sandbox.Timedout"})");
  }

 private:
  [[nodiscard]] reply failure(const outcome& failed) const {
    reply r = text(fc_ ? 404 : 500, failed.payload());
    if (fc_) r.headers.emplace_back("x-fc-status", "404");
    return r;
  }
  bool fc_;
};

}  // namespace

// NOLINTNEXTLINE(performance-unnecessary-value-param): the signature is push_adapter.h's
std::unique_ptr<adapter> make_http_adapter(http_options /*options*/) {
  return std::make_unique<interim_adapter>(false);
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): the signature is push_adapter.h's
std::unique_ptr<adapter> make_fc_adapter(fc_options /*options*/) {
  return std::make_unique<interim_adapter>(true);
}

}  // namespace lamella::push
