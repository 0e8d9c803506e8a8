// lib/errors.js: the error JSON posted for whatever a handler throws, and the runtime error types.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const errors = require('../../bindings/node/lib/errors');

test('an Error posts its name, message and stack lines', () => {
  const error = new TypeError('bad input');
  const body = errors.toErrorResponse(error);
  assert.deepEqual(Object.keys(body), ['errorType', 'errorMessage', 'trace']);
  assert.equal(body.errorType, 'TypeError');
  assert.equal(body.errorMessage, 'bad input');
  assert.deepEqual(body.trace, error.stack.split('\n'));
  assert.equal(body.trace[0], 'TypeError: bad input');
});

test('a custom error class posts the name it sets', () => {
  class ValidationError extends Error {}
  ValidationError.prototype.name = 'ValidationError';
  const body = errors.toErrorResponse(new ValidationError('missing field'));
  assert.equal(body.errorType, 'ValidationError');
  assert.equal(body.errorMessage, 'missing field');
});

test('an error-like object (name, message, stack strings) counts as an Error', () => {
  const errorLike = { name: 'Remote', message: 'm', stack: 'Remote: m\n    at x' };
  assert.deepEqual(errors.toErrorResponse(errorLike), {
    errorType: 'Remote',
    errorMessage: 'm',
    trace: ['Remote: m', '    at x'],
  });
});

test('an Error without a string stack posts an empty trace', () => {
  const error = new Error('no stack');
  error.stack = undefined;
  assert.deepEqual(errors.toErrorResponse(error).trace, []);
});

test('non-Error values post typeof as the type and String(value) as the message', () => {
  const cases = [
    ['just a string', 'string', 'just a string'],
    [42, 'number', '42'],
    [false, 'boolean', 'false'],
    [undefined, 'undefined', 'undefined'],
    [null, 'object', 'null'],
    [{ code: 7 }, 'object', '[object Object]'],
    [[1, 2], 'object', '1,2'],
  ];
  for (const [value, type, message] of cases) {
    const expected = { errorType: type, errorMessage: message, trace: [] };
    assert.deepEqual(errors.toErrorResponse(value), expected, String(value));
  }
});

test('an error whose fields cannot be read posts the AWS "handled" fallback', () => {
  const hostile = new Error('x');
  Object.defineProperty(hostile, 'message', {
    get() {
      throw new Error('no');
    },
  });
  assert.equal(errors.toErrorResponse(hostile).errorType, 'handled');
});

test('the runtime error types are Errors named Runtime.<type>', () => {
  const types = {
    ImportModuleError: 'Runtime.ImportModuleError',
    HandlerNotFound: 'Runtime.HandlerNotFound',
    MalformedHandlerName: 'Runtime.MalformedHandlerName',
    UserCodeSyntaxError: 'Runtime.UserCodeSyntaxError',
    MalformedStreamingHandler: 'Runtime.MalformedStreamingHandler',
    InvalidStreamingOperation: 'Runtime.InvalidStreamingOperation',
    NodeJsExit: 'Runtime.NodeJsExit',
  };
  for (const [cls, name] of Object.entries(types)) {
    const e = new errors[cls]('m', { cause: 'c' });
    assert.ok(e instanceof Error, cls);
    assert.equal(e.name, name);
    assert.equal(e.cause, 'c');
    assert.equal(errors.toErrorResponse(e).errorType, name);
  }
});

test('an unhandled rejection keeps its reason and stringifies it', () => {
  const withReason = new errors.UnhandledPromiseRejection(new Error('inner'));
  assert.equal(withReason.name, 'Runtime.UnhandledPromiseRejection');
  assert.equal(withReason.message, 'Error: inner');
  assert.equal(withReason.reason.message, 'inner');
  assert.equal(new errors.UnhandledPromiseRejection(undefined).message, 'undefined');
});

test('intoError wraps non-Error values and keeps Errors', () => {
  const e = new RangeError('r');
  assert.equal(errors.intoError(e), e);
  const wrapped = errors.intoError('text');
  assert.ok(wrapped instanceof Error);
  assert.equal(wrapped.message, 'text');
});

test('the text log suffix is a tab and the error as JSON with its hidden fields', () => {
  const error = new TypeError('bad');
  error.code = 'E_BAD';
  const text = errors.toLogText(error);
  assert.ok(text.startsWith('\t'));
  const json = JSON.parse(text.slice(1));
  assert.equal(json.errorType, 'TypeError');
  assert.equal(json.errorMessage, 'bad');
  assert.equal(json.code, 'E_BAD');
  assert.deepEqual(json.stack, error.stack.split('\n'));
});
