// lamella's Node.js runtime: loads the handler, then serves invocations from the Runtime API
// through the C++ client in lamella.node, with the AWS Node runtime's semantics:
//   - async handlers and handlers returning a promise: the settled value is the response;
//   - callback handlers `(event, context, callback)`: with context.callbackWaitsForEmptyEventLoop
//     (the default) the response is posted once the event loop has drained ('beforeExit'),
//     otherwise at once; context.succeed/fail/done; the first completion wins;
//   - a handler that lets the event loop drain without completing: an async one fails with
//     Runtime.NodeJsExit, any other succeeds with null;
//   - streaming handlers (awslambda.streamifyResponse) write to a response stream;
//   - an uncaught exception or unhandled rejection fails the current invocation (or init) and
//     exits the process (129 / 128), so the platform starts a fresh one.
'use strict';

const path = require('path');
const errors = require('./errors');
const logging = require('./logging');

const EXIT_UNCAUGHT = 129;
// The runtimes serving in this process: one, or `concurrency` on a push platform.
const active = [];
let beforeExitInstalled = false;
const EXIT_UNHANDLED_REJECTION = 128;

/** The `awslambda` global the AWS runtime provides (unless AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA). */
function installGlobals(env) {
  const off = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  const streaming = () => require('./streaming');
  globalThis.awslambda = {
    streamifyResponse: (handler, options) => streaming().streamifyResponse(handler, options),
    get HttpResponseStream() {
      return streaming().HttpResponseStream;
    },
  };
}

function parseJsonHeader(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (_) {
    return undefined;
  }
}

/**
 * Push platforms: the runtimes (slots) of one process take their invocations from the in-process
 * server without a thread each. A free runtime polls; when nothing is queued the server wakes the
 * event loop once something is (a thread-safe function), and the free runtimes take what is
 * queued in that one turn. While every runtime is free the wait keeps the event loop alive (as a
 * pending `next()` does on Lambda); while one is busy it does not, so that the loop can still
 * drain ('beforeExit') for callbackWaitsForEmptyEventLoop and for handlers that never complete.
 */
class Feed {
  /**
   * @param client the addon's Client used for polling only
   * @param size how many runtimes take from this feed
   */
  constructor(client, size) {
    this.client = client;
    this.size = size;
    this.idle = [];
    this.draining = false;
    this.holding = true;
    client.onReady(() => this.drain());
  }

  /** `runtime` is free: it serves the next invocation, now or once one is queued. */
  free(runtime) {
    this.idle.push(runtime);
    this.drain();
  }

  /** Gives queued invocations to free runtimes (never re-entered: a handler that completes at
   * once frees its runtime into the loop below instead of recursing). */
  drain() {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.idle.length > 0) {
        const inv = this.client.pollNext(this.idle.length);
        if (inv === null) break;
        this.idle.pop().serve(inv);
      }
    } catch (e) {
      this.idle[0]?.fatal(e);
    } finally {
      this.draining = false;
    }
    const hold = this.idle.length === this.size;
    if (hold !== this.holding) {
      this.holding = hold;
      this.client.holdLoop(hold);
    }
  }
}

class Runtime {
  /**
   * @param client the addon's Client (or a test double with the same methods)
   * @param env the environment (process.env)
   */
  constructor(client, env = process.env) {
    this.client = client;
    this.env = env;
    this.handler = null;
    this.isAsync = false;
    this.streaming = null; // {highWaterMark} for a streaming handler
    this.current = null; // the invocation in progress: {id, done, ...}
    this.onEmptyLoop = null; // what 'beforeExit' does for the current invocation
    this.textLogs = !logging.jsonFormat(env);
    // Environment data shared by every context object.
    this.envData = {
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    };
    this.feed = null; // push platforms: where this runtime takes its invocations (Feed)
    this.next = this.next.bind(this);
    this.serve = this.serve.bind(this);
    this.fatal = this.fatal.bind(this);
  }

  /** Logs an invocation error as the AWS runtime does ("Invoke Error" + JSON, or the Error). */
  logError(label, error) {
    if (this.textLogs) console.error(label, errors.toLogText(errors.intoError(error)));
    else console.error(errors.intoError(error));
  }

