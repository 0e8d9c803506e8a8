// lamella.node: the N-API addon under lamella's Node.js runtime (lib/runtime.js). It exposes one
// class, `Client`, over lamella::lambda_client, so that Node handlers use the same C++ Runtime
// API client as C++ and Python ones (no second HTTP client in JS).
//
// Threads: every JS value is created and touched on the JS thread only. `next()` long-polls the
// Runtime API on a libuv worker thread (Napi::AsyncWorker) and resolves its promise back on the
// JS thread, so the event loop keeps running while the function waits. Posts are synchronous:
// they are one loopback round trip, which is cheaper than two thread hops, and the JS side
// awaits nothing meanwhile (the official runtime makes the same choice). Lifecycle hooks
// (onShutdown, onPreFreeze) run on the push server's hook thread, which calls into the JS thread
// through a thread-safe function and blocks until the hook's promise settles (bounded). On push
// platforms the runtime polls instead of calling next() (`pollNext()`), and the server wakes the
// JS thread through `onReady()`'s thread-safe function when a poll found nothing.
#include "lamella/lambda_client.h"
#include "lamella/lifecycle.h"
#include "lamella/platform.h"
#include "lamella/runtime.h"
#include "lamella/version.h"

#include <napi.h>

#include <signal.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

/// The `code` property of the JS Error for a failed client call, so that the JS side can tell a
/// lost platform from a refusal.
const char* error_code_name(const boost::system::error_code& ec) {
  return ec == lamella::errc::runtime_api_unreachable ? "RUNTIME_API_UNREACHABLE"
                                                      : "RUNTIME_API_ERROR";
}

/// A JS Error for a failed client call, with its `code`.
Napi::Error client_error(Napi::Env env, const boost::system::error_code& ec, const char* what) {
  Napi::Error error = Napi::Error::New(env, std::string("lamella: ") + what + ": " + ec.message());
  error.Set("code", Napi::String::New(env, error_code_name(ec)));
  return error;
}

/// Throws client_error().
[[noreturn]] void throw_client_error(Napi::Env env, const boost::system::error_code& ec,
                                     const char* what) {
  throw client_error(env, ec, what);
}

/// The UTF-8 text of a JS string. Up to 64 Ki UTF-16 units it is converted in one pass into room
/// for the longest outcome (3 bytes a unit); node-addon-api's Utf8Value() measures the text in a
/// pass of its own first. Longer text is measured first, not to hold three times its size.
std::string utf8_of(const Napi::String& text) {
  constexpr std::size_t one_pass_units = 64 * 1024;
  const napi_env env = text.Env();
  std::size_t units = 0;
  if (napi_get_value_string_utf16(env, text, nullptr, 0, &units) != napi_ok ||
      units > one_pass_units) {
    return text.Utf8Value();
  }
  std::string out(units * 3, '\0');
  std::size_t written = 0;
  // The buffer's size counts the terminator, which std::string already has room for.
  if (napi_get_value_string_utf8(env, text, out.data(), out.size() + 1, &written) != napi_ok) {
    return text.Utf8Value();
  }
  out.resize(written);
  return out;
}

/// The bytes of a JS string or Buffer/Uint8Array argument, copied into a std::string.
std::string bytes_of(const Napi::Value& value) {
  if (value.IsBuffer()) {
    const auto buffer = value.As<Napi::Buffer<char>>();
    return {buffer.Data(), buffer.Length()};
  }
  if (value.IsTypedArray()) {
    const auto array = value.As<Napi::Uint8Array>();
    return {reinterpret_cast<const char*>(array.Data()), array.ByteLength()};
  }
  return utf8_of(value.ToString());
}

/// A string argument at `index`, or a TypeError naming it.
std::string string_arg(const Napi::CallbackInfo& info, std::size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  return utf8_of(info[index].As<Napi::String>());
}

