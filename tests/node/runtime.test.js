// lib/runtime.js: the Runtime class driven with a fake client in place of the addon, for the AWS
// Node runtime's completion semantics: promise vs callback, the first completion wins, callbacks
// wait for the event loop to drain, and what a drained loop decides. The "loop drained" moment
// ('beforeExit' in a real process) is played by calling runtime.onEmptyLoop() directly.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Runtime } = require('../../bindings/node/lib/runtime');

const FIXTURES = path.join(__dirname, 'fixtures');
const ENV = {
  AWS_LAMBDA_FUNCTION_NAME: 'fn-under-test',
  AWS_LAMBDA_FUNCTION_VERSION: '7',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn-under-test',
  AWS_LAMBDA_LOG_STREAM_NAME: 'stream',
};

/**
 * The addon's Client, faked: next() hands out nothing (a promise that stays pending, as a
 * long-poll would) and counts the calls; every post is recorded in `calls`. `nextAsked`
 * resolves when the runtime asks for the next invocation, i.e. once it is done with this one.
 */
class FakeClient {
  constructor() {
    this.calls = [];
    this.nextCount = 0;
    this.nextAsked = new Promise((resolve) => {
      this.onNext = resolve;
    });
  }
  next() {
    this.nextCount += 1;
    this.onNext();
    return new Promise(() => {});
  }
  postResponse(id, body, contentType = 'application/json') { // the addon's default
    this.calls.push(['response', id, body, contentType]);
  }
  postError(id, type, body) {
    this.calls.push(['error', id, type, JSON.parse(body)]);
  }
  postInitError(type, body) {
    this.calls.push(['initError', type, JSON.parse(body)]);
  }
  streamBegin(id, contentType) {
    this.calls.push(['streamBegin', id, contentType]);
  }
  streamWrite(bytes) {
    this.calls.push(['streamWrite', Buffer.from(bytes).toString()]);
  }
  streamFinish() {
    this.calls.push(['streamFinish']);
  }
  streamFail(type, body) {
    this.calls.push(['streamFail', type, JSON.parse(body)]);
  }
}

/** A recorded JSON response post. */
const response = (id, body) => ['response', id, body, 'application/json'];

let sequence = 0;
/** An invocation as the addon's next() delivers it. */
function invocation(event = {}, extra = {}) {
  sequence += 1;
  return {
    requestId: `req-${sequence}`,
    payload: JSON.stringify(event),
    deadlineMs: Date.now() + 60000,
    functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn-under-test',
    traceId: '',
    clientContext: '',
    cognitoIdentity: '',
    tenantId: '',
    ...extra,
  };
}

/** A runtime over a fake client with fixtures/handlers.js `name` loaded; console.error muted. */
async function runtimeFor(t, name) {
  t.mock.method(console, 'error', () => {});
  t.mock.method(console, 'warn', () => {});
  const client = new FakeClient();
  const runtime = new Runtime(client, { ...ENV });
  await runtime.init(FIXTURES, `handlers.${name}`);
  return { runtime, client };
}

/** Serves one invocation and waits until the runtime is done with it. */
async function serveOne(t, name, event) {
  const { runtime, client } = await runtimeFor(t, name);
  const inv = invocation(event);
  runtime.serve(inv);
  await client.nextAsked;
  return { runtime, client, id: inv.requestId };
}

test('an async handler: the resolved value is the JSON response', async (t) => {
  const { client, id } = await serveOne(t, 'asyncValue', { a: [1, 'b'] });
  assert.deepEqual(client.calls, [response(id, '{"got":{"a":[1,"b"]}}')]);
  assert.equal(client.nextCount, 1);
});

test('a handler returning a promise: the settled value is the response', async (t) => {
  const { client, id } = await serveOne(t, 'promiseValue', 3);
  assert.deepEqual(client.calls, [response(id, '{"promised":3}')]);
});

test('a callback result waits for the event loop to drain before it is posted', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'callbackResult');
  const inv = invocation();
  runtime.serve(inv);
  await new Promise(setImmediate); // let every pending promise job run
  assert.deepEqual(client.calls, []);
  assert.equal(client.nextCount, 0);
  runtime.onEmptyLoop();
  assert.deepEqual(client.calls, [response(inv.requestId, '{"style":"callback"}')]);
  assert.equal(client.nextCount, 1);
  assert.equal(runtime.onEmptyLoop, null);
});

test('callbackWaitsForEmptyEventLoop = false posts the callback result at once', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'callbackNoWait');
  const inv = invocation();
  runtime.serve(inv);
  assert.deepEqual(client.calls, [response(inv.requestId, '"right away"')]);
  assert.equal(client.nextCount, 1);
});

test('a callback error is posted at once, without waiting for the loop', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'callbackError');
  const inv = invocation();
  runtime.serve(inv);
  assert.equal(client.calls.length, 1);
  const [kind, id, type, body] = client.calls[0];
  assert.deepEqual([kind, id, type], ['error', inv.requestId, 'RangeError']);
  assert.equal(body.errorMessage, 'bad callback');
  assert.equal(body.trace[0], 'RangeError: bad callback');
  // Logged as the AWS runtime logs it.
  assert.equal(console.error.mock.calls[0].arguments[0], 'Invoke Error');
});