  /** Loads the handler; on failure reports it to /runtime/init/error and exits. */
  async init(appRoot, handlerName) {
    try {
      this.handler = await require('./loader').loadHandler(appRoot, handlerName);
      this.isAsync = this.handler.constructor?.name === 'AsyncFunction';
      const marked = this.handler[Symbol.for('aws.lambda.runtime.handler.streaming')];
      if (marked !== undefined && marked !== null && marked !== false) {
        this.streaming = require('./streaming').streamingMetadata(this.handler);
      }
    } catch (e) {
      this.initFailed(e, EXIT_UNCAUGHT);
    }
  }

  /** Posts an init failure and exits with `code`. */
  initFailed(error, code) {
    this.logError('Init Error', error);
    const body = errors.toErrorResponse(error);
    try {
      this.client.postInitError(String(body.errorType), JSON.stringify(body));
    } catch (e) {
      process.stderr.write(`lamella: could not report the init error: ${e.message}\n`);
    }
    process.exit(code);
  }

  /** Starts serving: asks for the next invocation. */
  start() {
    active.push(this);
    if (!beforeExitInstalled) {
      beforeExitInstalled = true;
      process.on('beforeExit', () => {
        for (const runtime of active) {
          const action = runtime.onEmptyLoop;
          runtime.onEmptyLoop = null;
          if (action !== null) action();
        }
      });
    }
    this.next();
  }

  /** Serves with the handler another runtime of this process loaded (instance concurrency). */
  adopt(loaded) {
    this.handler = loaded.handler;
    this.isAsync = loaded.isAsync;
    this.streaming = loaded.streaming;
  }

  next() {
    if (this.feed !== null) this.feed.free(this);
    else this.client.next().then(this.serve, this.fatal);
  }

  /** The platform is gone (after the client's retries): say so and exit. */
  fatal(error) {
    process.stderr.write(`lamella: exiting: ${error && error.message}\n`);
    process.exit(1);
  }

  /** Builds the context object for `inv`, with the first-call-wins completion functions. */
  context(inv, invocation) {
    const ctx = {
      functionName: this.envData.functionName,
      functionVersion: this.envData.functionVersion,
      invokedFunctionArn: inv.functionArn,
      memoryLimitInMB: this.envData.memoryLimitInMB,
      awsRequestId: inv.requestId,
      logGroupName: this.envData.logGroupName,
      logStreamName: this.envData.logStreamName,
      identity: parseJsonHeader(inv.cognitoIdentity),
      clientContext: parseJsonHeader(inv.clientContext),
      tenantId: inv.tenantId || undefined,
      // lamella's own: platform context (CloudEvent attributes, FC metadata), undefined on Lambda.
      platform: parseJsonHeader(inv.platformContext),
      getRemainingTimeInMillis: () => inv.deadlineMs - Date.now(),
      callbackWaitsForEmptyEventLoop: true,
      succeed: (result) => invocation.complete(null, result),
      fail: (error) => invocation.complete(error ?? 'handled'),
      done: (error, result) => invocation.complete(error, result),
    };
    return ctx;
  }

  /** Runs the handler for one invocation. */
  serve(inv) {
    logging.runWithInvocation(inv.requestId, inv.tenantId, () => this.serveOne(inv));
  }