/// What makes an invocation's JS object: a function compiled once per environment (env instance
/// data), so that V8 builds every object from one literal with one shape. Setting ten named
/// properties through Node-API instead looks up and internalises each key and walks the map
/// transitions for every object, a sixth of the JS thread's time on a push platform. An empty
/// field is passed as undefined and becomes '' there (contentType: application/json, as the
/// Runtime API's /next says when a platform gave none), which saves creating the string.
constexpr const char* invocation_factory_source =
    "(function invocation(payload, requestId, deadlineMs, functionArn, traceId = '',"
    " clientContext = '', cognitoIdentity = '', tenantId = '',"
    " contentType = 'application/json', platformContext = '') {"
    " return { payload, requestId, deadlineMs, functionArn, traceId, clientContext,"
    " cognitoIdentity, tenantId, contentType, platformContext }; })";

/// Compiles invocation_factory_source and keeps it as `env`'s instance data.
void install_invocation_factory(Napi::Env env) {
  napi_value fn = nullptr;
  const Napi::String source = Napi::String::New(env, invocation_factory_source);
  if (napi_run_script(env, source, &fn) != napi_ok) throw Napi::Error::New(env);
  env.SetInstanceData(
      new Napi::FunctionReference(Napi::Persistent(Napi::Value(env, fn).As<Napi::Function>())));
}

/// The JS object for an invocation (next() and pollNext()): {payload, requestId, deadlineMs,
/// functionArn, traceId, clientContext, cognitoIdentity, tenantId, contentType,
/// platformContext}, every field but deadlineMs a string.
Napi::Value invocation_object(Napi::Env env, const lamella::invocation& inv) {
  const auto deadline_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(inv.deadline.time_since_epoch())
          .count();
  const auto text = [&](const std::string& s) -> napi_value {
    return s.empty() ? env.Undefined() : Napi::String::New(env, s);
  };
  return env.GetInstanceData<Napi::FunctionReference>()->Call({
      Napi::String::New(env, inv.payload),
      Napi::String::New(env, inv.request_id),
      Napi::Number::New(env, static_cast<double>(deadline_ms)),
      Napi::String::New(env, inv.function_arn),
      text(inv.trace_id),
      text(inv.client_context),
      text(inv.cognito_identity),
      text(inv.tenant_id),
      text(inv.content_type),
      text(inv.platform_context),
  });
}

