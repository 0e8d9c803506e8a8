#include "fission.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <system_error>
#include <utility>

namespace lamella {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr const char* listen_fd_variable = "LAMELLA_LISTEN_FD";
/// Fission's v1 code location.
constexpr std::string_view v1_task_root = "/userfunc";
/// A specialize body holds the Function's metadata: small, but bounded.
constexpr std::uint64_t body_limit = 1024 * 1024;
/// How long one connection may take to send its request and read the answer.
constexpr auto io_time = std::chrono::seconds(30);

fission_answer text(unsigned status, std::string body) {
  fission_answer a;
  a.status = status;
  a.body = std::move(body);
  if (!a.body.empty() && a.body.back() != '\n') a.body.push_back('\n');
  return a;
}

fission_answer failure(unsigned status, std::string body) {
  fission_answer a = text(status, std::move(body));
  a.failed_specialization = true;
  return a;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

/// Whether the module `handler` names exists under `root` (any language lamella runs).
bool handler_module_exists(const std::string& handler, const std::filesystem::path& root,
                           const file_probe& files) {
  if (const auto colon = handler.find(':'); colon != std::string::npos) {
    std::filesystem::path library = handler.substr(0, colon);
    if (library.is_relative()) library = root / library;
    return colon != 0 && files(library);
  }
  return python_module_exists(handler, root, files) ||
         python_module_exists(handler, "/opt/python", files) ||
         node_module_exists(handler, root, files);
}

fission_answer specialized(std::filesystem::path root, std::string handler,
                           const file_probe& files) {
  if (handler.empty()) {
    return failure(400,
                   "lamella: specialize names no function: set the function's entrypoint "
                   "(fission fn create --entrypoint module.function)");
  }
  if (!handler_module_exists(handler, root, files)) {
    return failure(500, "lamella: cannot specialize: the handler '" + handler +
                            "' names no module under " + root.string() +
                            " (Python: <module>.py, Node.js: <file>.js|.mjs|.cjs, C++: the .so)");
  }
  fission_answer a = text(200, "");
  a.function = fission_function{std::move(root), std::move(handler)};
  return a;
}

fission_answer specialize_v2(std::string_view body, const std::string& env_handler,
                             const file_probe& files, const directory_probe& directories) {
  boost::system::error_code ec;
  const auto request = boost::json::parse(body, ec);
  const auto* object = ec ? nullptr : request.if_object();
  const auto* filepath = object == nullptr ? nullptr : object->if_contains("filepath");
  if (filepath == nullptr || !filepath->is_string() || filepath->get_string().empty()) {
    return failure(400,
                   "lamella: bad specialize request: want a JSON object with a string "
                   "\"filepath\" and \"functionName\"");
  }
  std::string function;
  if (const auto* name = object->if_contains("functionName");
      name != nullptr && name->is_string()) {
    function = std::string(name->get_string());
  }
  if (function.empty()) function = env_handler;
  const std::filesystem::path path = std::string(filepath->get_string());
  if (directories(path)) return specialized(path, function, files);
  if (files(path)) {
    // A single-file function: the entry point is a function of that file.
    if (!function.empty() && function.find('.') == std::string::npos &&
        function.find(':') == std::string::npos) {
      function = path.stem().string() + "." + function;
    }
    return specialized(path.parent_path(), function, files);
  }
  return failure(500,
                 "lamella: cannot specialize: the code path " + path.string() + " does not exist");
}

/// The listening socket: the inherited one (LAMELLA_LISTEN_FD) or a new one.
bool open_acceptor(tcp::acceptor& acceptor, const platform_settings& settings) {
  beast::error_code ec;
  if (const char* inherited = std::getenv(listen_fd_variable)) {
    char* end = nullptr;
    const long fd = std::strtol(inherited, &end, 10);
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (end == inherited || *end != '\0' || fd < 0 ||
        ::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      std::fprintf(stderr, "lamella: %s=%s is not a socket\n", listen_fd_variable, inherited);
      return false;
    }
    acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), static_cast<int>(fd),
                    ec);
  } else {
    const auto address = net::ip::make_address(settings.listen_address, ec);
    if (!ec) {
      const tcp::endpoint endpoint(address, settings.port);
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
  }
  if (ec) {
    std::fprintf(stderr, "lamella: cannot listen on %s:%u: %s\n", settings.listen_address.c_str(),
                 static_cast<unsigned>(settings.port), ec.message().c_str());
    return false;
  }
  return true;
}

/// The specialisation server: one I/O thread (this one), a connection per request
/// (Connection: close), until a specialize succeeds.
class specialization_server {
 public:
  explicit specialization_server(const platform_settings& settings)
      : settings_(settings), acceptor_(io_) {}

