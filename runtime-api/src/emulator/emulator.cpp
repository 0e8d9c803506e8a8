// The emulator: one io_context thread owns all state (listeners, sessions, the queue, the
// runtime process). Public methods post onto that thread; nothing here takes a lock on state.
//
// Per invocation:  submit() -> queue_ -> pump() -> [spawn] -> dispatch() answers the parked
// GET /next -> POST /response|/error -> finish() completes the caller and logs END/REPORT.
//
// A streamed response (POST /response with Lambda-Runtime-Function-Response-Mode: streaming) is
// not read whole: begin_stream() takes it at its head, the runtime's session then reads it piece
// by piece and hands each to stream_data(), which passes it to the caller (an HTTP caller gets it
// as a chunk at once; the in-process API buffers it) and reads the next piece only when the
// caller has taken this one (back-pressure, and no unbounded buffer). stream_end() finishes the
// invocation when the body is complete; timeouts, exits and resets finish it as before, and the
// caller's chunked response then ends with error trailers.
#include "lamella/emulator.h"

#include "client/lambda_protocol.h"
#include "emulator/emulator_protocol.h"
#include "emulator/process.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace lamella {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using fms = std::chrono::duration<double, std::milli>;
using string_request = http::request<http::string_body>;
using string_response = http::response<http::string_body>;

constexpr std::string_view response_mode_header = "Lambda-Runtime-Function-Response-Mode";
constexpr std::string_view error_body_header = "Lambda-Runtime-Function-Error-Body";
// How long a runtime that posted /runtime/init/error may take to exit before it is killed.
constexpr std::chrono::seconds init_error_grace{2};
// A runtime output line longer than this is emitted in pieces.
constexpr std::size_t max_line_bytes = 64 * 1024;
// A per-invocation captured log (Tail) is trimmed back to log_tail_bytes beyond this size.
constexpr std::size_t max_captured_log = 16 * detail::log_tail_bytes;

