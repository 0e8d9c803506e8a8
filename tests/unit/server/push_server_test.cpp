// The push server over real loopback HTTP, with a small adapter defined here (the body is the
// event, the payload is the answer) and loops driving lambda_clients over in-process transports.
#include "server/push_server.h"

#include "raw_http.h"

#include "lamella/runtime.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lamella::push {
namespace {

using testing::raw_connection;
using testing::raw_response;

reply make_reply(unsigned status, std::string body) {
  reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

/// Paths: /health answers at once; /initialize, /pre-stop, /pre-freeze are the lifecycle hooks;
/// anything else invokes with the body as the event. Counts the requests it classified.
class echo_adapter final : public adapter {
 public:
  /// `streams`: whether streamed responses go to the client as written (adapter::streams()).
  explicit echo_adapter(bool streams = false) : streams_(streams) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "test"; }
  [[nodiscard]] bool streams(const request& /*req*/) const override { return streams_; }
  [[nodiscard]] dispatch on_request(const request& req, std::string_view /*id*/) const override {
    {
      const std::lock_guard lock(mutex_);
      ++requests_;
    }
    cv_.notify_all();
    dispatch d;
    if (req.target == "/health") {
      d.immediate = make_reply(200, "healthy");
    } else if (req.target == "/initialize") {
      d.what = dispatch::kind::initialize;
    } else if (req.target == "/pre-stop") {
      d.what = dispatch::kind::pre_stop;
    } else if (req.target == "/pre-freeze") {
      d.what = dispatch::kind::pre_freeze;
    } else {
      d.what = dispatch::kind::invoke;
      d.inv.payload = req.body;
      d.inv.platform_context = R"({"path":")" + req.target + R"("})";
    }
    return d;
  }
  [[nodiscard]] reply on_outcome(const request& /*req*/, const invocation& /*inv*/,
                                 const outcome& result) const override {
    return result.is_success() ? make_reply(200, result.payload())
                               : make_reply(500, "error:" + result.error_type());
  }
  [[nodiscard]] reply on_hook(const request& /*req*/, dispatch::kind /*hook*/,
                              const outcome* failure) const override {
    return failure == nullptr ? make_reply(200, "hook ok")
                              : make_reply(500, "hook failed:" + failure->error_type());
  }
  [[nodiscard]] reply on_init_error(const request& /*req*/, const outcome& failure) const override {
    return make_reply(500, "init failed:" + failure.error_type());
  }
  [[nodiscard]] reply on_overload(const request& /*req*/) const override {
    return make_reply(503, "busy");
  }
  [[nodiscard]] reply on_timeout(const request& /*req*/, const invocation& /*inv*/) const override {
    return make_reply(504, "timed out");
  }

  /// Blocks until `n` requests have been classified.
  void wait_requests(int n) const {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return requests_ >= n; });
  }

 private:
  bool streams_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  mutable int requests_ = 0;
};