test('the callback came first: it wins, though its post waits for the loop', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'callbackThenPromise');
  const inv = invocation();
  runtime.serve(inv);
  await new Promise(setImmediate); // the returned promise has resolved by now
  assert.deepEqual(client.calls, []);
  runtime.onEmptyLoop();
  assert.deepEqual(client.calls, [response(inv.requestId, '"from callback"')]);
});

test('the promise came first: a later callback call changes nothing', async (t) => {
  const { runtime, client, id } = await serveOne(t, 'promiseThenCallback');
  assert.deepEqual(client.calls, [response(id, '"from promise"')]);
  const { probe } = require('./fixtures/handlers');
  probe.callback(null, 'late');
  probe.callback(new Error('late error'));
  assert.equal(runtime.onEmptyLoop, null);
  assert.equal(client.calls.length, 1);
  assert.equal(client.nextCount, 1);
});

test('context.succeed, fail and done complete the invocation', async (t) => {
  const succeed = await serveOne(t, 'succeed');
  assert.deepEqual(succeed.client.calls, [response(succeed.id, '{"via":"succeed"}')]);
  const fail = await serveOne(t, 'fail');
  assert.deepEqual(fail.client.calls[0].slice(0, 3), ['error', fail.id, 'TypeError']);
  const doneError = await serveOne(t, 'doneError');
  assert.deepEqual(doneError.client.calls[0].slice(0, 3), ['error', doneError.id, 'string']);
  assert.equal(doneError.client.calls[0][3].errorMessage, 'done error');
  const doneResult = await serveOne(t, 'doneResult');
  assert.deepEqual(doneResult.client.calls, [response(doneResult.id, '"done result"')]);
});

test('a thrown error and a rejection with undefined are function errors', async (t) => {
  const thrown = await serveOne(t, 'throws');
  assert.deepEqual(thrown.client.calls[0].slice(0, 3), ['error', thrown.id, 'SyntaxError']);
  assert.equal(thrown.client.calls[0][3].errorMessage, 'thrown');
  const rejected = await serveOne(t, 'rejectsUndefined');
  assert.deepEqual(rejected.client.calls[0].slice(0, 3), ['error', rejected.id, 'string']);
  assert.equal(rejected.client.calls[0][3].errorMessage, 'handled');
});

test('a result JSON cannot represent is an error, not a crash', async (t) => {
  const { client, id } = await serveOne(t, 'cyclic');
  assert.deepEqual(client.calls[0].slice(0, 3), ['error', id, 'Error']);
  assert.equal(client.calls[0][3].errorMessage, 'Unable to stringify response body');
});

test('the loop drains with an async handler pending: Runtime.NodeJsExit', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'neverSettles');
  const inv = invocation();
  runtime.serve(inv);
  await new Promise(setImmediate);
  assert.deepEqual(client.calls, []);
  runtime.onEmptyLoop();
  assert.deepEqual(client.calls[0].slice(0, 3), ['error', inv.requestId, 'Runtime.NodeJsExit']);
  assert.equal(client.calls[0][3].errorMessage, 'Runtime exited without providing a reason');
});

test('the loop drains with a plain handler that never called back: null', async (t) => {
  for (const name of ['neverCallsBack', 'syncValueIgnored']) {
    const { runtime, client } = await runtimeFor(t, name);
    const inv = invocation();
    runtime.serve(inv);
    await new Promise(setImmediate);
    assert.deepEqual(client.calls, [], name);
    runtime.onEmptyLoop();
    assert.deepEqual(client.calls, [response(inv.requestId, 'null')], name);
  }
});

test('the context carries the environment and the invocation', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'context');
  const inv = invocation(
    {},
    {
      clientContext: '{"custom":{"k":"v"}}',
      cognitoIdentity: '{"cognitoIdentityId":"id-1"}',
      tenantId: 'tenant-4',
      traceId: 'Root=1-abc;Sampled=1',
    },
  );
  runtime.serve(inv);
  await client.nextAsked;
  assert.deepEqual(JSON.parse(client.calls[0][2]), {
    functionName: 'fn-under-test',
    functionVersion: '7',
    memoryLimitInMB: '512',
    awsRequestId: inv.requestId,
    invokedFunctionArn: inv.functionArn,
    clientContext: { custom: { k: 'v' } },
    identity: { cognitoIdentityId: 'id-1' },
    tenantId: 'tenant-4',
    remainingPositive: true,
    waits: true,
  });
  assert.equal(runtime.env._X_AMZN_TRACE_ID, 'Root=1-abc;Sampled=1');
});

test('a streaming handler writes through the client: begin, bytes, finish', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'streams');
  const inv = invocation({ n: 5 });
  runtime.serve(inv);
  await client.nextAsked;
  assert.deepEqual(client.calls, [
    ['streamBegin', inv.requestId, 'text/plain'],
    ['streamWrite', 'got 5'],
    ['streamFinish'],
  ]);
});

test('a streaming handler failing after a write ends the stream with the error', async (t) => {
  const { runtime, client } = await runtimeFor(t, 'streamsThenThrows');
  const inv = invocation();
  runtime.serve(inv);
  await client.nextAsked;
  assert.deepEqual(client.calls.slice(0, 2), [
    ['streamBegin', inv.requestId, 'application/octet-stream'],
    ['streamWrite', 'part'],
  ]);
  assert.equal(client.calls.length, 3);
  assert.deepEqual(client.calls[2].slice(0, 2), ['streamFail', 'Error']);
  assert.equal(client.calls[2][2].errorMessage, 'mid-stream');
});