string_response json_response(http::status status, std::string body) {
  string_response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

string_response api_error(http::status status, std::string_view type, std::string_view message) {
  return json_response(status, detail::api_error_body(type, message));
}

string_response accepted() { return json_response(http::status::accepted, R"({"status":"OK"})"); }

invoke_result function_error_result(std::string body) {
  invoke_result r;
  r.status = 200;
  r.body = std::move(body);
  r.content_type = "application/json";
  r.function_error = "Unhandled";
  return r;
}

invoke_result invoke_error_result(unsigned status, std::string body) {
  invoke_result r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

invoke_result stopped_result() {
  return invoke_error_result(
      500, detail::invoke_error_body("ServiceException",
                                     "The emulator stopped before the invocation completed."));
}

// Replaces CR, LF and other control characters, which a header value cannot hold.
std::string header_safe(std::string value) {
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return value;
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

class emulator::impl {
 public:
  impl(function_config function, emulator_options options);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  [[nodiscard]] std::uint16_t invoke_port() const noexcept { return invoke_port_; }
  [[nodiscard]] std::uint16_t runtime_port() const noexcept { return runtime_port_; }
  std::future<invoke_result> invoke(invoke_request request);
  void reset();
  std::optional<instance_stats> last_instance();
  void wait();
  void stop();

 private:
  class session;
  struct pending;
  struct log_pipe;
  struct process;
  // Receives the caller's answer; called exactly once, on the I/O thread. Empty for Event.
  using completion = std::function<void(invoke_result&&)>;
  // A caller that takes a streamed response as it arrives (the HTTP invoke endpoint); all calls
  // on the I/O thread. When the runtime streams: begin() once, data() per piece (the receiver
  // calls `resume` once it has passed the piece on), then end() once, in place of the
  // completion, with the result (an error result for a failed stream) and the End-Of-Response
  // value ("Complete", "Truncated", "Oversized"). Empty: a streamed response is buffered and
  // delivered through the completion.
  struct stream_receiver {
    std::function<void(const invoke_result& head)> begin;
    std::function<void(std::string data, std::function<void()> resume)> data;
    std::function<void(invoke_result&& tail, std::string_view end_of_response)> end;
  };

  // --- any thread
  template <class F>
  auto run_on_thread(F f) -> decltype(f());
  void request_stop();
  void open_acceptor(tcp::acceptor& acceptor, const net::ip::address& address, std::uint16_t port);

  // --- I/O thread
  template <class F>
  void guard(F&& f) noexcept;
  void internal_error(std::string_view what) noexcept;
  void accept(tcp::acceptor& acceptor, bool runtime_side);
  void on_request(const std::shared_ptr<session>& s, string_request&& req, bool runtime_side,
                  steady::time_point arrived);
  void on_too_large(const std::shared_ptr<session>& s, const string_request& header,
                    bool runtime_side);
  void handle_next(const std::shared_ptr<session>& s, steady::time_point arrived);
  void handle_result(const std::shared_ptr<session>& s, string_request&& req,
                     std::string_view request_id, bool is_error, steady::time_point arrived);
  void handle_init_error(const std::shared_ptr<session>& s, string_request&& req);
  void handle_init_ready(const std::shared_ptr<session>& s, steady::time_point arrived);
  detail::runtime_target classify(std::string_view target) const;
  string_response result_accepted() const;
  void handle_invoke_http(const std::shared_ptr<session>& s, string_request&& req);
  string_response invoke_response(invoke_result&& result) const;
  stream_receiver http_stream_receiver(const std::shared_ptr<session>& s) const;

  bool begin_stream(const std::shared_ptr<session>& s, const string_request& head);
  void stream_data(const std::shared_ptr<session>& s, std::string data);
  void stream_end(const std::shared_ptr<session>& s, const string_request& message);
  void stream_broken(const std::shared_ptr<session>& s);

  void submit(invoke_request request, completion done, stream_receiver receiver = {});
  void pump();
  bool spawn_runtime();
  void mark_ready(steady::time_point when);
  void dispatch();
  std::unique_ptr<pending> take_inflight();
  std::unique_ptr<pending> take_front();
  static completion take_answer(pending& inv);
  void finish(std::unique_ptr<pending> inv, invoke_result&& result);
  void write_report(pending& inv, steady::time_point now);
  void flush_reports();
  void on_timeout(std::uint64_t serial);
  void on_init_timer(const std::shared_ptr<process>& p);
  void watch_exit(const std::shared_ptr<process>& p);
  void on_exit(const std::shared_ptr<process>& p);
  void kill_runtime();
  void do_reset();
  void shutdown();

  void watch_pipe(const std::shared_ptr<process>& p, log_pipe& pipe);
  bool read_pipe(process& p, log_pipe& pipe);
  void consume_output(process& p, log_pipe& pipe, std::string_view data);
  void flush_partial(process& p, log_pipe& pipe);
  void drain_runtime_output();
  pending* log_target(const process& p) const;
  void emit_line(std::string_view line, pending* target);
  void sink(std::string_view line) noexcept;

  // Immutable after construction.
  function_config function_;
  emulator_options options_;
  std::string arn_;
  std::string runtime_api_;
  std::string runtime_host_;  // the host part of runtime_api_ (SCF_RUNTIME_API)
  bool scf_ = false;          // serving runtime_dialect::scf
  bool fg_ = false;           // serving runtime_dialect::functiongraph
  std::filesystem::path task_root_;
  detail::env_list passthrough_;

  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor runtime_acceptor_;
  tcp::acceptor invoke_acceptor_;
  std::uint16_t runtime_port_ = 0;
  std::uint16_t invoke_port_ = 0;
  std::thread thread_;

  // Lifecycle, shared between threads.
  std::mutex life_mutex_;  // guards running_ and every post from another thread
  bool running_ = true;
  std::mutex stop_mutex_;  // held for the whole of stop()
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
  bool stop_requested_ = false;

  // I/O thread only.
  bool stopping_ = false;
  std::mt19937_64 rng_;
  std::deque<std::unique_ptr<pending>> queue_;
  std::unique_ptr<pending> inflight_;
  std::uint64_t serial_ = 0;
  net::steady_timer invocation_timer_;
  std::shared_ptr<session> parked_next_;
  std::shared_ptr<process> runtime_;
  std::uint64_t spawns_ = 0;  // processes spawned so far (the last one's generation)
  std::vector<std::shared_ptr<process>> live_;  // spawned and not reaped yet
  std::optional<instance_stats> stats_;         // of the most recently spawned process
  std::optional<net::signal_set> signals_;
  // Finished invocations whose END/REPORT lines are still to be written (see finish()).
  std::vector<std::pair<std::unique_ptr<pending>, steady::time_point>> deferred_reports_;
  std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
};

// One invocation between submit() and its answer.
struct emulator::impl::pending {
  std::string request_id;
  invoke_request request;
  completion done;
  std::uint64_t serial = 0;
  steady::time_point queued;
  steady::time_point started;
  bool dispatched = false;
  std::optional<fms> init_duration;  // set on the first invocation of a process (cold start)
  std::string log;                   // captured output when request.tail_logs
  // Streamed response.
  stream_receiver receiver;         // empty: buffered into stream_body for `done`
  std::shared_ptr<session> stream;  // the runtime connection sending it, while it does
  bool streaming = false;           // the runtime began a streamed response
  std::size_t streamed_bytes = 0;   // body bytes received so far
  std::string stream_content_type;  // the runtime's Content-Type
  std::string stream_body;          // the body, when buffered
  std::string_view end_of_response = "Truncated";  // unless it completed or was too large
};

struct emulator::impl::log_pipe {
  log_pipe(net::io_context& io, int fd) : descriptor(io, fd) {}
  net::posix::stream_descriptor descriptor;
  std::string partial;  // an incomplete last line
};

// One runtime process (one execution environment).
struct emulator::impl::process {
  process(net::io_context& io, const detail::spawned_process& sp)
      : pid(sp.pid), pidfd(io, sp.pidfd), out(io, sp.stdout_fd), err(io, sp.stderr_fd), timer(io) {}
  pid_t pid;
  net::posix::stream_descriptor pidfd;
  log_pipe out;
  log_pipe err;
  net::steady_timer timer;  // init timeout, then the init-error grace period
  bool ready = false;       // has called /next
  bool dispatched_any = false;
  bool reaped = false;
  bool init_error = false;
  std::string init_error_body;
  std::uint64_t generation = 0;  // 1 for the first process spawned, then 2, ...
};

// One HTTP/1.1 connection on either listener: read a request, hand it to the owner, write the
// one response the owner gives back (maybe much later: a parked /next, a waiting caller), repeat.
class emulator::impl::session : public std::enable_shared_from_this<session> {
 public:
  session(impl& owner, tcp::socket socket, bool runtime_side)
      : owner_(owner), socket_(std::move(socket)), runtime_side_(runtime_side) {}

  void start() { read_request(); }

  // Runtime side: the runtime process (its spawn generation) this connection has spoken for,
  // set by its first request while a runtime exists. A killed runtime's connection can still
  // deliver a request it sent before dying; the generation tells it apart from the new one's.
  std::optional<std::uint64_t> generation;

  // Sends `res` as the answer to the current request, then reads the next one (keep-alive) or
  // closes.
  void respond(string_response&& res) {
    response_ = std::move(res);
    response_.version(11);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    http::async_write(
        socket_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  [[nodiscard]] bool keep_alive() const noexcept { return keep_alive_; }

  // --- Runtime side, a streamed response being read (see begin_stream()).

  // The owner has passed the last piece on: read the next one, or report the end. Posted, so
  // that the owner is never re-entered from inside its own call.
  void continue_stream() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_stream_resumed(); });
  }

  // Stops reading the stream and closes the connection (the invocation ended without it).
  void abort_stream() {
    streaming_ = false;
    close();
  }

  // Stops reading the stream, answers `res` and closes the connection.
  void reject_stream(string_response&& res) {
    streaming_ = false;
    keep_alive_ = false;
    respond(std::move(res));
  }

  // --- Invoke side, a streamed answer written as a chunked response. Pieces are queued and
  // written one at a time; `written` runs when its piece is out (or the caller has gone).

  void begin_chunked(std::string head) { enqueue(out_piece{std::move(head), {}, {}, {}, false}); }

  void write_chunk(std::string data, std::function<void()> written) {
    char size_line[24];
    auto* end = std::to_chars(size_line, size_line + sizeof size_line - 2, data.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    enqueue(
        out_piece{std::string(size_line, end), std::move(data), "\r\n", std::move(written), false});
  }

  // `last` is the last chunk "0\r\n", the trailer fields and the final "\r\n".
  void end_chunked(std::string last) { enqueue(out_piece{std::move(last), {}, {}, {}, true}); }

 private:
  struct out_piece {
    std::string head;
    std::string body;
    std::string tail;
    std::function<void()> written;
    bool last = false;
  };

  void enqueue(out_piece piece) {
    if (caller_gone_) {
      // The caller went away: drop the bytes but keep the runtime's stream flowing.
      if (piece.written) piece.written();
      return;
    }
    out_.push_back(std::move(piece));
    if (out_.size() == 1) write_piece();
  }

  void write_piece() {
    const out_piece& p = out_.front();
    const std::array<net::const_buffer, 3> buffers{net::buffer(p.head), net::buffer(p.body),
                                                   net::buffer(p.tail)};
    net::async_write(socket_, buffers,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_piece_written(ec);
                     });
  }

  void on_piece_written(beast::error_code ec) {
    out_piece done = std::move(out_.front());
    out_.pop_front();
    if (ec) {
      caller_gone_ = true;
      close();
      auto rest = std::move(out_);
      out_.clear();
      if (done.written) done.written();
      for (auto& p : rest) {
        if (p.written) p.written();
      }
      return;
    }
    if (done.written) done.written();
    if (done.last) {
      if (!keep_alive_) return close();
      return read_request();
    }
    if (!out_.empty()) write_piece();
  }

  void read_stream() {
    http::async_read_some(socket_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_stream_read(ec);
                          });
  }

  void on_stream_read(beast::error_code ec) {
    if (!streaming_) return close();
    if (ec) {
      streaming_ = false;
      close();
      owner_.guard([&] { owner_.stream_broken(shared_from_this()); });
      return;
    }
    std::string data = std::exchange(parser_->get().body(), std::string());
    if (data.empty()) return on_stream_resumed();
    owner_.guard([&] { owner_.stream_data(shared_from_this(), std::move(data)); });
  }

  void on_stream_resumed() {
    if (!streaming_) return;
    if (!parser_->is_done()) return read_stream();
    streaming_ = false;
    owner_.guard([&] { owner_.stream_end(shared_from_this(), parser_->get()); });
  }

  void read_request() {
    parser_.emplace();
    parser_->body_limit(detail::http_body_read_limit);
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return close();
    arrived_ = steady::now();
    keep_alive_ = parser_->get().keep_alive();
    if (parser_->is_done()) return on_body({});
    if (runtime_side_ && parser_->get()[response_mode_header] == "streaming") {
      // Taken piece by piece when it is this invocation's response; anything else (a wrong id,
      // no invocation) is read whole and refused by handle_result() as a buffered one would be.
      owner_.guard([&] { streaming_ = owner_.begin_stream(shared_from_this(), parser_->get()); });
      if (streaming_) parser_->body_limit(boost::none);  // the owner applies the stream's cap
    }
    // curl waits up to a second for "100 Continue" before sending a large body.
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(socket_, net::buffer(continue_line.data(), continue_line.size()),
                       [self = shared_from_this()](beast::error_code wec, std::size_t) {
                         if (wec) return self->close();
                         self->streaming_ ? self->read_stream() : self->read_body();
                       });
      return;
    }
    streaming_ ? read_stream() : read_body();
  }

  void read_body() {
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->arrived_ = steady::now();  // a request with a body: fully read
                       self->on_body(ec);
                     });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      owner_.guard([&] { owner_.on_too_large(shared_from_this(), parser_->get(), runtime_side_); });
      return;
    }
    if (ec) return close();
    auto self = shared_from_this();
    const bool ok = [&]() noexcept {
      try {
        owner_.on_request(self, parser_->release(), runtime_side_, arrived_);
        return true;
      } catch (const std::exception& e) {
        owner_.internal_error(e.what());
      } catch (...) {
        owner_.internal_error("unknown exception");
      }
      return false;
    }();
    if (!ok) {
      keep_alive_ = false;
      respond(api_error(http::status::internal_server_error, "InternalServerError",
                        "internal error in the lamella emulator"));
    }
  }

  void on_write(beast::error_code ec) {
    if (ec || !keep_alive_) return close();
    read_request();
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  impl& owner_;
  tcp::socket socket_;
  bool runtime_side_;
  bool keep_alive_ = true;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  string_response response_;
  steady::time_point arrived_;  // header read (no body) or body fully read
  bool streaming_ = false;      // runtime side: reading a streamed response piece by piece
  std::deque<out_piece> out_;   // invoke side: pieces of a chunked answer, front being written
  bool caller_gone_ = false;    // invoke side: writing the chunked answer failed
};