/// A gate a handler waits at until the test opens it; tells the test when a handler arrived.
class gate {
 public:
  void arrive_and_wait() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void wait_arrivals(int n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return arrived_ >= n; });
  }
  void open() {
    {
      const std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool open_ = false;
};

class push_server_test : public ::testing::Test {
 protected:
  push_server_test() {
    settings_.kind = platform_kind::http;
    settings_.listen_address = "127.0.0.1";
    settings_.port = 0;
    settings_.queue_limit = 64;
  }
  ~push_server_test() override {
    server_.reset();  // stops: the loops' next() ends with shutting_down
    for (auto& t : loops_) t.join();
  }

  void start(server_options options = {}) {
    auto a = std::make_unique<echo_adapter>(streams_);
    adapter_ = a.get();
    auto s = server::start(settings_, std::move(a), std::move(options));
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }

  /// Starts `n` loops running `h`; each records how it ended in `loop_results_`.
  void start_loops(int n, const handler& h) {
    for (int i = 0; i < n; ++i) {
      loops_.emplace_back([this, h] {
        lambda_client client(server_->make_transport(), "cpp");
        run_options options;
        options.set_trace_env = false;
        auto r = run_loop(client, h, options);
        const std::lock_guard lock(results_mutex_);
        loop_results_.push_back(r ? boost::system::error_code() : r.error());
      });
    }
  }

  /// Sends `n` POST /invoke requests, "<prefix><i>", each on its own connection and thread.
  std::vector<std::future<std::optional<raw_response>>> post_async(int n,
                                                                   const std::string& prefix) {
    std::vector<std::future<std::optional<raw_response>>> answers;
    answers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      answers.push_back(std::async(std::launch::async, [this, i, prefix] {
        raw_connection c(server_->port());
        return c.exchange("POST", "/invoke", prefix + std::to_string(i));
      }));
    }
    return answers;
  }

  /// Takes the next invocation on `client` and opens its streamed response (text/plain); a
  /// failure is recorded and gives nullopt.
  static std::optional<response_stream> open_stream(lambda_client& client) {
    auto inv = client.next();
    if (!inv) {
      ADD_FAILURE() << inv.error().message();
      return std::nullopt;
    }
    auto stream = client.stream_response(inv->request_id, "text/plain");
    if (!stream) {
      ADD_FAILURE() << stream.error().message();
      return std::nullopt;
    }
    return std::move(*stream);
  }

  static outcome echo(const invocation& inv) {
    if (inv.payload == "throw") throw std::runtime_error("boom");
    return outcome::success(inv.payload, "text/plain");
  }

  platform_settings settings_;
  bool streams_ = false;  // the adapter streams responses to the client (set before start())
  std::unique_ptr<server> server_;
  const echo_adapter* adapter_ = nullptr;
  std::vector<std::thread> loops_;
  std::mutex results_mutex_;
  std::vector<boost::system::error_code> loop_results_;
};

TEST_F(push_server_test, echoes_over_one_keep_alive_connection) {
  start();
  start_loops(2, echo);
  raw_connection c(server_->port());
  for (int i = 0; i < 50; ++i) {
    const std::string body = "event-" + std::to_string(i);
    const auto r = c.exchange("POST", "/invoke", body);
    ASSERT_TRUE(r) << "the connection closed at request " << i;
    EXPECT_EQ(r->status, 200U);
    EXPECT_EQ(r->body, body);
  }
  const auto health = c.exchange("GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "healthy");
}

TEST_F(push_server_test, the_invocation_looks_like_lambdas) {
  settings_.function.name = "fn";
  settings_.function.region = "eu-west-1";
  start();
  start_loops(1, [](const invocation& inv) {
    const bool ok = !inv.request_id.empty() && inv.remaining_time().count() > 0 &&
                    inv.function_arn == "arn:aws:lambda:eu-west-1:000000000000:function:fn" &&
                    inv.platform_context == R"({"path":"/ctx"})";
    return outcome::success(ok ? "ok" : "bad invocation fields");
  });
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/ctx", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(push_server_test, function_errors_go_through_the_adapter) {
  start();
  start_loops(1, echo);
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/invoke", "throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500U);
  EXPECT_EQ(r->body, "error:std::runtime_error");
}

TEST_F(push_server_test, many_concurrent_keep_alive_connections_are_all_answered) {
  settings_.queue_limit = 1000;
  start();
  start_loops(4, echo);
  constexpr int clients = 32;
  constexpr int per_client = 20;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      raw_connection c(server_->port());
      for (int i = 0; i < per_client; ++i) {
        const std::string body = std::to_string(t) + ":" + std::to_string(i);
        const auto r = c.exchange("POST", "/invoke", body);
        if (r && r->status == 200 && r->body == body) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), clients * per_client);
}

