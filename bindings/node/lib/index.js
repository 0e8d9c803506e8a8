// The lamella-node package's library entry: the runtime (for embedding and tests) and the
// streaming helpers, so that handler code can be unit-tested outside a platform.
'use strict';

const runtime = require('./runtime');

module.exports = {
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
