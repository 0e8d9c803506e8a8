// Lifecycle hooks for Node handlers: `onShutdown(fn)` and `onPreFreeze(fn)` register `fn` in
// lamella's C++ hook registry (lamella/lifecycle.h) through the addon the running runtime
// loaded, so that JS, C++ (and any other language in the process) hooks run in one order. The
// push server runs them on its hook thread, which calls `fn` on the JS thread and waits for its
// promise (bounded by the platform's shutdown grace).
'use strict';

const errors = require('./errors');
const logging = require('./logging');

// Where runtime.js leaves the addon it serves with: a second copy of this package (a function's
// own node_modules) must register with the same addon, whose server runs the hooks.
const NATIVE = Symbol.for('lamella.native');

// Hooks registered where no lamella runtime runs (a unit test of handler code): kept, never run.
const unattached = [];

function native() {
  return globalThis[NATIVE] ?? null;
}

/** Logs a failed hook as the runtime logs errors (text or JSON). */
function logHookError(label, error) {
  if (logging.jsonFormat(process.env)) console.error(errors.intoError(error));
  else console.error(label, errors.toLogText(errors.intoError(error)));
}

/** `fn` as the addon calls it: awaited; a throw or rejection is logged, then fails the hook. */
function logged(fn, label) {
  return async () => {
    try {
      await fn();
    } catch (e) {
      logHookError(label, e);
      throw e;
    }
  };
}

function register(kind, fn, label) {
  if (typeof fn !== 'function') throw new TypeError(`lamella: ${kind} needs a function`);
  const addon = native();
  if (addon === null) unattached.push({ kind, fn });
  else addon[kind](logged(fn, label));
  return fn;
}

/**
 * Registers `fn` (may be async) to run once when the environment shuts down: on SIGTERM after
 * the invocations in flight finished, or on FC's GET /pre-stop. Returns `fn`.
 */
function onShutdown(fn) {
  return register('onShutdown', fn, 'Shutdown Hook Error');
}

/** Registers `fn` (may be async) to run on each FC GET /pre-freeze. Returns `fn`. */
function onPreFreeze(fn) {
  return register('onPreFreeze', fn, 'Pre-freeze Hook Error');
}

/**
 * Push platforms: the in-process server owns SIGTERM (drain, hooks, exit 0). Listeners a
 * function adds with process.on('SIGTERM') would take the signal from it (libuv installs its own
 * handler), so lamella puts the server's back whenever one is added or removed, and runs the
 * listeners as the last shutdown hook instead, after the invocations in flight finished.
 * Call once the server runs and before the handler loads; `afterInit` once it loaded.
 */
function bridgeSigterm(addon) {
  addon.keepSignals(); // remembers the server's handler
  const keep = (event) => {
    if (event === 'SIGTERM') addon.keepSignals();
  };
  // Node's own listeners (which start and stop libuv's handler) were added at bootstrap, so
  // these run after them.
  process.on('newListener', keep);
  process.on('removeListener', keep);
  return function afterInit() {
    addon.keepSignals();
    addon.onShutdown(
      logged(async () => {
        for (const listener of process.listeners('SIGTERM')) {
          await listener.call(process, 'SIGTERM');
        }
      }, 'SIGTERM Listener Error'),
    );
  };
}

module.exports = { onShutdown, onPreFreeze, bridgeSigterm, NATIVE, unattached };