TEST_F(push_server_test, a_client_stalled_mid_body_or_idle_between_requests_is_closed_in_time) {
  settings_.io_timeout = std::chrono::milliseconds(300);
  settings_.idle_timeout = std::chrono::milliseconds(300);
  start();
  start_loops(1, echo);
  raw_connection stalled(server_->port());
  ASSERT_TRUE(
      stalled.send_bytes("POST /invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  raw_connection idle(server_->port());
  const auto r = idle.exchange("POST", "/invoke", "first");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "first");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled.wait_closed());
  EXPECT_TRUE(idle.wait_closed());
  // Closed by the timeouts (300 ms, swept every 100 ms), not by the 60 s guard of the client.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(push_server_test, a_handler_slower_than_every_io_timeout_is_still_answered) {
  settings_.header_timeout = std::chrono::milliseconds(200);
  settings_.io_timeout = std::chrono::milliseconds(200);
  settings_.idle_timeout = std::chrono::milliseconds(200);
  start();
  start_loops(1, [](const invocation& inv) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    return outcome::success(inv.payload, "text/plain");
  });
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/invoke", "slow");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, "slow");
}

TEST_F(push_server_test, oversized_head_is_431_and_the_server_keeps_serving) {
  start();
  start_loops(1, echo);
  {
    raw_connection c(server_->port());
    const auto r = c.exchange("POST", "/invoke", "x", "X-Big: " + std::string(9000, 'a') + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431U);
    EXPECT_TRUE(c.wait_closed());
  }
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/invoke", "still here");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "still here");
}

TEST_F(push_server_test, oversized_body_is_413_and_the_server_keeps_serving) {
  settings_.body_limit = 1024;
  start();
  start_loops(1, echo);
  {
    raw_connection c(server_->port());
    const auto r = c.exchange("POST", "/invoke", std::string(4096, 'b'));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413U);
  }
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/invoke", std::string(1024, 'c'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body.size(), 1024U);
}

TEST_F(push_server_test,
       a_silent_client_is_closed_after_the_header_timeout_while_others_are_served) {
  settings_.header_timeout = std::chrono::milliseconds(300);
  start();
  start_loops(1, echo);
  raw_connection silent(server_->port());
  ASSERT_TRUE(silent.send_bytes("POST /invoke HTTP/1.1\r\nHost: x\r\n"));  // never finished
  raw_connection other(server_->port());
  const auto r = other.exchange("POST", "/invoke", "served");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "served");
  EXPECT_TRUE(silent.wait_closed());
}

TEST_F(push_server_test, beyond_the_connection_limit_new_connections_are_closed) {
  settings_.connection_limit = 2;
  start();
  start_loops(1, echo);
  raw_connection a(server_->port());
  raw_connection b(server_->port());
  ASSERT_TRUE(a.exchange("POST", "/invoke", "a"));  // both are accepted and tracked by now
  ASSERT_TRUE(b.exchange("POST", "/invoke", "b"));
  raw_connection refused(server_->port());
  EXPECT_TRUE(refused.wait_closed());
  const auto r = a.exchange("POST", "/invoke", "a again");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "a again");
}

TEST_F(push_server_test, a_full_queue_answers_overload) {
  settings_.queue_limit = 2;
  start();  // no loop yet: invocations wait in the queue
  auto queued = post_async(2, "queued ");
  adapter_->wait_requests(2);  // both are in the queue (one I/O thread: classified = queued)
  raw_connection c(server_->port());
  const auto r = c.exchange("POST", "/invoke", "one too many");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503U);
  start_loops(1, echo);
  for (int i = 0; i < 2; ++i) {
    const auto q = queued[static_cast<std::size_t>(i)].get();
    ASSERT_TRUE(q);
    EXPECT_EQ(q->status, 200U);
    EXPECT_EQ(q->body, "queued " + std::to_string(i));
  }
}

/// What an event loop's ready callback saw; shared with the callback, which a server thread may
/// still call while the server stops after the test's locals are gone.
struct ready_calls {
  std::mutex mutex;
  std::condition_variable cv;
  int count = 0;

  void called() {
    {
      const std::lock_guard lock(mutex);
      ++count;
    }
    cv.notify_all();
  }
  bool wait_for(int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return count >= n; });
  }
  int seen() {
    const std::lock_guard lock(mutex);
    return count;
  }
};