  serveOne(inv) {
    const id = inv.requestId;
    if (inv.traceId) this.env._X_AMZN_TRACE_ID = inv.traceId;
    // Reading process.env costs half of deleting from it (which rewrites the C environment).
    else if (this.env._X_AMZN_TRACE_ID !== undefined) delete this.env._X_AMZN_TRACE_ID;
    if (this.streaming !== null) {
      this.serveStreaming(inv);
      return;
    }
    // `claimed`: some completion (callback, succeed/fail/done, the returned promise) was
    // called; the first one wins, even when its post waits for the event loop to drain.
    // `finished`: the outcome is posted (or being posted).
    const invocation = { id, claimed: false, finished: false, complete: null };
    this.current = invocation;
    const post = (error, result) => {
      if (invocation.finished) return;
      invocation.finished = true;
      this.onEmptyLoop = null;
      this.finish(invocation, error, result);
    };
    invocation.complete = (error, result) => {
      if (invocation.claimed) return;
      invocation.claimed = true;
      post(error, result);
    };
    const ctx = this.context(inv, invocation);
    const callback = (error, result) => {
      if (invocation.claimed) return;
      invocation.claimed = true;
      if ((error === undefined || error === null) && ctx.callbackWaitsForEmptyEventLoop) {
        // Post once the event loop has drained (timers, sockets the handler left running).
        this.onEmptyLoop = () => post(null, result);
        return;
      }
      post(error, result);
    };
    // A handler that never completes: the loop drains, and this decides.
    this.onEmptyLoop = this.isAsync
      ? () => post(new errors.NodeJsExit('Runtime exited without providing a reason'))
      : () => post(null, null);
    try {
      const result = this.handler(JSON.parse(inv.payload), ctx, callback);
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        result.then(
          (value) => invocation.complete(null, value),
          (error) => invocation.complete(error === undefined || error === null ? 'handled' : error),
        );
      }
    } catch (e) {
      invocation.complete(e);
    }
  }

  /** Posts the outcome of `invocation` and asks for the next one. */
  finish(invocation, error, result) {
    if (this.current === invocation) this.current = null;
    try {
      if (error !== undefined && error !== null) {
        this.postError(invocation.id, error);
      } else {
        let body;
        try {
          // JSON.stringify of undefined, a function or a symbol gives undefined: post null.
          body = JSON.stringify(result === undefined ? null : result) ?? 'null';
        } catch (_) {
          body = undefined;
        }
        if (body === undefined) {
          this.postError(invocation.id, new Error('Unable to stringify response body'));
        } else {
          this.client.postResponse(invocation.id, body); // the addon's default: application/json
        }
      }
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.next();
  }

  postError(id, error) {
    this.logError('Invoke Error', error);
    const body = errors.toErrorResponse(error);
    this.client.postError(id, String(body.errorType), JSON.stringify(body));
  }

  /** Runs a streaming handler: `handler(event, responseStream, context)` returning a promise. */
  serveStreaming(inv) {
    const { ResponseStream } = require('./streaming');
    const id = inv.requestId;
    const invocation = { id, finished: false, complete: null };
    this.current = invocation;
    const client = this.client;
    const stream = new ResponseStream(
      {
        begin: (contentType) => client.streamBegin(id, contentType),
        write: (bytes) => client.streamWrite(bytes),
        finish: () => client.streamFinish(),
        fail: (type, json) => client.streamFail(type, json),
      },
      { highWaterMark: this.streaming.highWaterMark },
    );
    const done = (error) => {
      if (invocation.finished) return;
      invocation.finished = true;
      this.onEmptyLoop = null;
      if (this.current === invocation) this.current = null;
      try {
        if (error !== undefined) {
          this.logError('Invoke Error', error);
          const body = errors.toErrorResponse(error);
          if (!stream.begun) {
            client.postError(id, String(body.errorType), JSON.stringify(body));
          } else if (!stream.closed) {
            // Bytes already went out: the error travels in the stream's trailers.
            stream._fail(String(body.errorType), JSON.stringify(body));
          }
          // Else the whole response already went out: the error can only be logged.
        }
      } catch (e) {
        this.fatal(e);
        return;
      }
      this.next();
    };
    // A failed write (the platform connection broke) ends the invocation with that error.
    stream.on('error', (e) => done(e));
    invocation.complete = (error) => done(error);
    // The loop drained while the handler was still pending: end what it left open.
    this.onEmptyLoop = () => done(new errors.NodeJsExit('Runtime exited without providing a reason'));
    const ctx = this.context(inv, invocation);
    let pending;
    try {
      pending = this.handler(JSON.parse(inv.payload), stream, ctx);
    } catch (e) {
      done(e);
      return;
    }
    if (pending === null || typeof pending !== 'object' || typeof pending.then !== 'function') {
      done(new errors.MalformedStreamingHandler('Streaming does not support non-async handlers.'));
      return;
    }
    pending.then(
      (value) => {
        if (value !== undefined) console.warn('Streaming handlers ignore return values.');
        if (stream.writableFinished) return done(undefined);
        if (stream.writableEnded) {
          stream.once('finish', () => done(undefined));
          return undefined;
        }
        return done(new errors.InvalidStreamingOperation('Response stream is not finished.'));
      },
      (error) => done(error ?? 'handled'),
    );
  }

  /** Handlers for errors nobody caught: fail the current invocation (or init), then exit. */
  installFatalHandlers() {
    const fail = (label, error, code) => {
      this.logError(label, error);
      if (this.handler === null) {
        this.initFailed(error, code);
        return;
      }
      // Which invocation threw is unknown when several run at once: each one in flight fails.
      for (const runtime of active.length > 0 ? active : [this]) {
        const invocation = runtime.current;
        if (invocation === null || invocation.finished) continue;
        invocation.finished = true;
        const body = errors.toErrorResponse(error);
        try {
          runtime.client.postError(invocation.id, String(body.errorType), JSON.stringify(body));
        } catch (e) {
          process.stderr.write(`lamella: could not report the error: ${e.message}\n`);
        }
      }
      process.exit(code);
    };
    process.on('uncaughtException', (error) => fail('Uncaught Exception', error, EXIT_UNCAUGHT));
    process.on('unhandledRejection', (reason) =>
      fail(
        'Unhandled Promise Rejection',
        new errors.UnhandledPromiseRejection(reason),
        EXIT_UNHANDLED_REJECTION,
      ),
    );
  }
}