// ---------------------------------------------------------------------------------------------
// Construction, lifecycle and the public entry points (any thread).

emulator::impl::impl(function_config function, emulator_options options)
    : function_(std::move(function)),
      options_(std::move(options)),
      work_(net::make_work_guard(io_)),
      runtime_acceptor_(io_),
      invoke_acceptor_(io_),
      invocation_timer_(io_) {
  std::random_device rd;
  rng_.seed((std::uint64_t{rd()} << 32) ^ rd() ^
            static_cast<std::uint64_t>(steady::now().time_since_epoch().count()));
  arn_ = detail::function_arn(function_.region, function_.name);
  std::error_code fs_ec;
  task_root_ = std::filesystem::absolute(function_.dir, fs_ec);
  if (fs_ec) task_root_ = function_.dir;
  passthrough_ = detail::sanitizer_passthrough();

  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "lamella emulator: bad listen address '" + options_.host + "'");
  }
  open_acceptor(runtime_acceptor_, address, options_.runtime_port);
  runtime_port_ = runtime_acceptor_.local_endpoint().port();
  if (options_.invoke_endpoint) {
    open_acceptor(invoke_acceptor_, address, options_.invoke_port);
    invoke_port_ = invoke_acceptor_.local_endpoint().port();
  }
  std::string host = address.is_unspecified() ? std::string("127.0.0.1") : address.to_string();
  if (!address.is_unspecified() && address.is_v6()) host = "[" + host + "]";
  runtime_api_ = host + ":" + std::to_string(runtime_port_);
  runtime_host_ = host;
  scf_ = options_.dialect == runtime_dialect::scf;
  fg_ = options_.dialect == runtime_dialect::functiongraph;

  accept(runtime_acceptor_, true);
  if (options_.invoke_endpoint) accept(invoke_acceptor_, false);
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        internal_error(e.what());
      } catch (...) {
        internal_error("unknown exception");
      }
    }
  });
}

emulator::impl::~impl() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void emulator::impl::open_acceptor(tcp::acceptor& acceptor, const net::ip::address& address,
                                   std::uint16_t port) {
  const tcp::endpoint endpoint(address, port);
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(
        ec.value(), std::system_category(),
        "lamella emulator: cannot listen on " + address.to_string() + ":" + std::to_string(port));
  }
}

template <class F>
auto emulator::impl::run_on_thread(F f) -> decltype(f()) {
  if (io_.get_executor().running_in_this_thread()) return f();
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  bool posted = false;
  {
    std::lock_guard lock(life_mutex_);
    if (running_) {
      net::post(io_, [&task] { task(); });  // runs before the shutdown handler (FIFO)
      posted = true;
    }
  }
  if (!posted) {
    // Stopped: once stop() has joined the I/O thread the state is ours to read.
    std::lock_guard stop_lock(stop_mutex_);
    task();
  }
  return result.get();
}

std::future<invoke_result> emulator::impl::invoke(invoke_request request) {
  auto promise = std::make_shared<std::promise<invoke_result>>();
  auto future = promise->get_future();
  std::lock_guard lock(life_mutex_);
  if (!running_) {
    promise->set_value(stopped_result());
    return future;
  }
  net::post(io_, [this, promise, request = std::move(request)]() mutable {
    guard([&] {
      submit(std::move(request),
             [promise](invoke_result&& result) { promise->set_value(std::move(result)); });
    });
  });
  return future;
}

void emulator::impl::reset() {
  run_on_thread([this] { guard([this] { do_reset(); }); });
}

std::optional<instance_stats> emulator::impl::last_instance() {
  return run_on_thread([this] {
    flush_reports();
    return stats_;
  });
}

void emulator::impl::wait() {
  {
    std::lock_guard lock(life_mutex_);
    if (running_) {
      net::post(io_, [this] {
        guard([this] {
          if (stopping_ || signals_) return;
          signals_.emplace(io_, SIGINT, SIGTERM);
          signals_->async_wait([this](beast::error_code ec, int) {
            if (!ec) request_stop();
          });
        });
      });
    }
  }
  {
    std::unique_lock lock(wait_mutex_);
    wait_cv_.wait(lock, [this] { return stop_requested_; });
  }
  stop();
}

