// The Express app's handler called directly with API Gateway v2 events (node:test). Runs from the
// build tree's copy of the sample, where `npm ci` installed express and serverless-http; ctest
// runs it as part of lamella_node_test.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { handler } = require('./app.js');

function event(name) {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'events', name), 'utf8'));
}

const context = { awsRequestId: 'req-123', functionName: 'node-express' };

test('GET /hello/:name greets with the request id and the route header', async () => {
  const r = await handler(event('get-hello.json'), context);
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.headers['x-sample'], 'node-express');
  assert.equal(r.headers['x-powered-by'], undefined);
  assert.deepEqual(JSON.parse(r.body), { message: 'Hello, lamella!', requestId: 'req-123' });
});

test('POST /echo answers the JSON body with 201', async () => {
  const r = await handler(event('post-echo.json'), context);
  assert.equal(r.statusCode, 201);
  assert.deepEqual(JSON.parse(r.body), { echo: { greeting: 'hi', n: [1, 2, 3] } });
});

test('POST /echo without a JSON body is a 400', async () => {
  const e = event('post-echo.json');
  e.headers['content-type'] = 'text/plain';
  e.body = 'not json';
  e.headers['content-length'] = String(e.body.length);
  const r = await handler(e, context);
  assert.equal(r.statusCode, 400);
  assert.deepEqual(JSON.parse(r.body), { error: 'expected a JSON body' });
});

test('an unknown route is a 404 naming it', async () => {
  const e = event('get-hello.json');
  e.rawPath = '/nowhere';
  e.requestContext.http.path = '/nowhere';
  const r = await handler(e, context);
  assert.equal(r.statusCode, 404);
  assert.deepEqual(JSON.parse(r.body), { error: 'no route for GET /nowhere' });
});
