// lib/streaming.js: the response stream a streaming handler writes to, over a fake sink standing
// in for the runtime's client (begin, write, finish, fail).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const streaming = require('../../bindings/node/lib/streaming');

const { ResponseStream, HttpResponseStream, streamifyResponse, streamingMetadata } = streaming;

/** A sink recording every call, in order; `failWrites` makes write() throw. */
function fakeSink({ failWrites = false } = {}) {
  const calls = [];
  return {
    calls,
    begin: (contentType) => calls.push(['begin', contentType]),
    write: (bytes) => {
      if (failWrites) throw new Error('connection lost');
      calls.push(['write', Buffer.from(bytes).toString('latin1')]);
    },
    finish: () => calls.push(['finish']),
    fail: (type, json) => calls.push(['fail', type, json]),
  };
}

/** Writes `chunk` and resolves once the stream has handed it to the sink. */
const write = (stream, chunk) =>
  new Promise((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())));
const end = (stream) => new Promise((resolve) => stream.end(resolve));

test('nothing reaches the platform before the first write, then begin and bytes', async () => {
  const sink = fakeSink();
  const stream = new ResponseStream(sink);
  stream.setContentType('text/plain');
  assert.deepEqual(sink.calls, []);
  assert.equal(stream.begun, false);
  await write(stream, 'hello ');
  assert.equal(stream.begun, true);
  await write(stream, Buffer.from('world'));
  await end(stream);
  assert.deepEqual(sink.calls, [
    ['begin', 'text/plain'],
    ['write', 'hello '],
    ['write', 'world'],
    ['finish'],
  ]);
});

test('the default content type is application/octet-stream', async () => {
  const sink = fakeSink();
  const stream = new ResponseStream(sink);
  await write(stream, 'x');
  assert.deepEqual(sink.calls[0], ['begin', 'application/octet-stream']);
});

test('ending an unwritten stream still begins the response, then finishes it', async () => {
  const sink = fakeSink();
  await end(new ResponseStream(sink));
  assert.deepEqual(sink.calls, [['begin', 'application/octet-stream'], ['finish']]);
});

test('setContentType after the first write throws InvalidStreamingOperation', async () => {
  const stream = new ResponseStream(fakeSink());
  await write(stream, 'x');
  assert.throws(() => stream.setContentType('text/html'), {
    name: 'Runtime.InvalidStreamingOperation',
    message: 'Cannot set content-type, too late.',
  });
});

test('a sink write failure becomes a stream error', async () => {
  const stream = new ResponseStream(fakeSink({ failWrites: true }));
  const failed = new Promise((resolve) => stream.on('error', resolve));
  stream.write('x');
  assert.equal((await failed).message, 'connection lost');
});

test('HttpResponseStream.from writes JSON prelude + 8 NULs before the first chunk', async () => {
  const sink = fakeSink();
  const prelude = { statusCode: 201, headers: { 'x-a': 'b' }, cookies: ['c=1'] };
  const stream = HttpResponseStream.from(new ResponseStream(sink), prelude);
  assert.deepEqual(sink.calls, []);
  await write(stream, 'body');
  await write(stream, 'more');
  await end(stream);
  assert.deepEqual(sink.calls, [
    ['begin', 'application/vnd.awslambda.http-integration-response'],
    ['write', JSON.stringify(prelude)],
    ['write', '\0'.repeat(8)],
    ['write', 'body'],
    ['write', 'more'],
    ['finish'],
  ]);
});

test('HttpResponseStream.from without a prelude sends {} and the delimiter', async () => {
  const sink = fakeSink();
  const stream = HttpResponseStream.from(new ResponseStream(sink));
  await end(stream);
  assert.deepEqual(sink.calls.slice(1, 3), [['write', '{}'], ['write', '\0'.repeat(8)]]);
});

test('streamifyResponse marks the handler (and its highWaterMark) and returns it', () => {
  const handler = async () => {};
  assert.equal(streamifyResponse(handler, { highWaterMark: 1024.7 }), handler);
  assert.equal(handler[streaming.STREAMING], 'response');
  assert.deepEqual(streamingMetadata(handler), { streaming: true, highWaterMark: 1024 });
  const plain = streamifyResponse(async () => {});
  assert.deepEqual(streamingMetadata(plain), { streaming: true, highWaterMark: undefined });
});

test('an unmarked handler is not streaming; an unknown mode is refused', () => {
  assert.deepEqual(streamingMetadata(async () => {}), { streaming: false });
  const odd = async () => {};
  odd[streaming.STREAMING] = 'bidirectional';
  assert.throws(() => streamingMetadata(odd), { name: 'Runtime.MalformedStreamingHandler' });
});
