// CommonJS handlers for tests/integration/node_runtime_test.cpp, one per behaviour.
'use strict';

const started = Date.now();
let count = 0;
let initRuns = (globalThis.__lamellaInitRuns = (globalThis.__lamellaInitRuns || 0) + 1);

class ValidationError extends Error {}
ValidationError.prototype.name = 'ValidationError';

exports.echo = async (event) => event;

exports.counter = async () => {
  count += 1;
  return { count, initRuns, pid: process.pid, startedAt: started };
};

// Not async: returns a promise, which is its result.
exports.promise = (event) => new Promise((resolve) => setTimeout(() => resolve({ got: event }), 1));

exports.context = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  identity: context.identity ?? null,
  clientContext: context.clientContext ?? null,
  tenantId: context.tenantId ?? null,
  remaining: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
  traceEnv: process.env._X_AMZN_TRACE_ID ?? null,
});

// Callback style. The timer runs after the callback; by default the response waits for it.
exports.callback = (event, context, callback) => {
  setTimeout(() => console.log('timer after callback ran'), 20);
  callback(null, { style: 'callback' });
};

// Same, but not waiting: the response goes at once and the timer fires later.
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late timer ran'), 3000).unref();
  callback(null, { style: 'no-wait' });
};

exports.callbackError = (event, context, callback) => callback(new ValidationError('bad callback'));

exports.succeed = (event, context) => {
  context.succeed({ via: 'succeed' });
  context.fail(new Error('second completion is ignored'));
};

exports.firstWins = async (event, context, callback) => {
  callback(null, 'from callback');
  return 'from promise';
};

exports.throws = async (event) => {
  throw new ValidationError(`bad input: ${event.x}`);
};

exports.rejects = () => Promise.reject(new TypeError('rejected'));

exports.throwsString = () => {
  throw 'just a string'; // eslint-disable-line no-throw-literal
};

exports.throwsObject = async () => {
  throw { reason: 42 }; // eslint-disable-line no-throw-literal
};

// Async and never settles, with nothing left on the event loop.
exports.neverSettles = async () => new Promise(() => {});

// Not async, never calls back: succeeds with null once the loop drains.
exports.neverCallsBack = (event, context, callback) => {}; // eslint-disable-line no-unused-vars

exports.uncaught = async () => {
  setImmediate(() => {
    throw new RangeError('thrown from a timer');
  });
  return new Promise(() => {});
};

exports.unhandledRejection = async () => {
  Promise.reject(new Error('nobody handles me'));
  return new Promise(() => {});
};

exports.badJson = async () => {
  const cycle = {};
  cycle.self = cycle;
  return cycle;
};

exports.undefinedResult = async () => undefined;

exports.log = async (event, context) => {
  console.log('info line', { a: 1 });
  console.debug('debug line');
  console.warn('warn line\nsecond');
  console.error('error line', new Error('logged error'));
  return { logged: context.awsRequestId };
};

exports.nested = { deeper: { handler: async () => ({ nested: true }) } };
exports.notAFunction = 42;
