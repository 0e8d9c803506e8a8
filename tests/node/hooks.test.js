// lib/hooks.js: onShutdown/onPreFreeze register with the addon the running runtime left on
// globalThis (faked here), wrapped so that a failure is logged and then fails the hook; the
// SIGTERM bridge keeps the push server's signal handling and runs the process's 'SIGTERM'
// listeners as a hook; and `require('lamella')` resolves inside a function lamella runs.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const hooks = require('../../bindings/node/lib/hooks');

/** The addon's hook interface, faked: records what is registered and each keepSignals(). */
function fakeAddon() {
  return {
    shutdown: [],
    preFreeze: [],
    kept: 0,
    onShutdown(fn) {
      this.shutdown.push(fn);
    },
    onPreFreeze(fn) {
      this.preFreeze.push(fn);
    },
    keepSignals() {
      this.kept += 1;
      return false;
    },
  };
}

function withAddon(t, addon) {
  globalThis[hooks.NATIVE] = addon;
  t.after(() => {
    delete globalThis[hooks.NATIVE];
  });
}

test('hooks register with the running addon and return the function', async (t) => {
  const addon = fakeAddon();
  withAddon(t, addon);
  const order = [];
  const first = () => order.push('first');
  const second = async () => order.push('second');
  assert.equal(hooks.onShutdown(first), first);
  assert.equal(hooks.onPreFreeze(second), second);
  assert.equal(addon.shutdown.length, 1);
  assert.equal(addon.preFreeze.length, 1);
  // What the addon calls always returns a promise, which settles when the hook is done.
  await addon.shutdown[0]();
  await addon.preFreeze[0]();
  assert.deepEqual(order, ['first', 'second']);
});

test('a throwing or rejecting hook is logged, then rejects', async (t) => {
  const addon = fakeAddon();
  withAddon(t, addon);
  const logged = [];
  t.mock.method(console, 'error', (...args) => logged.push(args.join(' ')));
  hooks.onShutdown(() => {
    throw new Error('sync-broke');
  });
  hooks.onPreFreeze(async () => {
    throw new TypeError('async-broke');
  });
  await assert.rejects(addon.shutdown[0](), /sync-broke/);
  await assert.rejects(addon.preFreeze[0](), /async-broke/);
  assert.match(logged[0], /^Shutdown Hook Error .*sync-broke/);
  assert.match(logged[1], /^Pre-freeze Hook Error .*async-broke/);
});

test('a hook must be a function', () => {
  assert.throws(() => hooks.onShutdown('nope'), TypeError);
  assert.throws(() => hooks.onPreFreeze(undefined), TypeError);
});

test('outside a lamella runtime hooks are kept and never run', (t) => {
  delete globalThis[hooks.NATIVE];
  const fn = () => {
    throw new Error('must not run');
  };
  assert.equal(hooks.onShutdown(fn), fn);
  assert.equal(hooks.unattached.at(-1).fn, fn);
});

test('the SIGTERM bridge keeps the server handler and runs the listeners as the last hook', async (t) => {
  const addon = fakeAddon();
  const afterInit = hooks.bridgeSigterm(addon);
  const heard = [];
  const listener = async (signal) => {
    await new Promise((resolve) => setImmediate(resolve));
    heard.push(signal);
  };
  t.after(() => process.removeListener('SIGTERM', listener));
  const before = addon.kept;
  process.on('SIGTERM', listener);
  assert.equal(addon.kept, before + 1, 'adding a SIGTERM listener puts the server handler back');
  process.on('SIGUSR2', () => {});
  process.removeAllListeners('SIGUSR2');
  assert.equal(addon.kept, before + 1, 'other signals are left alone');
  afterInit();
  assert.equal(addon.shutdown.length, 1);
  await addon.shutdown[0]();
  assert.deepEqual(heard, ['SIGTERM'], 'the listener ran, and was awaited');
});

test("require('lamella') resolves to this package inside a lamella runtime", () => {
  const { exposePackage } = require('../../bindings/node/lib/runtime');
  exposePackage();
  const lamella = require('lamella');
  assert.equal(lamella, require('../../bindings/node/lib/index'));
  assert.equal(typeof lamella.onShutdown, 'function');
  assert.equal(typeof lamella.onPreFreeze, 'function');
});

test('the ES module entry exports the hooks', async () => {
  const esm = await import('../../bindings/node/lib/index.mjs');
  assert.equal(esm.onShutdown, hooks.onShutdown);
  assert.equal(esm.default.onPreFreeze, hooks.onPreFreeze);
});