  int run() {
    if (!open_acceptor(acceptor_, settings_)) return 1;
    beast::error_code ec;
    const auto port = acceptor_.local_endpoint(ec).port();
    // The same line the push server prints (tests and `lamella serve` read the port from it).
    std::fprintf(stderr, "lamella: fission platform listening on %s:%u\n",
                 settings_.listen_address.c_str(), static_cast<unsigned>(port));
    std::fprintf(stderr, "lamella: waiting for Fission to specialize this pod\n");
    accept();
    io_.run();
    if (!function_) return 1;
    // Hand the socket over: a duplicate without close-on-exec survives into node.
    const int fd = ::dup(acceptor_.native_handle());
    acceptor_.close(ec);
    if (fd < 0) {
      std::perror("lamella: dup");
      return 1;
    }
    std::error_code fs_ec;
    std::filesystem::current_path(function_->task_root, fs_ec);
    ::setenv(listen_fd_variable, std::to_string(fd).c_str(), 1);
    ::setenv("_HANDLER", function_->handler.c_str(), 1);
    ::setenv("LAMBDA_TASK_ROOT", function_->task_root.c_str(), 1);
    ::setenv("LAMELLA_FISSION_SPECIALIZED", "1", 1);  // the push server's fission adapter reads it
    std::fprintf(stderr, "lamella: specialized: handler %s in %s\n", function_->handler.c_str(),
                 function_->task_root.c_str());
    return 0;
  }

 private:
  struct connection {
    explicit connection(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || function_) return;
      if (!ec) serve(std::make_shared<connection>(std::move(socket)));
      accept();
    });
  }

  void serve(const std::shared_ptr<connection>& c) {
    c->parser.body_limit(body_limit);
    c->stream.expires_after(io_time);
    http::async_read(c->stream, c->buffer, c->parser, [this, c](beast::error_code ec, std::size_t) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout) return;
      fission_answer answer;
      if (ec) {
        answer = text(400, "lamella: bad request: " + ec.message());
      } else {
        const auto& req = c->parser.get();
        const std::string method(req.method_string());
        const std::string target(req.target());
        answer = failed_.empty() ? fission_prespecialize_answer(method, target, req.body(),
                                                                env_or_empty("_HANDLER"),
                                                                real_files(), real_directories)
                                 : fission_failed_answer(method, target, failed_);
      }
      if (answer.failed_specialization && failed_.empty()) {
        failed_ = answer.body;
        std::fprintf(stderr, "%s", failed_.c_str());
      }
      const bool done = answer.function.has_value();
      c->response.version(11);
      c->response.result(answer.status);
      c->response.set(http::field::content_type, "text/plain");
      c->response.body() = std::move(answer.body);
      c->response.keep_alive(false);
      c->response.prepare_payload();
      http::async_write(c->stream, c->response,
                        [this, c, done, function = std::move(answer.function)](
                            beast::error_code, std::size_t) mutable {
                          beast::error_code ignored;
                          c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          c->stream.close();
                          if (done && !function_) {
                            function_ = std::move(function);
                            beast::error_code cancelled;
                            acceptor_.cancel(cancelled);
                            io_.stop();
                          }
                        });
    });
  }

  static std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? "" : v;
  }

  static bool real_directories(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
  }

  const platform_settings& settings_;
  net::io_context io_{1};
  tcp::acceptor acceptor_;
  std::string failed_;  // the failed specialisation's message, empty before
  std::optional<fission_function> function_;
};

}  // namespace

fission_answer fission_prespecialize_answer(std::string_view method, std::string_view target,
                                            std::string_view body, const std::string& env_handler,
                                            const file_probe& files,
                                            const directory_probe& directories) {
  const std::string_view path = path_of(target);
  if (method == "GET" && path == "/healthz") return text(200, "OK");
  if (method == "POST" && path == "/v2/specialize") {
    return specialize_v2(body, env_handler, files, directories);
  }
  if (method == "POST" && path == "/specialize") {
    return specialized(std::filesystem::path(v1_task_root),
                       env_handler.empty() ? std::string("user.handler") : env_handler, files);
  }
  return text(500,
              "lamella: this Fission environment is not specialized yet: no function is loaded "
              "(Fission sends POST /v2/specialize first)");
}

fission_answer fission_failed_answer(std::string_view method, std::string_view target,
                                     const std::string& error) {
  const std::string_view path = path_of(target);
  if (method == "GET" && path == "/healthz") return text(200, "OK");
  if (method == "POST" && (path == "/specialize" || path == "/v2/specialize")) {
    return text(400, "Not a generic container");
  }
  return text(500, error);
}

int await_fission_specialization(const platform_settings& settings) {
  specialization_server server(settings);
  return server.run();
}

}  // namespace lamella
