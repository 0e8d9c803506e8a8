// The lamella-node package's library entry: lifecycle hooks for handlers (`require('lamella')`
// inside a function lamella runs), the runtime (for embedding and tests) and the streaming
// helpers, so that handler code can be unit-tested outside a platform.
'use strict';

const runtime = require('./runtime');
const hooks = require('./hooks');

module.exports = {
  /** Registers fn (may be async) to run once when the environment shuts down; returns fn. */
  onShutdown: hooks.onShutdown,
  /** Registers fn (may be async) to run on each FC pre-freeze; returns fn. */
  onPreFreeze: hooks.onPreFreeze,
  /** Runs the runtime as bin/lamella-node.js does. */
  main: runtime.main,
  /** The runtime class (takes a client with the addon's interface). */
  Runtime: runtime.Runtime,
  get streamifyResponse() {
    return require('./streaming').streamifyResponse;
  },
  get HttpResponseStream() {
    return require('./streaming').HttpResponseStream;
  },
};