void emulator::impl::request_stop() {
  {
    std::lock_guard lock(wait_mutex_);
    stop_requested_ = true;
  }
  wait_cv_.notify_all();
}

void emulator::impl::stop() {
  const bool on_io_thread = io_.get_executor().running_in_this_thread();
  std::unique_lock stop_lock(stop_mutex_, std::defer_lock);
  if (!on_io_thread) stop_lock.lock();
  {
    std::lock_guard lock(life_mutex_);
    if (!running_) return;
    running_ = false;
    // Everything posted before this runs before the shutdown (one thread, FIFO).
    net::post(io_, [this] { shutdown(); });
  }
  // On the I/O thread itself (a log callback calling stop()) the join happens in ~impl.
  if (!on_io_thread && thread_.joinable()) thread_.join();
  request_stop();
}

// ---------------------------------------------------------------------------------------------
// I/O thread.

template <class F>
void emulator::impl::guard(F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    internal_error(e.what());
  } catch (...) {
    internal_error("unknown exception");
  }
}

void emulator::impl::internal_error(std::string_view what) noexcept {
  try {
    std::string line = "lamella emulator: internal error: ";
    line.append(what).push_back('\n');
    sink(line);
  } catch (...) {
  }
}

void emulator::impl::sink(std::string_view line) noexcept {
  if (options_.log) {
    try {
      options_.log(line);
    } catch (...) {
    }
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void emulator::impl::accept(tcp::acceptor& acceptor, bool runtime_side) {
  acceptor.async_accept([this, &acceptor, runtime_side](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping_ || !acceptor.is_open()) return;
    guard([&] {
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<session>(*this, std::move(socket), runtime_side)->start();
      }
    });
    accept(acceptor, runtime_side);
  });
}

void emulator::impl::on_request(const std::shared_ptr<session>& s, string_request&& req,
                                bool runtime_side, steady::time_point arrived) {
  if (!runtime_side) return handle_invoke_http(s, std::move(req));
  if (!s->generation && runtime_) s->generation = runtime_->generation;
  const auto target = classify(req.target());
  const auto require = [&](http::verb verb) {
    if (req.method() == verb) return true;
    s->respond(
        api_error(http::status::method_not_allowed, "MethodNotAllowed", "Method not allowed"));
    return false;
  };
  switch (target.kind) {
    case detail::runtime_target::next:
      if (require(http::verb::get)) handle_next(s, arrived);
      return;
    case detail::runtime_target::response:
    case detail::runtime_target::error:
      if (require(http::verb::post)) {
        const std::string id(target.request_id);  // the view points into req
        handle_result(s, std::move(req), id, target.kind == detail::runtime_target::error, arrived);
      }
      return;
    case detail::runtime_target::init_error:
      if (require(http::verb::post)) handle_init_error(s, std::move(req));
      return;
    case detail::runtime_target::init_ready:
      if (require(http::verb::post)) handle_init_ready(s, arrived);
      return;
    case detail::runtime_target::ping: {
      string_response res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = "pong";
      s->respond(std::move(res));
      return;
    }
    case detail::runtime_target::unknown:
      break;
  }
  s->respond(api_error(http::status::not_found, "NotFound", "Unknown Runtime API path"));
}

void emulator::impl::on_too_large(const std::shared_ptr<session>& s, const string_request& header,
                                  bool runtime_side) {
  if (!runtime_side) {
    s->respond(json_response(http::status::payload_too_large,
                             detail::request_too_large_body(detail::http_body_read_limit + 1,
                                                            detail::max_sync_request_bytes)));
    return;
  }
  const auto target = classify(header.target());
  if (target.kind == detail::runtime_target::response && inflight_ &&
      target.request_id == inflight_->request_id) {
    finish(take_inflight(), function_error_result(detail::response_too_large_body()));
  }
  s->respond(api_error(http::status::payload_too_large, "RequestEntityTooLarge",
                       detail::response_too_large_message()));
}

void emulator::impl::handle_next(const std::shared_ptr<session>& s, steady::time_point arrived) {
  if (runtime_ && s->generation && *s->generation != runtime_->generation) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: /next from a runtime that was stopped"));
    return;
  }
  if (inflight_ && inflight_->streaming) {
    // The runtime asks for more in the middle of a streamed response (whose connection has
    // closed, or is about to: the close may not have been read yet). It gave up on that
    // response: the invocation is over, cut short.
    auto inv = take_inflight();
    emit_line("RequestId: " + inv->request_id +
                  " Error: the runtime closed its connection before the end of the streamed "
                  "response\nRuntime.TruncatedResponse\n",
              inv.get());
    auto body = detail::truncated_response_body(inv->request_id);
    finish(std::move(inv), function_error_result(std::move(body)));
  }
  if (inflight_) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: /next called while invocation " +
                             inflight_->request_id + " is in flight"));
    return;
  }
  if (parked_next_) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: another /next is already waiting"));
    return;
  }
  if (runtime_ && runtime_->init_error) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: /next called after /runtime/init/error"));
    return;
  }
  if (scf_ && runtime_ && !runtime_->ready) {
    // SCF: initialisation ends with POST /runtime/init/ready, which must come before polling.
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: GET /runtime/invocation/next before POST "
                         "/runtime/init/ready"));
    return;
  }
  if (runtime_ && !runtime_->ready) mark_ready(arrived);
  parked_next_ = s;
  pump();
}

// SCF only: the runtime says its initialisation is done (Lambda's first /next means the same).
void emulator::impl::handle_init_ready(const std::shared_ptr<session>& s,
                                       steady::time_point arrived) {
  if (runtime_ && s->generation && *s->generation != runtime_->generation) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: init/ready from a runtime that was stopped"));
    return;
  }
  if (runtime_ && runtime_->ready) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: POST /runtime/init/ready was already called"));
    return;
  }
  if (runtime_) mark_ready(arrived);
  s->respond(result_accepted());
}

// A Runtime API target in this emulator's dialect. SCF's posts carry no request id: they are
// about the invocation in flight, whose id is filled in (empty when there is none).
// FunctionGraph's carry it at the end of the path.
detail::runtime_target emulator::impl::classify(std::string_view target) const {
  if (fg_) return detail::parse_functiongraph_target(target);
  if (!scf_) return detail::parse_runtime_target(target);
  auto t = detail::parse_scf_target(target);
  if ((t.kind == detail::runtime_target::response || t.kind == detail::runtime_target::error) &&
      inflight_) {
    t.request_id = inflight_->request_id;
  }
  return t;
}

// The answer to an accepted post: Lambda's 202, SCF's and FunctionGraph's 200.
string_response emulator::impl::result_accepted() const {
  auto res = accepted();
  if (scf_ || fg_) res.result(http::status::ok);
  return res;
}