TEST_F(push_server_test, a_poll_that_finds_nothing_is_followed_by_one_ready_call_when_work_comes) {
  start();
  lambda_client client(server_->make_transport(), "node");
  auto calls = std::make_shared<ready_calls>();
  ASSERT_TRUE(client.on_ready([calls] { calls->called(); }));
  const auto none = client.poll_next(1);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(*none);

  auto caller = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/polled", "the event");
  });
  ASSERT_TRUE(calls->wait_for(1));
  const auto got = client.poll_next(1);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_TRUE(*got);
  const invocation& inv = **got;
  EXPECT_EQ(inv.payload, "the event");
  EXPECT_EQ(inv.platform_context, R"({"path":"/polled"})");
  EXPECT_FALSE(inv.request_id.empty());
  EXPECT_GT(inv.remaining_time().count(), 0);
  ASSERT_TRUE(client.post_response(inv.request_id, outcome::success("the answer", "text/plain")));
  const auto r = caller.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, "the answer");
  // The poll that found the work does not arm the callback again: one call in all.
  EXPECT_EQ(calls->seen(), 1);
}

TEST_F(push_server_test, a_polling_loops_free_slots_are_room_beside_the_queue) {
  settings_.queue_limit = 1;
  start();
  lambda_client client(server_->make_transport(), "node");
  const auto none = client.poll_next(2);  // two free slots, nothing to take yet
  ASSERT_TRUE(none);
  ASSERT_FALSE(*none);
  // Room for three: the two free slots and the queue's one.
  auto callers = post_async(3, "event ");
  adapter_->wait_requests(3);  // one I/O thread: classified = queued
  raw_connection extra(server_->port());
  const auto refused = extra.exchange("POST", "/invoke", "one too many");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503U);
  for (unsigned idle = 2, taken = 0; taken < 3; ++taken) {
    const auto got = client.poll_next(idle);
    ASSERT_TRUE(got && *got) << "invocation " << taken << " was not queued";
    ASSERT_TRUE(client.post_response((*got)->request_id, outcome::success((*got)->payload)));
  }
  for (auto& c : callers) {
    const auto r = c.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200U);
    EXPECT_EQ(r->body.substr(0, 6), "event ");
  }
}

TEST_F(push_server_test,
       a_streamed_response_reaches_the_client_as_written_and_a_slow_reader_holds_it) {
  streams_ = true;
  start();
  gate first_seen;
  constexpr std::size_t block = 64 * 1024;
  constexpr std::size_t blocks = 1024;  // 64 MiB: far more than the server and the sockets hold
  std::atomic<std::size_t> written{0};
  std::thread loop([&] {
    lambda_client client(server_->make_transport(), "cpp");
    auto stream = open_stream(client);
    if (!stream || !stream->write("first")) return ADD_FAILURE() << "the stream did not start";
    first_seen.arrive_and_wait();
    const std::string bytes(block, 'x');
    for (std::size_t i = 0; i < blocks; ++i) {
      if (!stream->write(bytes)) return ADD_FAILURE() << "write " << i << " failed";
      written += block;
    }
    const auto finished = stream->finish();
    EXPECT_TRUE(finished && *finished == post_status::accepted);
    auto next = client.next();  // the connection goes on
    if (!next) return ADD_FAILURE() << next.error().message();
    EXPECT_TRUE(client.post_response(next->request_id, outcome::success("plain", "text/plain")));
  });
  raw_connection c(server_->port());
  ASSERT_TRUE(c.send_request("GET", "/stream"));
  const auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200U);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("Content-Type"), "text/plain");
  EXPECT_EQ(c.read_chunk(), "first");  // before the handler goes on: it waits for this
  first_seen.open();
  // Nobody reads: the handler's writes wait once the server holds 1 MiB it cannot send.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LT(written.load(), blocks * block);
  std::size_t total = 0;
  for (;;) {
    const auto chunk = c.read_chunk();
    ASSERT_TRUE(chunk) << "the stream was cut short after " << total << " bytes";
    if (chunk->empty()) break;
    EXPECT_EQ(chunk->find_first_not_of('x'), std::string::npos);
    total += chunk->size();
  }
  EXPECT_EQ(total, blocks * block);
  const auto r = c.exchange("POST", "/invoke", "next");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "plain");
  loop.join();
}

