// The libcurl transport: one easy handle, reused for every request, so that libcurl keeps the
// connection alive between `/next` and the post that follows it. It passes the same contract as
// the Beast transport; it exists for users who already ship libcurl, and as a benchmark anchor.
#include "lamella/curl_transport.h"

#include <curl/curl.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace lamella {
namespace {

// curl_global_init is not thread-safe and must run before any other libcurl call; run it once
// per process. It is never undone: transports may live until exit.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Which step of the exchange an error belongs to, for the log message.
const char* step_of(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:  // no total timeout is set: only the connect step can time out
      return "connect";
    default:
      return "exchange";
  }
}

// Strips leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view whitespace = " \t\r\n";
  const auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(whitespace);
  return s.substr(first, last - first + 1);
}

class curl_transport final : public transport {
 public:
  // REQUIRES: `handle` is a fresh easy handle; the transport owns it.
  curl_transport(CURL* handle, std::string base_url, transport_options options)
      : curl_(handle), base_url_(std::move(base_url)), options_(options) {
    configure();
  }

  ~curl_transport() override {
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }

  curl_transport(const curl_transport&) = delete;
  curl_transport& operator=(const curl_transport&) = delete;

  result<http_response> send(const http_request& request) override {
    url_.assign(base_url_).append(request.target);
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());

    if (request.method == "GET") {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr));
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    } else {
      // POST (and any other method with a body): the body is sent straight from the caller's
      // view, with an explicit length; libcurl does not copy it. The size is set first, so that
      // libcurl never falls back to strlen().
      static constexpr char empty_body[] = "";
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS,
                       request.body.empty() ? empty_body : request.body.data());
      method_.assign(request.method);
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST,
                       request.method == "POST" ? nullptr : method_.c_str());
    }

    if (!set_headers(request)) return fail(CURLE_OUT_OF_MEMORY, "request");

    response_ = http_response{};
    response_.headers.reserve(8);
    const CURLcode code = curl_easy_perform(curl_);
    if (code != CURLE_OK) return fail(code, step_of(code));

    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response_.status = static_cast<unsigned>(status);
    return std::move(response_);
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "curl"; }

 private:
  // Options that hold for every request on this handle.
  void configure() {
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: the loop may share a process
    curl_easy_setopt(curl_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
    // The Runtime API is local: never go through a proxy, whatever the environment says.
    curl_easy_setopt(curl_, CURLOPT_PROXY, "");
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    // No total timeout: `/next` long-polls and the environment may be frozen in between.
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &curl_transport::on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &curl_transport::on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
  }

  // Builds the header list of one request: the caller's headers, and none of libcurl's own
  // extras (`Expect: 100-continue` would cost a round trip; `Accept` is noise).
  bool set_headers(const http_request& request) {
    curl_slist_free_all(headers_);
    headers_ = nullptr;
    if (!append_header("Expect:") || !append_header("Accept:")) return false;
    for (const auto& [name, value] : request.headers) {
      line_.assign(name);
      // "Name:" would remove the header; "Name;" sends it with an empty value.
      line_.append(value.empty() ? ";" : ": ").append(value);
      if (!append_header(line_.c_str())) return false;
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    return true;
  }

  bool append_header(const char* line) {
    curl_slist* grown = curl_slist_append(headers_, line);  // copies `line`
    if (grown == nullptr) return false;
    headers_ = grown;
    return true;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    auto& response = static_cast<curl_transport*>(self)->response_;
    const std::string_view line = trim(std::string_view(data, size * count));
    if (line.starts_with("HTTP/")) {
      // A status line opens a new header block (after a 1xx); keep only the last block.
      response.headers.clear();
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                    std::string(trim(line.substr(colon + 1))));
    }
    return size * count;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    static_cast<curl_transport*>(self)->response_.body.append(data, size * count);
    return size * count;
  }

  static result<http_response> fail(CURLcode code, const char* what) {
    std::fprintf(stderr, "lamella: Runtime API %s failed: %s\n", what, curl_easy_strerror(code));
    return errc::runtime_api_unreachable;
  }

  CURL* curl_;
  std::string base_url_;  // "http://host:port"
  transport_options options_;
  curl_slist* headers_ = nullptr;  // the current request's header list
  std::string url_;                // the current request's URL (libcurl copies it; reused buffer)
  std::string method_;             // the current request's method, when not GET or POST
  std::string line_;               // scratch for building a header line
  http_response response_;         // filled by the callbacks during curl_easy_perform()
};

}  // namespace

std::unique_ptr<transport> make_curl_transport(std::string_view host_port,
                                               transport_options options) {
  init_curl_once();
  CURL* handle = curl_easy_init();
  if (handle == nullptr) {
    // Only on out-of-memory; the first send() reports the failure in the usual way.
    struct broken final : transport {
      result<http_response> send(const http_request&) override {
        std::fprintf(stderr, "lamella: Runtime API connect failed: %s\n",
                     curl_easy_strerror(CURLE_FAILED_INIT));
        return errc::runtime_api_unreachable;
      }
      [[nodiscard]] std::string_view name() const noexcept override { return "curl"; }
    };
    return std::make_unique<broken>();
  }
  std::string base_url("http://");
  base_url.append(host_port);
  return std::make_unique<curl_transport>(handle, std::move(base_url), options);
}

}  // namespace lamella