void emulator::impl::handle_result(const std::shared_ptr<session>& s, string_request&& req,
                                   std::string_view request_id, bool is_error,
                                   steady::time_point arrived) {
  if (!inflight_) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: no invocation is in flight"));
    return;
  }
  if (request_id != inflight_->request_id) {
    s->respond(api_error(http::status::bad_request, "InvalidRequestID", "Invalid request ID"));
    return;
  }
  if (inflight_->streaming) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: the response is already being streamed"));
    return;
  }
  auto inv = take_inflight();
  if (runtime_ && stats_) {
    if (!stats_->first_response) stats_->first_response = arrived;
    ++stats_->invocations;
  }
  string_response ack = result_accepted();
  invoke_result result;
  if (is_error) {
    auto error =
        detail::normalize_function_error(std::move(req.body()), req[detail::error_type_header]);
    result = function_error_result(std::move(error.body));
  } else {
    // A streamed response never gets here (begin_stream() takes it at its head), except one
    // with an empty body, which is an ordinary empty response.
    if (req.body().size() > detail::max_response_bytes) {
      ack = api_error(http::status::payload_too_large, "RequestEntityTooLarge",
                      detail::response_too_large_message());
      result = function_error_result(detail::response_too_large_body());
    } else {
      result.status = 200;
      const auto content_type = req[http::field::content_type];
      result.content_type =
          content_type.empty() ? std::string("application/json") : std::string(content_type);
      result.body = std::move(req.body());
    }
  }
  finish(std::move(inv), std::move(result));
  s->respond(std::move(ack));
}

void emulator::impl::handle_init_error(const std::shared_ptr<session>& s, string_request&& req) {
  if (!runtime_ || runtime_->ready || runtime_->init_error) {
    s->respond(api_error(http::status::forbidden, "InvalidStateTransition",
                         "Invalid state transition: /runtime/init/error outside the init phase"));
    return;
  }
  auto error =
      detail::normalize_function_error(std::move(req.body()), req[detail::error_type_header]);
  runtime_->init_error = true;
  runtime_->init_error_body = std::move(error.body);
  // The runtime should now exit; the waiting invocation is answered when it does. Give it
  // init_error_grace, then kill it (on_exit reports the posted error either way).
  auto p = runtime_;
  p->timer.expires_after(init_error_grace);
  p->timer.async_wait([this, p](beast::error_code ec) {
    if (!ec) guard([&] { on_init_timer(p); });
  });
  s->respond(accepted());
}

void emulator::impl::handle_invoke_http(const std::shared_ptr<session>& s, string_request&& req) {
  if (!detail::is_invoke_target(req.target())) {
    s->respond(
        json_response(http::status::not_found,
                      detail::invoke_error_body("ResourceNotFoundException",
                                                "Unknown path " + std::string(req.target()))));
    return;
  }
  if (req.method() != http::verb::post) {
    s->respond(
        json_response(http::status::method_not_allowed,
                      detail::invoke_error_body("MethodNotAllowed", "Invoke requires POST")));
    return;
  }
  const auto type = detail::parse_invocation_type(req["X-Amz-Invocation-Type"]);
  if (!type) {
    s->respond(json_response(
        http::status::bad_request,
        detail::invoke_error_body("InvalidParameterValueException",
                                  "Unsupported X-Amz-Invocation-Type '" +
                                      std::string(req["X-Amz-Invocation-Type"]) + "'")));
    return;
  }
  invoke_request request;
  request.type = *type;
  request.tail_logs = req["X-Amz-Log-Type"] == "Tail";
  if (const auto context = req["X-Amz-Client-Context"]; !context.empty()) {
    auto decoded = detail::base64_decode(context);
    if (!decoded) {
      s->respond(json_response(
          http::status::bad_request,
          detail::invoke_error_body("InvalidRequestContentException",
                                    "X-Amz-Client-Context must be base64-encoded JSON")));
      return;
    }
    request.client_context = std::move(*decoded);
  }
  request.trace_id = req["X-Amzn-Trace-Id"];
  request.tenant_id = req["X-Amz-Tenant-Id"];
  request.payload = std::move(req.body());
  submit(
      std::move(request),
      [this, s](invoke_result&& result) { s->respond(invoke_response(std::move(result))); },
      http_stream_receiver(s));
}

// The HTTP caller gets a streamed response as it arrives: the head (200, the runtime's
// Content-Type, Transfer-Encoding: chunked) when the runtime starts, one chunk per piece read
// from the runtime, and trailers at the end: End-Of-Response always, the error type and base64
// error body when the invocation failed, X-Amz-Log-Result when Tail was asked for.
emulator::impl::stream_receiver emulator::impl::http_stream_receiver(
    const std::shared_ptr<session>& s) const {
  stream_receiver r;
  r.begin = [this, s](const invoke_result& head) {
    std::string text = "HTTP/1.1 200 OK\r\nContent-Type: ";
    text.append(head.content_type).append("\r\nX-Amzn-RequestId: ").append(head.request_id);
    text.append("\r\nX-Amz-Executed-Version: ").append(function_.version);
    text.append(
        "\r\nTrailer: End-Of-Response, Lambda-Runtime-Function-Error-Type, "
        "Lambda-Runtime-Function-Error-Body, X-Amz-Log-Result\r\n"
        "Transfer-Encoding: chunked\r\n");
    if (!s->keep_alive()) text.append("Connection: close\r\n");
    text.append("\r\n");
    s->begin_chunked(std::move(text));
  };
  r.data = [s](std::string data, std::function<void()> resume) {
    s->write_chunk(std::move(data), std::move(resume));
  };
  r.end = [s](invoke_result&& tail, std::string_view end_of_response) {
    std::string text = "0\r\nEnd-Of-Response: ";
    text.append(end_of_response).append("\r\n");
    if (!tail.function_error.empty() || tail.status != 200) {
      const std::string type = detail::normalize_function_error(tail.body, {}).type;
      text.append(detail::error_type_header).append(": ").append(header_safe(type));
      text.append("\r\n").append(error_body_header).append(": ");
      text.append(detail::base64_encode(tail.body)).append("\r\n");
    }
    if (!tail.log_result.empty()) {
      text.append("X-Amz-Log-Result: ").append(tail.log_result).append("\r\n");
    }
    text.append("\r\n");
    s->end_chunked(std::move(text));
  };
  return r;
}

bool emulator::impl::begin_stream(const std::shared_ptr<session>& s, const string_request& head) {
  if (scf_ || fg_) return false;  // SCF and FunctionGraph have no streamed responses
  const auto target = detail::parse_runtime_target(head.target());
  if (target.kind != detail::runtime_target::response || head.method() != http::verb::post) {
    return false;
  }
  if (!s->generation && runtime_) s->generation = runtime_->generation;
  if (!inflight_ || target.request_id != inflight_->request_id || inflight_->streaming) {
    return false;  // read whole and refused by handle_result()
  }
  pending& inv = *inflight_;
  inv.streaming = true;
  inv.stream = s;
  if (runtime_ && stats_ && !stats_->first_response) stats_->first_response = steady::now();
  const auto content_type = head[http::field::content_type];
  inv.stream_content_type =
      content_type.empty() ? std::string("application/octet-stream") : std::string(content_type);
  if (inv.receiver.begin) {
    invoke_result first;
    first.content_type = inv.stream_content_type;
    first.request_id = inv.request_id;
    first.streamed = true;
    inv.receiver.begin(first);
  }
  return true;
}