TEST_F(push_server_test, without_an_adapter_that_streams_a_streamed_response_is_answered_whole) {
  start();  // the echo adapter gathers by default, as FC does
  std::thread loop([&] {
    lambda_client client(server_->make_transport(), "cpp");
    auto stream = open_stream(client);
    if (!stream) return;
    EXPECT_TRUE(stream->write("one "));
    EXPECT_TRUE(stream->write("two"));
    EXPECT_TRUE(stream->finish());
  });
  raw_connection c(server_->port());
  const auto r = c.exchange("GET", "/gathered");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->header("Transfer-Encoding"), "");
  EXPECT_EQ(r->body, "one two");
  loop.join();
}

TEST_F(push_server_test, a_client_gone_mid_stream_fails_the_handlers_writes_and_serving_goes_on) {
  streams_ = true;
  start();
  std::promise<bool> write_failed;
  std::thread loop([&] {
    lambda_client client(server_->make_transport(), "cpp");
    auto stream = open_stream(client);
    if (!stream) return;
    const std::string bytes(64 * 1024, 'y');
    bool failed = false;
    for (int i = 0; i < 100000 && !failed; ++i) failed = !stream->write(bytes);
    write_failed.set_value(failed);
    auto next = client.next();
    if (!next) return ADD_FAILURE() << next.error().message();
    EXPECT_TRUE(client.post_response(next->request_id, outcome::success("after", "text/plain")));
  });
  {
    raw_connection c(server_->port());
    ASSERT_TRUE(c.send_request("GET", "/stream"));
    ASSERT_TRUE(c.read_head());
    ASSERT_TRUE(c.read_chunk());
  }  // closed with unread bytes: the server's next send fails
  auto failed = write_failed.get_future();
  ASSERT_EQ(failed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(failed.get());
  raw_connection d(server_->port());
  const auto r = d.exchange("POST", "/invoke", "x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "after");
  loop.join();
}

TEST_F(push_server_test, an_invocation_past_its_timeout_is_answered_504_and_the_late_post_refused) {
  settings_.function.timeout = std::chrono::milliseconds(200);
  start();
  auto caller = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/invoke", "slow");
  });
  lambda_client client(server_->make_transport());
  auto inv = client.next();
  ASSERT_TRUE(inv);
  const auto r = caller.get();  // the handler has not answered: only the timeout can
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504U);
  const auto posted = client.post_response(inv->request_id, outcome::success("late"));
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::refused);
  const auto unknown = client.post_response("no-such-id", outcome::success("x"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown, post_status::refused);
}

TEST_F(push_server_test, initialize_is_answered_once_the_first_loop_asks) {
  start();
  auto init = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/initialize");
  });
  adapter_->wait_requests(1);
  start_loops(1, echo);
  const auto r = init.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, "hook ok");
}

TEST_F(push_server_test, an_init_error_fails_initialize_and_every_later_request) {
  start();
  auto init = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/initialize");
  });
  adapter_->wait_requests(1);  // /initialize waits for init to end
  auto reporter = std::async(std::launch::async, [this] {
    lambda_client client(server_->make_transport());
    // Blocks until the server stops, as Lambda ends an environment whose init failed.
    return client.post_init_error(outcome::failure("Runtime.ImportModuleError", "no module"));
  });
  const auto r = init.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500U);
  EXPECT_EQ(r->body, "hook failed:Runtime.ImportModuleError");
  raw_connection c(server_->port());
  const auto later = c.exchange("POST", "/invoke", "x");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->body, "init failed:Runtime.ImportModuleError");
  server_->request_stop();
  const auto posted = reporter.get();
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, post_status::accepted);
}

TEST_F(push_server_test, pre_stop_and_pre_freeze_run_their_hooks) {
  std::atomic<int> stops{0};
  std::atomic<int> freezes{0};
  server_options options;
  options.shutdown_hooks = [&]() -> std::optional<outcome> {
    ++stops;
    return std::nullopt;
  };
  options.pre_freeze_hooks = [&]() -> std::optional<outcome> {
    if (++freezes == 2) return outcome::failure("Runtime.HookError", "flush failed");
    return std::nullopt;
  };
  start(std::move(options));
  raw_connection c(server_->port());
  auto r = c.exchange("GET", "/pre-freeze");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  r = c.exchange("GET", "/pre-freeze");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hook failed:Runtime.HookError");
  r = c.exchange("GET", "/pre-stop");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(stops.load(), 1);
  EXPECT_EQ(freezes.load(), 2);
  // A stop runs the shutdown runner again (the default runner, detail::run_shutdown_hooks, runs
  // the hooks once per process); stop here, while the counters the hooks use still exist.
  server_.reset();
  EXPECT_EQ(stops.load(), 2);
}