/// `Client`: one Runtime API connection. Methods (all on the JS thread):
///   next() -> Promise<{payload, requestId, deadlineMs, functionArn, traceId, clientContext,
///                      cognitoIdentity, tenantId, contentType, platformContext}>
///   pollNext(idle: number) -> invocation | null   takes one now, if one is ready (push
///                                             platforms: the in-process server); `idle` = the
///                                             caller's free slots, this one included
///   onReady(fn)                               fn() is called on the JS thread when an
///                                             invocation is ready after pollNext() gave null
///   holdLoop(on: boolean)                     whether that wait keeps the event loop alive
///   postResponse(requestId, body: string|Buffer, contentType = application/json) -> boolean
///                                             (false: refused)
///   postError(requestId, errorType, errorJson) -> boolean
///   postInitError(errorType, errorJson) -> boolean
///   streamBegin(requestId, contentType)       opens a streamed /response (chunked)
///   streamWrite(bytes: string|Buffer)         sends one chunk now
///   streamFinish() -> boolean                 ends the stream, reads the platform's answer
///   streamFail(errorType, errorJson) -> boolean  ends it with the error trailers
/// Failed calls throw an Error whose `code` is RUNTIME_API_UNREACHABLE (after the retry policy
/// of lamella::run) or RUNTIME_API_ERROR. At most one call is in flight: a call made while
/// `next()` is pending throws.
class client final : public Napi::ObjectWrap<client> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "Client",
        {InstanceMethod<&client::next>("next"), InstanceMethod<&client::poll_next>("pollNext"),
         InstanceMethod<&client::on_ready>("onReady"),
         InstanceMethod<&client::hold_loop>("holdLoop"),
         InstanceMethod<&client::post_response>("postResponse"),
         InstanceMethod<&client::post_error>("postError"),
         InstanceMethod<&client::post_init_error>("postInitError"),
         InstanceMethod<&client::stream_begin>("streamBegin"),
         InstanceMethod<&client::stream_write>("streamWrite"),
         InstanceMethod<&client::stream_finish>("streamFinish"),
         InstanceMethod<&client::stream_fail>("streamFail"),
         InstanceMethod<&client::transport_name>("transportName")});
  }

  /// new Client(runtimeApi: string): connects lazily to "host:port"; an empty string = the
  /// platform the environment names (AWS_LAMBDA_RUNTIME_API, else SCF_RUNTIME_API), as
  /// lamella::make_lambda_client() decides.
  explicit client(const Napi::CallbackInfo& info) : Napi::ObjectWrap<client>(info) {
    options_.runtime_api = string_arg(info, 0, "runtimeApi");
    options_.language = "node";
    auto made = lamella::make_lambda_client(options_);
    if (!made) throw_client_error(info.Env(), made.error(), "cannot create the client");
    client_.emplace(std::move(*made));
  }

 private:
  class next_worker;

  Napi::Value next(const Napi::CallbackInfo& info);

  Napi::Value poll_next(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (busy_) throw Napi::Error::New(env, "lamella: a Runtime API call is already in flight");
    if (info.Length() < 1 || !info[0].IsNumber()) {
      throw Napi::TypeError::New(env, "idle must be a number");
    }
    const auto idle = info[0].As<Napi::Number>().Uint32Value();
    auto r = client_->poll_next(idle);
    if (!r) throw_client_error(env, r.error(), "polling for the next invocation failed");
    if (!*r) return env.Null();
    return invocation_object(env, **r);
  }

  Napi::Value on_ready(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      throw Napi::TypeError::New(env, "the ready callback must be a function");
    }
    if (ready_) throw Napi::Error::New(env, "lamella: onReady() was already called");
    // Never released: the server may call it until the process ends. Called at most once per
    // poll that found nothing, so its queue never grows.
    auto tsfn =
        Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "lamella.ready", 0, 1);
    auto set = client_->on_ready([tsfn]() mutable { (void)tsfn.NonBlockingCall(); });
    if (!set) {
      tsfn.Release();
      throw_client_error(env, set.error(), "this platform cannot be polled");
    }
    ready_.emplace(tsfn);
    return env.Undefined();
  }

  Napi::Value hold_loop(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (!ready_) throw Napi::Error::New(env, "lamella: holdLoop() needs onReady() first");
    const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
    if (on) {
      ready_->Ref(env);
    } else {
      ready_->Unref(env);
    }
    return env.Undefined();
  }

  Napi::Value post_response(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    const std::string id = string_arg(info, 0, "requestId");
    std::string content_type =
        info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    const auto o = lamella::outcome::success(
        info.Length() > 1 ? bytes_of(info[1]) : std::string(),
        content_type.empty() ? std::string("application/json") : std::move(content_type));
    return posted(info.Env(), lamella::with_retries(options_.retry,
                                                    [&] { return client_->post_response(id, o); }));
  }

  Napi::Value post_error(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    const std::string id = string_arg(info, 0, "requestId");
    const auto o = lamella::outcome::failure_with_body(string_arg(info, 1, "errorType"),
                                                       string_arg(info, 2, "errorJson"));
    return posted(info.Env(), lamella::with_retries(options_.retry,
                                                    [&] { return client_->post_error(id, o); }));
  }

  Napi::Value post_init_error(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    const auto o = lamella::outcome::failure_with_body(string_arg(info, 0, "errorType"),
                                                       string_arg(info, 1, "errorJson"));
    return posted(info.Env(), lamella::with_retries(options_.retry,
                                                    [&] { return client_->post_init_error(o); }));
  }

  Napi::Value stream_begin(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    const std::string id = string_arg(info, 0, "requestId");
    const std::string content_type = string_arg(info, 1, "contentType");
    auto opened = client_->stream_response(id, content_type);
    if (!opened)
      throw_client_error(info.Env(), opened.error(), "opening the streamed response failed");
    stream_.emplace(std::move(*opened));
    return info.Env().Undefined();
  }

  Napi::Value stream_write(const Napi::CallbackInfo& info) {
    ensure_streaming(info.Env());
    lamella::result<void> written;
    if (info.Length() > 0 && info[0].IsBuffer()) {  // no copy: write straight from the Buffer
      const auto buffer = info[0].As<Napi::Buffer<char>>();
      written = stream_->write(std::string_view(buffer.Data(), buffer.Length()));
    } else {
      written = stream_->write(info.Length() > 0 ? bytes_of(info[0]) : std::string());
    }
    if (!written) {
      stream_.reset();
      throw_client_error(info.Env(), written.error(), "writing the streamed response failed");
    }
    return info.Env().Undefined();
  }

  Napi::Value stream_finish(const Napi::CallbackInfo& info) {
    ensure_streaming(info.Env());
    const auto r = stream_->finish();
    stream_.reset();
    return posted(info.Env(), r);
  }

  Napi::Value stream_fail(const Napi::CallbackInfo& info) {
    ensure_streaming(info.Env());
    const std::string type = string_arg(info, 0, "errorType");
    const std::string json = string_arg(info, 1, "errorJson");
    const auto r = stream_->fail(type, json);
    stream_.reset();
    return posted(info.Env(), r);
  }

  Napi::Value transport_name(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), std::string(client_->transport_name()));
  }

  void ensure_idle(Napi::Env env) const {
    if (busy_) throw Napi::Error::New(env, "lamella: a Runtime API call is already in flight");
    if (stream_) throw Napi::Error::New(env, "lamella: a streamed response is still open");
  }

  void ensure_streaming(Napi::Env env) const {
    if (!stream_) throw Napi::Error::New(env, "lamella: no streamed response is open");
  }

  static Napi::Value posted(Napi::Env env, const lamella::result<lamella::post_status>& r) {
    if (!r) throw_client_error(env, r.error(), "posting to the Runtime API failed");
    return Napi::Boolean::New(env, *r == lamella::post_status::accepted);
  }

  lamella::run_options options_;
  std::optional<lamella::lambda_client> client_;
  std::optional<lamella::response_stream> stream_;  // declared after client_: destroyed first
  bool busy_ = false;  // a next() is on a worker thread; the client is not to be touched
  std::optional<Napi::ThreadSafeFunction> ready_;  // onReady()'s, JS thread only
};

