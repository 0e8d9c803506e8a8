// The node-hello handler called directly (node:test); ctest runs it as part of lamella_node_test.
// The tests run in order in one module instance, so the warm-state count goes 1, 2, 3.
import test from 'node:test';
import assert from 'node:assert/strict';
import { handler } from './index.mjs';

test('greets event.name and counts the first invocation', async () => {
  const r = await handler({ name: 'x' }, { awsRequestId: 'req-1' });
  assert.deepEqual(r, { message: 'Hello, x!', count: 1, request_id: 'req-1' });
});

test('module state persists: the count goes up per invocation', async () => {
  assert.equal((await handler({ name: 'y' }, { awsRequestId: 'req-2' })).count, 2);
  assert.equal((await handler({ name: 'z' }, { awsRequestId: 'req-3' })).count, 3);
});

test('an event without a name, or not an object, greets the world', async () => {
  assert.equal((await handler({}, { awsRequestId: 'a' })).message, 'Hello, world!');
  assert.equal((await handler(null, { awsRequestId: 'b' })).message, 'Hello, world!');
  assert.equal((await handler('text', { awsRequestId: 'c' })).message, 'Hello, world!');
});