/**
 * Lets the function `require('lamella')` (or 'lamella-node') for the hooks API: when Node's own
 * resolution finds no such package, the name resolves to this package's lib/index.js. (ES
 * modules resolve bare names without this hook: they use `createRequire(import.meta.url)`.)
 */
function exposePackage() {
  const Module = require('module');
  const own = path.join(__dirname, 'index.js');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function resolveFilename(request, ...rest) {
    try {
      return resolve.call(this, request, ...rest);
    } catch (e) {
      if ((request === 'lamella' || request === 'lamella-node') && e && e.code === 'MODULE_NOT_FOUND') {
        return own;
      }
      throw e;
    }
  };
}

/**
 * Push platforms: process.exit() (a fatal error, a SIGTERM listener, the function's own) ends the
 * process once the 'exit' listeners ran, without Node's own teardown, which joins libuv's worker
 * threads: the in-process server keeps one waiting for the next invocation, and the exit would
 * hang until the platform's SIGKILL.
 */
function exitPromptly(native) {
  process.reallyExit = (code) => native.exitNow(code ?? 0);
}

/** The addon: LAMELLA_NODE_ADDON if set, else lamella.node at the package root. */
function loadAddon(env) {
  return require(env.LAMELLA_NODE_ADDON || path.join(__dirname, '..', 'lamella.node'));
}

/**
 * The entry point: `handlerName` (argv or _HANDLER) under `appRoot` (LAMBDA_TASK_ROOT or the
 * working directory), served from AWS_LAMBDA_RUNTIME_API (or SCF_RUNTIME_API on Tencent SCF).
 */
async function main(argv = process.argv.slice(2), env = process.env) {
  const handlerName = argv[0] || env._HANDLER || '';
  const appRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const native = loadAddon(env);
  // The platform (lamella/platform.h's rule, the same in every process): the client finds its
  // endpoint or starts the in-process push server itself.
  let platform;
  try {
    platform = native.platform();
  } catch (e) {
    process.stderr.write(
      `lamella-node: ${e.message} (this program is started by a platform or by \`lamella serve\`)\n`,
    );
    process.exit(1);
  }
  const count = platform.push ? Math.max(1, platform.concurrency) : 1;
  const runtimes = [];
  for (let i = 0; i < count; i += 1) runtimes.push(new Runtime(new native.Client(''), env));
  if (platform.push) {
    const feed = new Feed(new native.Client(''), count);
    for (const runtime of runtimes) runtime.feed = feed;
  }
  // The hooks API (lib/hooks.js) registers with this addon, whose server runs the hooks.
  const hooks = require('./hooks');
  globalThis[hooks.NATIVE] = native;
  exposePackage();
  // On a push platform the clients started the server, which now owns SIGTERM.
  const afterInit = platform.push ? hooks.bridgeSigterm(native) : null;
  if (platform.push) exitPromptly(native);
  if (count > 1) logging.enableConcurrentInvocations();
  logging.patchConsole(env);
  installGlobals(env);
  const first = runtimes[0];
  first.installFatalHandlers();
  await first.init(appRoot, handlerName);
  if (afterInit !== null) afterInit();
  for (const runtime of runtimes) {
    if (runtime !== first) runtime.adopt(first);
    runtime.start();
  }
}

module.exports = { main, Runtime, Feed, installGlobals, loadAddon, exposePackage };