/// Waits for `/next` on a libuv worker thread; builds the invocation object on the JS thread.
class client::next_worker final : public Napi::AsyncWorker {
 public:
  next_worker(Napi::Env env, client& owner)
      : Napi::AsyncWorker(env, "lamella.next"),
        owner_(owner),
        self_(Napi::Persistent(owner.Value())),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  [[nodiscard]] Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {  // worker thread: no JS here
    auto r = lamella::with_retries(owner_.options_.retry, [&] { return owner_.client_->next(); });
    if (r) {
      invocation_ = std::move(*r);
    } else {
      error_ = r.error();
      SetError(error_.message());
    }
  }

  void OnOK() override {
    owner_.busy_ = false;
    deferred_.Resolve(invocation_object(Env(), invocation_));
  }

  void OnError(const Napi::Error& error) override {
    owner_.busy_ = false;
    Napi::Object value = error.Value();
    value.Set("code", Napi::String::New(Env(), error_code_name(error_)));
    deferred_.Reject(value);
  }

 private:
  client& owner_;
  Napi::ObjectReference self_;  // keeps the client alive while the worker runs
  Napi::Promise::Deferred deferred_;
  lamella::invocation invocation_;
  boost::system::error_code error_;
};

Napi::Value client::next(const Napi::CallbackInfo& info) {
  ensure_idle(info.Env());
  auto* worker = new next_worker(info.Env(), *this);  // owned and deleted by libuv's queue
  busy_ = true;
  worker->Queue();
  return worker->promise();
}