void emulator::impl::stream_data(const std::shared_ptr<session>& s, std::string data) {
  if (!inflight_ || inflight_->stream != s) return s->abort_stream();
  pending& inv = *inflight_;
  inv.streamed_bytes += data.size();
  const std::size_t limit = function_.max_streamed_response_bytes;
  if (inv.streamed_bytes > limit) {
    inv.end_of_response = "Oversized";
    inv.stream.reset();
    emit_line("RequestId: " + inv.request_id + " Error: the streamed response exceeded " +
                  std::to_string(limit) + " bytes\nFunction.ResponseSizeTooLarge\n",
              &inv);
    finish(take_inflight(), function_error_result(detail::streamed_too_large_body(limit)));
    s->reject_stream(api_error(http::status::payload_too_large, "RequestEntityTooLarge",
                               detail::streamed_too_large_message(limit)));
    return;
  }
  if (inv.request.on_chunk) {
    try {
      inv.request.on_chunk(data);
    } catch (...) {
    }
  }
  if (inv.receiver.data) {
    inv.receiver.data(std::move(data), [s] { s->continue_stream(); });
    return;
  }
  inv.stream_body.append(data);
  s->continue_stream();
}

void emulator::impl::stream_end(const std::shared_ptr<session>& s, const string_request& message) {
  if (!inflight_ || inflight_->stream != s) return s->abort_stream();
  auto inv = take_inflight();
  inv->stream.reset();
  inv->end_of_response = "Complete";
  if (runtime_ && stats_) ++stats_->invocations;
  invoke_result result;
  // A mid-stream error arrives in the trailers, which Beast merges into the fields.
  if (const auto type = message[detail::error_type_header]; !type.empty()) {
    const auto decoded = detail::base64_decode(message[error_body_header]);
    auto error = detail::normalize_function_error(decoded ? *decoded : std::string(), type);
    emit_line("RequestId: " + inv->request_id + " Error: the streamed response failed\n" +
                  error.type + "\n",
              inv.get());
    result = function_error_result(std::move(error.body));
  } else {
    result.status = 200;
    result.content_type = inv->stream_content_type;
    result.body = std::move(inv->stream_body);
  }
  finish(std::move(inv), std::move(result));
  s->respond(accepted());
}

void emulator::impl::stream_broken(const std::shared_ptr<session>& s) {
  // The connection closed mid-body. The invocation stays in flight until the runtime exits
  // (Runtime.ExitError), times out, or asks for its next invocation (Runtime.TruncatedResponse,
  // see handle_next()): which one it is cannot be told at this point.
  if (!inflight_ || inflight_->stream != s) return;
  inflight_->stream.reset();
}

string_response emulator::impl::invoke_response(invoke_result&& result) const {
  string_response res;
  res.result(result.status);
  if (!result.content_type.empty()) res.set(http::field::content_type, result.content_type);
  if (!result.request_id.empty()) res.set("X-Amzn-RequestId", result.request_id);
  if (result.status == 200) res.set("X-Amz-Executed-Version", function_.version);
  if (!result.function_error.empty()) res.set("X-Amz-Function-Error", result.function_error);
  if (!result.log_result.empty()) res.set("X-Amz-Log-Result", result.log_result);
  res.body() = std::move(result.body);
  return res;
}

void emulator::impl::submit(invoke_request request, completion done, stream_receiver receiver) {
  const auto answer = [&done](invoke_result&& r) {
    if (done) done(std::move(r));
  };
  if (stopping_) return answer(stopped_result());
  const std::size_t limit = request.type == invocation_type::event ? detail::max_event_request_bytes
                                                                   : detail::max_sync_request_bytes;
  if (request.payload.size() > limit) {
    return answer(
        invoke_error_result(413, detail::request_too_large_body(request.payload.size(), limit)));
  }
  std::string id = detail::format_request_id(rng_(), rng_());
  if (request.type == invocation_type::dry_run) {
    invoke_result r;
    r.status = 204;
    r.request_id = std::move(id);
    return answer(std::move(r));
  }
  auto inv = std::make_unique<pending>();
  inv->request_id = std::move(id);
  inv->serial = ++serial_;
  inv->queued = steady::now();
  if (request.type == invocation_type::event) {
    invoke_result r;
    r.status = 202;
    r.request_id = inv->request_id;
    answer(std::move(r));
  } else {
    inv->done = std::move(done);
    inv->receiver = std::move(receiver);
  }
  inv->request = std::move(request);
  queue_.push_back(std::move(inv));
  pump();
}

void emulator::impl::pump() {
  while (!stopping_ && !inflight_ && !queue_.empty()) {
    // At most one spawn per attempt: a failed spawn answers the front invocation and the loop
    // moves on to the next one.
    if (!runtime_ && !spawn_runtime()) continue;
    if (!parked_next_) return;  // the runtime is initialising or still busy finishing
    if (!runtime_->ready) mark_ready(steady::now());
    dispatch();
    return;
  }
}

bool emulator::impl::spawn_runtime() {
  const std::string stream =
      detail::log_stream_name(std::chrono::system_clock::now(), function_.version, rng_(), rng_());
  const auto env =
      scf_  ? detail::scf_environment(function_, runtime_host_, runtime_port_, passthrough_)
      : fg_ ? detail::functiongraph_environment(function_, runtime_api_, passthrough_)
            : detail::lambda_environment(function_, runtime_api_, stream, passthrough_);
  std::vector<std::string> flat;
  flat.reserve(env.size());
  for (const auto& [name, value] : env) flat.push_back(std::string(name).append("=").append(value));

  const auto spawned_at = steady::now();
  auto spawned = detail::spawn_process(function_.command, flat, task_root_);
  if (!spawned) {
    auto inv = take_front();
    const std::string command = function_.command.empty() ? "" : function_.command.front();
    const std::string reason = "cannot start " + command + ": " + spawned.error().message();
    emit_line("lamella: " + reason + "\n", inv.get());
    auto body = detail::entrypoint_error_body(inv->request_id, reason);
    finish(std::move(inv), function_error_result(std::move(body)));
    return false;
  }
  auto p = std::make_shared<process>(io_, *spawned);
  p->generation = ++spawns_;
  runtime_ = p;
  live_.push_back(p);
  stats_.emplace();
  stats_->pid = p->pid;
  stats_->spawned = spawned_at;

  watch_exit(p);
  watch_pipe(p, p->out);
  watch_pipe(p, p->err);
  p->timer.expires_after(function_.init_timeout);
  p->timer.async_wait([this, p](beast::error_code ec) {
    if (!ec) guard([&] { on_init_timer(p); });
  });
  return true;
}

void emulator::impl::mark_ready(steady::time_point when) {
  runtime_->ready = true;
  runtime_->timer.cancel();
  if (stats_ && !stats_->first_next) stats_->first_next = when;
}

