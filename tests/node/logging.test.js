// lib/logging.js: the AWS Node runtime's text and JSON log formats and level filtering.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const logging = require('../../bindings/node/lib/logging');

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const METHODS = ['trace', 'debug', 'info', 'log', 'warn', 'error', 'fatal'];

/**
 * Runs `fn` with console patched for `env`; returns the lines patchConsole wrote. The console
 * methods are restored afterwards (node:test reports through stdout, not console).
 */
function captured(env, fn) {
  const saved = Object.fromEntries(METHODS.map((m) => [m, console[m]]));
  const lines = [];
  try {
    logging.patchConsole(env, (line) => lines.push(line));
    fn();
  } finally {
    for (const m of METHODS) {
      if (saved[m] === undefined) delete console[m];
      else console[m] = saved[m];
    }
  }
  return lines;
}

test.beforeEach(() => logging.setInvocation('req-1', undefined));

test('a text line is time, request id, level and the util.format of the arguments', () => {
  const line = logging.formatText('INFO', ['n=%d', 7, { a: 1 }]);
  const [time, id, level, message, ...rest] = line.split('\t');
  assert.match(time, ISO);
  assert.equal(id, 'req-1');
  assert.equal(level, 'INFO');
  assert.equal(message, 'n=7 { a: 1 }');
  assert.deepEqual(rest, []);
});

test('console lines end in one newline; newlines inside become carriage returns', () => {
  const lines = captured({}, () => {
    console.log('first\nsecond\nthird');
    console.warn('w');
  });
  assert.equal(lines.length, 2);
  assert.match(lines[0], /\treq-1\tINFO\tfirst\rsecond\rthird\n$/);
  assert.match(lines[1], /\treq-1\tWARN\tw\n$/);
  assert.equal(lines[0].split('\n').length, 2);
});

test('each console method logs at its AWS level, console.log at INFO, console.fatal added', () => {
  const lines = captured({}, () => {
    for (const m of METHODS) console[m](m);
  });
  const levels = lines.map((l) => l.split('\t').slice(2, 4).join(' ').trim());
  assert.deepEqual(levels, [
    'TRACE trace',
    'DEBUG debug',
    'INFO info',
    'INFO log',
    'WARN warn',
    'ERROR error',
    'FATAL fatal',
  ]);
});

test('the request id follows setInvocation', () => {
  logging.setInvocation('req-2');
  assert.equal(logging.formatText('INFO', ['x']).split('\t')[1], 'req-2');
  assert.equal(globalThis[Symbol.for('aws.lambda.runtime.requestId')], 'req-2');
});

test('a JSON record has timestamp, level, requestId and the formatted message', () => {
  const record = JSON.parse(logging.formatJson('WARN', ['a %s', 'b', 3]));
  assert.match(record.timestamp, ISO);
  assert.deepEqual(
    { ...record, timestamp: undefined },
    { timestamp: undefined, level: 'WARN', requestId: 'req-1', message: 'a b 3' },
  );
  assert.equal('tenantId' in record, false);
});

test('a JSON record carries the tenant id when the invocation has one', () => {
  logging.setInvocation('req-3', 'tenant-9');
  const record = JSON.parse(logging.formatJson('INFO', ['x']));
  assert.equal(record.tenantId, 'tenant-9');
  assert.equal(record.requestId, 'req-3');
});

test('one object argument is kept as structured JSON', () => {
  const record = JSON.parse(logging.formatJson('INFO', [{ user: 'u1', n: [1, 2] }]));
  assert.deepEqual(record.message, { user: 'u1', n: [1, 2] });
});

test('an Error alone gives errorType, errorMessage and stackTrace', () => {
  const error = new TypeError('bad thing');
  const record = JSON.parse(logging.formatJson('ERROR', [error]));
  assert.equal(record.level, 'ERROR');
  assert.equal(record.message.errorType, 'TypeError');
  assert.equal(record.message.errorMessage, 'bad thing');
  assert.deepEqual(record.message.stackTrace, error.stack.split('\n'));
});

test('an Error among other arguments adds the error fields to the record', () => {
  const error = new RangeError('out of range');
  const record = JSON.parse(logging.formatJson('ERROR', ['failed:', error]));
  assert.match(record.message, /^failed: RangeError: out of range\n/);
  assert.equal(record.errorType, 'RangeError');
  assert.equal(record.errorMessage, 'out of range');
  assert.deepEqual(record.stackTrace, error.stack.split('\n'));
});

test('an unserialisable single argument falls back to util.format', () => {
  const cyclic = { name: 'loop' };
  cyclic.self = cyclic;
  const record = JSON.parse(logging.formatJson('INFO', [cyclic]));
  assert.match(record.message, /<ref \*1> \{ name: 'loop', self: \[Circular \*1\] \}/);
});

test('AWS_LAMBDA_LOG_FORMAT=JSON (any case) switches console to one JSON record per line', () => {
  assert.equal(logging.jsonFormat({ AWS_LAMBDA_LOG_FORMAT: 'json' }), true);
  assert.equal(logging.jsonFormat({ AWS_LAMBDA_LOG_FORMAT: 'Text' }), false);
  assert.equal(logging.jsonFormat({}), false);
  const lines = captured({ AWS_LAMBDA_LOG_FORMAT: 'JSON' }, () => console.info('two\nlines'));
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith('\n'));
  // The JSON escape keeps the record on one line; the message itself is unchanged.
  const record = JSON.parse(lines[0]);
  assert.equal(record.message, 'two\nlines');
  assert.equal(record.level, 'INFO');
});

test('AWS_LAMBDA_LOG_LEVEL drops the levels below it, in both formats', () => {
  for (const format of ['TEXT', 'JSON']) {
    const lines = captured({ AWS_LAMBDA_LOG_FORMAT: format, AWS_LAMBDA_LOG_LEVEL: 'warn' }, () => {
      for (const m of METHODS) console[m](m);
    });
    const text = lines.join('');
    for (const dropped of ['trace', 'debug', 'info', 'log']) {
      assert.ok(!text.includes(dropped), `${format}: ${dropped} was not dropped: ${text}`);
    }
    assert.equal(lines.length, 3, `${format}: ${text}`);
    assert.ok(text.includes('WARN') && text.includes('ERROR') && text.includes('FATAL'));
  }
});

test('without AWS_LAMBDA_LOG_LEVEL (or with an unknown one) every level is logged', () => {
  for (const env of [{}, { AWS_LAMBDA_LOG_LEVEL: 'chatty' }]) {
    const lines = captured(env, () => {
      for (const m of METHODS) console[m](m);
    });
    assert.equal(lines.length, METHODS.length);
  }
});
