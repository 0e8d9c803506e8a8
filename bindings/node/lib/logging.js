// console.* in the AWS Node runtime's formats. Text (the default):
//   <ISO-8601 time>\t<request id>\t<LEVEL>\t<util.format(args)>   (newlines become '\r')
// JSON (AWS_LAMBDA_LOG_FORMAT=JSON): {"timestamp","level","requestId",["tenantId"],"message",
//   ["errorType","errorMessage","stackTrace"]}. AWS_LAMBDA_LOG_LEVEL drops the levels below it
// in both formats, as the AWS runtime does. console.log is INFO; console.fatal is added.
'use strict';

const util = require('util');

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

// The invocation the log lines belong to; the runtime sets it. The symbol is the one the AWS
// runtime keeps the request id under, so code that reads it keeps working.
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const state = { requestId: undefined, tenantId: undefined };

/** Sets the request (and tenant) id that the following log lines carry. */
function setInvocation(requestId, tenantId) {
  state.requestId = requestId;
  state.tenantId = tenantId || undefined;
  globalThis[REQUEST_ID] = requestId;
}

// With instance concurrency (push platforms), several invocations interleave on the event loop:
// each one's ids then follow its own asynchronous work (AsyncLocalStorage), not a global.
let scoped = null;

/** Switches to per-invocation ids (call once, before serving, when invocations can overlap). */
function enableConcurrentInvocations() {
  if (scoped === null) scoped = new (require('async_hooks').AsyncLocalStorage)();
}

/** Runs `fn` as the invocation `requestId`: its log lines (and those of what it starts) carry it. */
function runWithInvocation(requestId, tenantId, fn) {
  setInvocation(requestId, tenantId);
  if (scoped === null) return fn();
  return scoped.run({ requestId, tenantId: tenantId || undefined }, fn);
}

/** The ids the current log line belongs to. */
function current() {
  return (scoped !== null && scoped.getStore()) || state;
}

function errorFields(error) {
  return {
    errorType: error?.constructor?.name ?? 'UnknownError',
    errorMessage: error.message,
    stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
  };
}

function jsonReplacer(_key, value) {
  return value instanceof Error ? Object.assign(errorFields(value), value) : value;
}

/** One JSON log record for `args` at `level`. */
function formatJson(level, args) {
  const ids = current();
  const record = { timestamp: new Date().toISOString(), level, requestId: ids.requestId };
  if (ids.tenantId !== undefined) record.tenantId = ids.tenantId;
  if (args.length === 1) {
    record.message = args[0];
    try {
      return JSON.stringify(record, jsonReplacer);
    } catch (_) {
      record.message = util.format(args[0]);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(...args);
  const error = args.find((a) => a instanceof Error);
  if (error !== undefined) Object.assign(record, errorFields(error));
  return JSON.stringify(record);
}

/** One text log line for `args` at `level`. */
function formatText(level, args) {
  return `${new Date().toISOString()}\t${current().requestId}\t${level}\t${util.format(...args)}`;
}

/** True when AWS_LAMBDA_LOG_FORMAT asks for JSON logs. */
function jsonFormat(env = process.env) {
  return String(env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
}

/**
 * Replaces console.trace/debug/info/log/warn/error and adds console.fatal, per the environment's
 * AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL. `write` receives each finished line (tests pass
 * their own; the default writes to stdout, which is synchronous for pipes and files on Linux).
 */
function patchConsole(env = process.env, write = (line) => process.stdout.write(line)) {
  const format = jsonFormat(env) ? formatJson : formatText;
  const minimum = Math.max(0, LEVELS.indexOf(String(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()));
  const nop = () => {};
  const logger = (level) =>
    LEVELS.indexOf(level) < minimum
      ? nop
      : (...args) => write(format(level, args).replace(/\n/g, '\r') + '\n');
  console.trace = logger('TRACE');
  console.debug = logger('DEBUG');
  console.info = logger('INFO');
  console.log = console.info;
  console.warn = logger('WARN');
  console.error = logger('ERROR');
  console.fatal = logger('FATAL');
}

module.exports = {
  patchConsole,
  setInvocation,
  enableConcurrentInvocations,
  runWithInvocation, formatJson, formatText, jsonFormat, LEVELS };