/// platform() -> {kind, push, concurrency}: the platform this process
/// serves (lamella::platform_from_env, the rule every lamella process follows). Throws an Error
/// when none is recognised.
Napi::Value platform(const Napi::CallbackInfo& info) {
  const auto settings = lamella::platform_from_env(lamella::process_environment());
  if (!settings) {
    throw Napi::Error::New(info.Env(),
                           "no platform recognised: set AWS_LAMBDA_RUNTIME_API, another "
                           "platform's variables (docs/platforms.md) or LAMELLA_PLATFORM");
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("kind", Napi::String::New(info.Env(), std::string(lamella::to_string(settings->kind))));
  o.Set("push", Napi::Boolean::New(info.Env(), lamella::is_push(settings->kind)));
  o.Set("concurrency", Napi::Number::New(info.Env(), settings->concurrency));
  return o;
}

//------------------------------------------------------------------------------------------------
// Lifecycle hooks written in JS.

/// One call of a JS hook, shared by the hook thread (which waits) and the JS thread (which
/// settles it); shared ownership, because a hook that outlives its bound settles it later.
struct hook_call {
  std::mutex mutex;
  std::condition_variable settled_cv;
  bool settled = false;
  std::string error;  // empty: the hook succeeded

  void settle(std::string failure) {
    {
      const std::lock_guard lock(mutex);
      if (settled) return;
      settled = true;
      error = std::move(failure);
    }
    settled_cv.notify_all();
  }
};

/// The text of a thrown value or rejection reason (an Error's "Name: message").
std::string reason_text(const Napi::Value& reason) {
  try {
    if (reason.IsUndefined()) return "undefined";
    return reason.ToString().Utf8Value();
  } catch (const Napi::Error&) {
    return "a value that cannot be converted to a string";
  }
}

/// JS thread: calls the hook; settles `call` at once, or when the promise it returned settles.
void call_js_hook(Napi::Env env, Napi::Function fn, std::shared_ptr<hook_call>* data) {
  const std::shared_ptr<hook_call> call = std::move(*data);
  delete data;  // NOLINT(cppcoreguidelines-owning-memory): allocated by run() below
  if (env == nullptr) return call->settle("the JS environment is gone");
  try {
    const Napi::Value result = fn.Call({});
    if (result.IsObject()) {
      const Napi::Value then = result.As<Napi::Object>().Get("then");
      if (then.IsFunction()) {
        const auto resolved = Napi::Function::New(env, [call](const Napi::CallbackInfo& info) {
          call->settle("");
          return info.Env().Undefined();
        });
        const auto rejected = Napi::Function::New(env, [call](const Napi::CallbackInfo& info) {
          call->settle(reason_text(info.Length() > 0 ? info[0] : info.Env().Undefined()));
          return info.Env().Undefined();
        });
        then.As<Napi::Function>().Call(result, {resolved, rejected});
        return;
      }
    }
    call->settle("");
  } catch (const Napi::Error& e) {
    call->settle(reason_text(e.Value()));
  }
}

/// A JS function as a C++ lifecycle hook: calls it on the JS thread and waits, up to `bound`,
/// for it to return or for its promise to settle. A throw, a rejection or the bound passing
/// is the hook's failure (an exception to the hook registry).
class js_hook {
 public:
  js_hook(Napi::Env env, const Napi::Function& fn, std::chrono::milliseconds bound)
      : tsfn_(Napi::ThreadSafeFunction::New(env, fn, "lamella.hook", 0, 1)), bound_(bound) {
    tsfn_.Unref(env);  // a registered hook must not keep the process alive
  }

  void operator()() const {
    auto call = std::make_shared<hook_call>();
    auto* data = new std::shared_ptr<hook_call>(call);  // NOLINT: freed by call_js_hook()
    if (tsfn_.BlockingCall(data, call_js_hook) != napi_ok) {
      delete data;  // NOLINT(cppcoreguidelines-owning-memory)
      throw std::runtime_error("the JS thread is gone");
    }
    std::unique_lock lock(call->mutex);
    if (!call->settled_cv.wait_for(lock, bound_, [&] { return call->settled; })) {
      throw std::runtime_error("the hook did not settle within " + std::to_string(bound_.count()) +
                               " ms");
    }
    if (!call->error.empty()) throw std::runtime_error(call->error);
  }

 private:
  Napi::ThreadSafeFunction tsfn_;  // never released: hooks live as long as the process
  std::chrono::milliseconds bound_;
};

/// How long a JS hook may take: the platform's shutdown grace (SIGTERM to SIGKILL), 9 s when no
/// platform is recognised.
std::chrono::milliseconds hook_bound() {
  const auto settings = lamella::platform_from_env(lamella::process_environment());
  return settings ? settings->shutdown_grace : std::chrono::milliseconds(9000);
}

Napi::Function function_arg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "the hook must be a function");
  }
  return info[0].As<Napi::Function>();
}

