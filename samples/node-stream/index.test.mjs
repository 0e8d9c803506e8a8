// The node-stream handlers called directly (node:test), with a stand-in for the `awslambda`
// global and a collecting response stream; ctest runs it as part of lamella_node_test.
// End to end through the emulator: tests/integration/cli_test.cpp (lamella invoke/serve).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const streaming = require('../../bindings/node/lib/streaming.js');

globalThis.awslambda = {
  streamifyResponse: streaming.streamifyResponse,
  HttpResponseStream: streaming.HttpResponseStream,
};
const { handler, page, failing } = await import('./index.mjs');

/** A response stream that records its content type and chunks. */
function collector() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  stream.contentType = 'application/octet-stream';
  stream.setContentType = (type) => {
    stream.contentType = type;
  };
  stream.text = () => Buffer.concat(chunks).toString();
  stream.chunks = chunks;
  return stream;
}

test('handler streams the requested number of lines, one chunk each', async () => {
  const out = collector();
  await handler({ lines: 3, delayMs: 0 }, out);
  assert.equal(out.contentType, 'text/plain');
  assert.equal(out.text(), 'line 1 of 3\nline 2 of 3\nline 3 of 3\n');
  assert.equal(out.chunks.length, 3);
  assert.equal(out.writableEnded, true);
});

test('page sends an HTTP prelude, eight NUL bytes, then the page', async () => {
  // lamella's own response stream over a recording sink: HttpResponseStream.from hooks it.
  const sent = { type: null, chunks: [], finished: false };
  const stream = new streaming.ResponseStream({
    begin: (type) => {
      sent.type = type;
    },
    write: (bytes) => sent.chunks.push(Buffer.from(bytes)),
    finish: () => {
      sent.finished = true;
    },
    fail: () => assert.fail('page must not fail'),
  });
  await page({}, stream);
  await new Promise((resolve) => (stream.writableFinished ? resolve() : stream.once('finish', resolve)));
  assert.equal(sent.type, 'application/vnd.awslambda.http-integration-response');
  assert.equal(sent.finished, true);
  const body = Buffer.concat(sent.chunks).toString('latin1');
  const nul = body.indexOf('\0'.repeat(8));
  assert.ok(nul > 0, body);
  assert.equal(JSON.parse(body.slice(0, nul)).statusCode, 200);
  assert.ok(body.endsWith('<li>item 3</li></ul>'), body);
});

test('failing writes first, then rejects', async () => {
  const out = collector();
  await assert.rejects(failing({}, out), /stream broke half-way/);
  assert.equal(out.text(), 'partial output\n');
});