void emulator::impl::dispatch() {
  flush_reports();  // the previous invocation's END/REPORT before this START
  auto inv = take_front();
  process& p = *runtime_;
  inv->started = steady::now();
  inv->dispatched = true;
  if (!p.dispatched_any) {
    p.dispatched_any = true;
    if (stats_ && stats_->first_next)
      inv->init_duration = fms(*stats_->first_next - stats_->spawned);
  }
  const auto deadline = std::chrono::system_clock::now() + function_.timeout;
  const invoke_request& request = inv->request;

  string_response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  if (scf_) {
    // SCF's /next headers (platform-contracts.md §4); no trace, context or tenant.
    res.set("request_id", inv->request_id);
    res.set("memory_limit_in_mb", std::to_string(function_.memory_mb));
    res.set("time_limit_in_ms", std::to_string(function_.timeout.count()));
  } else if (fg_) {
    // FunctionGraph's request headers (platform-contracts.md §13.1): the id and temporary
    // credentials (dummies here); the deadline is the runtime's own (RUNTIME_TIMEOUT).
    res.set("X-Cff-Request-Id", inv->request_id);
    res.set("X-CFF-Access-Key", "LAMELLAEMULATORACCESSKEY");
    res.set("X-CFF-Secret-Key", "lamella-emulator-secret-key");
    res.set("X-CFF-Security-Token", "lamella-emulator-security-token");
    res.set("X-CFF-Auth-Token", "lamella-emulator-auth-token");
    res.set("X-CFF-Invoke-Type", request.type == invocation_type::event ? "async" : "sync");
  } else {
    res.set(detail::request_id_header, inv->request_id);
    res.set(detail::deadline_header, std::to_string(epoch_ms(deadline)));
    res.set(detail::function_arn_header, arn_);
    res.set(detail::trace_id_header,
            request.trace_id.empty()
                ? detail::format_trace_id(std::chrono::system_clock::now(), rng_(), rng_(), rng_())
                : request.trace_id);
    if (!request.client_context.empty()) {
      res.set(detail::client_context_header, request.client_context);
    }
    if (!request.tenant_id.empty()) res.set(detail::tenant_id_header, request.tenant_id);
  }
  res.body() = std::move(inv->request.payload);

  emit_line(detail::format_start_line(inv->request_id, function_.version), inv.get());
  const std::uint64_t serial = inv->serial;
  inflight_ = std::move(inv);
  invocation_timer_.expires_after(function_.timeout);
  invocation_timer_.async_wait([this, serial](beast::error_code ec) {
    if (!ec) guard([&] { on_timeout(serial); });
  });
  auto s = std::move(parked_next_);
  s->respond(std::move(res));
}

std::unique_ptr<emulator::impl::pending> emulator::impl::take_inflight() {
  invocation_timer_.cancel();
  return std::move(inflight_);
}

// How this invocation's caller gets its answer: through the stream receiver once a streamed
// response has begun for it, else through the completion.
emulator::impl::completion emulator::impl::take_answer(pending& inv) {
  if (inv.streaming && inv.receiver.end) {
    return [end = std::move(inv.receiver.end), eor = inv.end_of_response](invoke_result&& r) {
      end(std::move(r), eor);
    };
  }
  return std::move(inv.done);
}

std::unique_ptr<emulator::impl::pending> emulator::impl::take_front() {
  auto inv = std::move(queue_.front());
  queue_.pop_front();
  return inv;
}

void emulator::impl::finish(std::unique_ptr<pending> inv, invoke_result&& result) {
  if (inv->stream) {
    // Ended while the runtime was still streaming (timeout, exit, reset): stop reading it.
    inv->stream->abort_stream();
    inv->stream.reset();
  }
  if (inv->streaming) result.streamed = true;
  drain_runtime_output();
  const auto now = steady::now();
  result.request_id = inv->request_id;
  if (inv->request.tail_logs) {
    write_report(*inv, now);
    result.log_result = detail::base64_encode(detail::log_tail(inv->log));
    if (auto done = take_answer(*inv)) done(std::move(result));
  } else {
    // The caller's answer (and the runtime's 202, which our caller writes next) go out first;
    // END/REPORT (a /proc read and log writes) follow from a posted handler. Whatever reads
    // their effects (last_instance(), the next START, shutdown) flushes them first.
    auto done = take_answer(*inv);
    deferred_reports_.emplace_back(std::move(inv), now);
    if (deferred_reports_.size() == 1) {
      net::post(io_, [this] { guard([this] { flush_reports(); }); });
    }
    if (done) done(std::move(result));
  }
}

void emulator::impl::flush_reports() {
  auto reports = std::move(deferred_reports_);
  deferred_reports_.clear();
  for (auto& [inv, when] : reports) write_report(*inv, when);
}

void emulator::impl::write_report(pending& inv, steady::time_point now) {
  if (!inv.dispatched) {
    inv.started = now;
    emit_line(detail::format_start_line(inv.request_id, function_.version), &inv);
  }
  std::size_t peak_kb = 0;
  if (stats_) {
    if (runtime_ && !runtime_->reaped && runtime_->pid == stats_->pid) {
      stats_->peak_rss_kb = std::max(stats_->peak_rss_kb, detail::peak_rss_kb(runtime_->pid));
    }
    peak_kb = stats_->peak_rss_kb;
  }
  emit_line(detail::format_end_line(inv.request_id), &inv);
  emit_line(detail::format_report_line(inv.request_id, fms(now - inv.started), function_.memory_mb,
                                       peak_kb, inv.init_duration),
            &inv);
}

void emulator::impl::on_timeout(std::uint64_t serial) {
  if (!inflight_ || inflight_->serial != serial) return;
  drain_runtime_output();
  auto inv = std::move(inflight_);
  emit_line("RequestId: " + inv->request_id + " Error: Task timed out after " +
                detail::format_seconds(function_.timeout) + " seconds\n",
            inv.get());
  kill_runtime();
  auto body = detail::timeout_error_body(inv->request_id, function_.timeout);
  finish(std::move(inv), function_error_result(std::move(body)));
  pump();
}

void emulator::impl::on_init_timer(const std::shared_ptr<process>& p) {
  if (p != runtime_ || p->ready || p->reaped) return;
  if (p->init_error) {
    // It posted an init error and did not exit within the grace period: on_exit reports it.
    detail::kill_process_group(p->pid);
    return;
  }
  drain_runtime_output();
  kill_runtime();
  if (!queue_.empty()) {
    auto inv = take_front();
    emit_line("RequestId: " + inv->request_id + " Error: Init timed out after " +
                  detail::format_seconds(function_.init_timeout) + " seconds\n",
              inv.get());
    auto body = detail::init_timeout_error_body(inv->request_id, function_.init_timeout);
    finish(std::move(inv), function_error_result(std::move(body)));
  }
  pump();
}

void emulator::impl::watch_exit(const std::shared_ptr<process>& p) {
  p->pidfd.async_wait(net::posix::descriptor_base::wait_read, [this, p](beast::error_code ec) {
    if (!ec) guard([&] { on_exit(p); });
  });
}

