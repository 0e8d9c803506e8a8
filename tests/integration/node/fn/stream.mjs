// Streaming handlers (awslambda.streamifyResponse) for tests/integration/node_runtime_test.cpp.
import { existsSync } from 'node:fs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Writes "first", then waits until the file named by event.gate exists (the test creates it
// once "first" has reached the caller), then writes "second".
export const gated = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain');
  stream.write('first\n');
  while (!existsSync(event.gate)) await sleep(2);
  stream.end('second\n');
});

// The same on a push platform, whose event is an HTTP request: the gate is its `gate` query
// parameter.
export const gatedQuery = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain');
  stream.write('first\n');
  while (!existsSync(event.queryStringParameters.gate)) await sleep(2);
  stream.end('second\n');
});

// event.mib MiB in 64 KiB chunks of one repeated letter per chunk index.
export const big = awslambda.streamifyResponse(async (event, stream) => {
  const chunk = 64 * 1024;
  for (let i = 0; i < event.mib * 16; i += 1) {
    const ok = stream.write(Buffer.alloc(chunk, 97 + (i % 26)));
    if (!ok) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
});

export const failsAfterWrite = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('partial\n');
  await sleep(1);
  throw new RangeError('broke mid-stream');
});

export const failsBeforeWrite = awslambda.streamifyResponse(async () => {
  throw new TypeError('broke before writing');
});

export const notEnded = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('never ended\n');
});

export const http = awslambda.streamifyResponse(async (event, stream) => {
  const out = awslambda.HttpResponseStream.from(stream, {
    statusCode: 201,
    headers: { 'x-sample': 'yes' },
  });
  out.write('hello ');
  out.end('world');
});

// Not async and returns no promise: refused before anything is written.
export const notAsync = awslambda.streamifyResponse(() => undefined);

// Two chunks of text, no HTTP prelude (tests/integration/push_runtime_test.cpp).
export const plain = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain');
  stream.write('one ');
  stream.end('two');
});