TEST_F(push_server_test, a_stop_lets_the_invocation_in_flight_finish_then_runs_the_shutdown_hooks) {
  std::atomic<int> stops{0};
  server_options options;
  options.shutdown_hooks = [&]() -> std::optional<outcome> {
    ++stops;
    return std::nullopt;
  };
  start(std::move(options));
  gate g;
  start_loops(1, [&](const invocation& inv) {
    g.arrive_and_wait();
    return outcome::success(inv.payload);
  });
  auto caller = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/invoke", "in flight");
  });
  g.wait_arrivals(1);
  server_->request_stop();
  g.open();
  const auto r = caller.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200U);
  EXPECT_EQ(r->body, "in flight");
  EXPECT_EQ(r->header("Connection"), "close");
  server_->wait();
  EXPECT_EQ(stops.load(), 1);
  for (auto& t : loops_) t.join();
  loops_.clear();
  ASSERT_EQ(loop_results_.size(), 1U);
  EXPECT_EQ(loop_results_[0], make_error_code(errc::shutting_down));
}

TEST_F(push_server_test, after_the_grace_period_what_is_left_is_answered_as_timed_out) {
  settings_.shutdown_grace = std::chrono::milliseconds(100);
  start();
  gate g;
  start_loops(1, [&](const invocation& inv) {
    g.arrive_and_wait();
    return outcome::success(inv.payload);
  });
  auto caller = std::async(std::launch::async, [this] {
    raw_connection c(server_->port());
    return c.exchange("POST", "/invoke", "too slow");
  });
  g.wait_arrivals(1);
  server_->request_stop();
  const auto r = caller.get();  // the handler is still held: only the grace period can answer
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504U);
  g.open();
  server_->wait();
  for (auto& t : loops_) t.join();  // before `g` goes away: the handler may still be leaving it
  loops_.clear();
}

/// A fresh directory under the system's temporary directory, removed with its contents.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lamella-uds-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

TEST_F(push_server_test, serves_over_a_unix_socket_behind_a_relative_link_to_a_phony_socket) {
  const temp_dir dir;
  const auto link = dir.path() / "lsnr.sock";
  // A stale link and socket from an earlier process in the same directory are replaced.
  std::filesystem::create_symlink("gone.sock", link);
  { std::ofstream(dir.path() / "phonylsnr.sock") << "stale"; }
  settings_.unix_socket = link.string();
  start();
  start_loops(1, [](const invocation& inv) { return outcome::success(inv.payload + " from uds"); });
  ASSERT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(std::filesystem::read_symlink(link), "phonylsnr.sock");
  const auto status = std::filesystem::status(link);  // follows the link
  EXPECT_EQ(status.type(), std::filesystem::file_type::socket);
  struct stat info {};
  ASSERT_EQ(::stat(link.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0666U);
  EXPECT_EQ(server_->port(), 0U);

  raw_connection c(link);
  for (int i = 0; i < 3; ++i) {
    const auto r = c.exchange("POST", "/call", "event-" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200U);
    EXPECT_EQ(r->body, "event-" + std::to_string(i) + " from uds");
  }
  // A stop removes both names: nobody can connect to a server that is going away.
  server_->request_stop();
  server_->wait();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(link)));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "phonylsnr.sock"));
}

TEST_F(push_server_test, a_unix_socket_in_a_missing_directory_is_a_configuration_error) {
  const temp_dir dir;
  settings_.unix_socket = (dir.path() / "missing" / "lsnr.sock").string();
  auto s = server::start(settings_, std::make_unique<echo_adapter>());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), make_error_code(errc::invalid_configuration));
}

}  // namespace
}  // namespace lamella::push