/// onShutdown(fn): registers fn in lamella's hook registry (lamella/lifecycle.h).
Napi::Value on_shutdown(const Napi::CallbackInfo& info) {
  lamella::on_shutdown(js_hook(info.Env(), function_arg(info), hook_bound()));
  return info.Env().Undefined();
}

/// onPreFreeze(fn): as onShutdown, for FC's /pre-freeze.
Napi::Value on_pre_freeze(const Napi::CallbackInfo& info) {
  lamella::on_pre_freeze(js_hook(info.Env(), function_arg(info), hook_bound()));
  return info.Env().Undefined();
}

/// keepSignals(): the push server owns SIGTERM (its graceful stop). A `process.on('SIGTERM')`
/// listener makes libuv install its own handler over the server's, and removing the last one
/// resets SIGTERM to its default (death): the first call remembers the server's handler, later
/// calls put it back when something replaced it. Returns whether it had to.
Napi::Value keep_signals(const Napi::CallbackInfo& info) {
  static std::optional<struct sigaction> kept;  // NOLINT: JS thread only
  struct sigaction current {};
  if (::sigaction(SIGTERM, nullptr, &current) != 0) return Napi::Boolean::New(info.Env(), false);
  if (!kept) {
    kept = current;
    return Napi::Boolean::New(info.Env(), false);
  }
  if (current.sa_handler == kept->sa_handler) return Napi::Boolean::New(info.Env(), false);
  ::sigaction(SIGTERM, &*kept, nullptr);
  return Napi::Boolean::New(info.Env(), true);
}

/// exitNow(code): flushes C stdio and ends the process at once (_Exit). On a push platform
/// Node's own exit would join libuv's worker threads, one of which waits in the server's next()
/// for an invocation that never comes: process.exit() would hang until SIGKILL.
Napi::Value exit_now(const Napi::CallbackInfo& info) {
  const int code =
      info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  std::fflush(nullptr);
  std::_Exit(code);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  install_invocation_factory(env);
  exports.Set("onShutdown", Napi::Function::New(env, on_shutdown, "onShutdown"));
  exports.Set("onPreFreeze", Napi::Function::New(env, on_pre_freeze, "onPreFreeze"));
  exports.Set("keepSignals", Napi::Function::New(env, keep_signals, "keepSignals"));
  exports.Set("exitNow", Napi::Function::New(env, exit_now, "exitNow"));
  exports.Set("platform", Napi::Function::New(env, platform, "platform"));
  exports.Set("Client", client::define(env));
  exports.Set("version", Napi::String::New(env, LAMELLA_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(lamella, init)