void emulator::impl::on_exit(const std::shared_ptr<process>& p) {
  if (p->reaped) return;
  // Readiness can be spurious (a stale event for a reused descriptor number): confirm the exit
  // without reaping, else keep waiting.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(p->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == 0) {
    return watch_exit(p);
  }
  // Kill what the runtime started (the group outlives its leader) while the leader is still an
  // unreaped zombie, so that the group id cannot have been reused.
  detail::kill_process_group(p->pid);
  int status = 0;
  while (::waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
  }
  p->reaped = true;
  beast::error_code ignored;
  p->pidfd.close(ignored);
  p->timer.cancel();
  live_.erase(std::remove(live_.begin(), live_.end(), p), live_.end());
  for (log_pipe* pipe : {&p->out, &p->err}) {
    if (pipe->descriptor.is_open()) read_pipe(*p, *pipe);
    flush_partial(*p, *pipe);
  }
  if (p != runtime_) return;  // already replaced (timeout, reset): nothing more to report
  runtime_.reset();
  parked_next_.reset();

  const std::string reason = detail::describe_exit_status(status);
  std::unique_ptr<pending> inv;
  if (inflight_) {
    inv = take_inflight();
  } else if (!p->ready && !queue_.empty()) {
    inv = take_front();  // failed init: answered, not retried
  }
  if (inv) {
    if (p->init_error && !inv->dispatched) {
      finish(std::move(inv), function_error_result(std::move(p->init_error_body)));
    } else {
      emit_line("RequestId: " + inv->request_id + " Error: Runtime exited with error: " + reason +
                    "\nRuntime.ExitError\n",
                inv.get());
      auto body = detail::exit_error_body(inv->request_id, reason);
      finish(std::move(inv), function_error_result(std::move(body)));
    }
  }
  pump();
}

void emulator::impl::kill_runtime() {
  if (runtime_) {
    if (!runtime_->reaped) detail::kill_process_group(runtime_->pid);
    runtime_->timer.cancel();
    runtime_.reset();  // on_exit reaps it later and reports nothing
  }
  parked_next_.reset();  // that connection belonged to the killed runtime
}

void emulator::impl::do_reset() {
  if (!runtime_ && !parked_next_) return;
  drain_runtime_output();
  kill_runtime();
  if (inflight_) {
    auto inv = take_inflight();
    auto body = detail::exit_error_body(inv->request_id, "signal: killed");
    finish(std::move(inv), function_error_result(std::move(body)));
  }
  pump();
}

void emulator::impl::shutdown() {
  stopping_ = true;
  flush_reports();
  beast::error_code ignored;
  runtime_acceptor_.close(ignored);
  invoke_acceptor_.close(ignored);
  if (signals_) signals_->cancel(ignored);
  signals_.reset();
  invocation_timer_.cancel();
  for (const auto& p : live_) {
    detail::kill_process_group(p->pid);
    int status = 0;
    while (::waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
    p->reaped = true;
    p->pidfd.close(ignored);
    p->timer.cancel();
  }
  live_.clear();
  runtime_.reset();
  parked_next_.reset();
  if (inflight_) {
    auto inv = take_inflight();
    if (inv->stream) inv->stream->abort_stream();
    if (auto done = take_answer(*inv)) done(stopped_result());
  }
  while (!queue_.empty()) {
    auto inv = take_front();
    if (inv->done) inv->done(stopped_result());
  }
  work_.reset();
  io_.stop();
}

// --- runtime output

void emulator::impl::watch_pipe(const std::shared_ptr<process>& p, log_pipe& pipe) {
  if (!pipe.descriptor.is_open()) return;
  pipe.descriptor.async_wait(net::posix::descriptor_base::wait_read,
                             [this, p, &pipe](beast::error_code ec) {
                               if (ec) return;
                               guard([&] {
                                 if (read_pipe(*p, pipe)) watch_pipe(p, pipe);
                               });
                             });
}

// Reads what is available now (the descriptor is non-blocking). False once the pipe is closed.
bool emulator::impl::read_pipe(process& p, log_pipe& pipe) {
  for (int round = 0; round < 16; ++round) {  // bounded: a chatty runtime cannot starve others
    const ssize_t n =
        ::read(pipe.descriptor.native_handle(), read_buffer_.data(), read_buffer_.size());
    if (n > 0) {
      consume_output(p, pipe, {read_buffer_.data(), static_cast<std::size_t>(n)});
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    flush_partial(p, pipe);
    beast::error_code ignored;
    pipe.descriptor.close(ignored);
    return false;
  }
  return true;
}

void emulator::impl::consume_output(process& p, log_pipe& pipe, std::string_view data) {
  pending* target = log_target(p);
  while (!data.empty()) {
    const auto eol = data.find('\n');
    if (eol == std::string_view::npos) {
      pipe.partial.append(data);
      if (pipe.partial.size() >= max_line_bytes) flush_partial(p, pipe);
      return;
    }
    if (pipe.partial.empty()) {
      emit_line(data.substr(0, eol + 1), target);  // the common case: no copy
    } else {
      pipe.partial.append(data.substr(0, eol + 1));
      emit_line(pipe.partial, target);
      pipe.partial.clear();
    }
    data.remove_prefix(eol + 1);
  }
}

void emulator::impl::flush_partial(process& p, log_pipe& pipe) {
  if (pipe.partial.empty()) return;
  pipe.partial.push_back('\n');
  emit_line(pipe.partial, log_target(p));
  pipe.partial.clear();
}

void emulator::impl::drain_runtime_output() {
  if (!runtime_) return;
  for (log_pipe* pipe : {&runtime_->out, &runtime_->err}) {
    if (pipe->descriptor.is_open()) read_pipe(*runtime_, *pipe);
  }
}

// Output of the current runtime belongs to the invocation in flight, or during init to the
// invocation waiting for it (Lambda shows init output in the first invocation's log).
emulator::impl::pending* emulator::impl::log_target(const process& p) const {
  if (&p != runtime_.get()) return nullptr;
  if (inflight_) return inflight_.get();
  if (!p.ready && !queue_.empty()) return queue_.front().get();
  return nullptr;
}

void emulator::impl::emit_line(std::string_view line, pending* target) {
  sink(line);
  if (target != nullptr && target->request.tail_logs) {
    target->log.append(line);
    if (target->log.size() > max_captured_log) {
      target->log.erase(0, target->log.size() - detail::log_tail_bytes);
    }
  }
}

// ---------------------------------------------------------------------------------------------

emulator::emulator(function_config function, emulator_options options)
    : impl_(std::make_unique<impl>(std::move(function), std::move(options))) {}

emulator::~emulator() = default;

std::uint16_t emulator::invoke_port() const noexcept { return impl_->invoke_port(); }
std::uint16_t emulator::runtime_port() const noexcept { return impl_->runtime_port(); }
std::future<invoke_result> emulator::invoke(invoke_request request) {
  return impl_->invoke(std::move(request));
}
void emulator::reset() { impl_->reset(); }
std::optional<instance_stats> emulator::last_instance() const { return impl_->last_instance(); }
void emulator::wait() { impl_->wait(); }
void emulator::stop() { impl_->stop(); }

}  // namespace lamella
