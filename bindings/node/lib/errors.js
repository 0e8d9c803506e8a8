// Error types and the error JSON lamella's Node runtime posts, in the shape the AWS Node
// runtime posts them: {"errorType", "errorMessage", "trace": [stack lines]}.
'use strict';

/** A runtime error whose `name` is the AWS error type, e.g. "Runtime.ImportModuleError". */
function runtimeError(type) {
  const cls = class extends Error {};
  Object.defineProperty(cls, 'name', { value: type });
  cls.prototype.name = `Runtime.${type}`;
  return cls;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const MalformedStreamingHandler = runtimeError('MalformedStreamingHandler');
const InvalidStreamingOperation = runtimeError('InvalidStreamingOperation');
const NodeJsExit = runtimeError('NodeJsExit');

/** The rejection reason of a promise nobody handled, as the AWS runtime reports it. */
class UnhandledPromiseRejection extends Error {
  constructor(reason) {
    super(reason === undefined ? 'undefined' : String(reason));
    this.reason = reason;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

/** True for an Error, or for an object that looks like one (name, message, stack strings). */
function isErrorLike(value) {
  if (value instanceof Error) return true;
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

/**
 * The error object posted to the platform for `error` (anything a handler threw, rejected with
 * or passed to its callback): errorType = the Error's name, or `typeof` for a non-Error value.
 */
function toErrorResponse(error) {
  try {
    if (isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

/** `error` as an Error (a non-Error value becomes `new Error(value)`), as AWS logs it. */
function intoError(error) {
  return error instanceof Error ? error : new Error(error);
}

/**
 * The text-format log suffix AWS prints after "Invoke Error": a tab and the error as JSON with
 * its non-enumerable fields (errorType, errorMessage, code, stack lines) spelled out.
 */
function toLogText(error) {
  const replacer = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const out = Object.assign(
      { errorType: value.name, errorMessage: value.message, code: value.code },
      value,
    );
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(error, replacer);
  } catch (_) {
    return '\t' + JSON.stringify(toErrorResponse(error));
  }
}

module.exports = {
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
  InvalidStreamingOperation,
  NodeJsExit,
  UnhandledPromiseRejection,
  toErrorResponse,
  intoError,
  toLogText,
};
