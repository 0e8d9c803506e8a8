// node-express: an Express app behind API Gateway (HTTP API, payload 2.0), adapted to a Lambda
// handler by serverless-http. Both come from npm unchanged; nothing in here knows about lamella.
//
// Run it (README.md):
//   lamella invoke build/dev/samples/node-express --handler app.handler \
//     --event "$(cat samples/node-express/events/get-hello.json)"
'use strict';

const express = require('express');
const serverless = require('serverless-http');

const app = express();
app.disable('x-powered-by');
app.use(express.json());

/** GET /hello/:name: a greeting, with the Lambda request id serverless-http passes through. */
app.get('/hello/:name', (req, res) => {
  res.set('x-sample', 'node-express');
  res.json({ message: `Hello, ${req.params.name}!`, requestId: req.lambdaContext?.awsRequestId });
});

/** POST /echo: answers a JSON body with itself (400 when the body is not a JSON object). */
app.post('/echo', (req, res) => {
  if (!req.is('application/json') || req.body === null || typeof req.body !== 'object') {
    res.status(400).json({ error: 'expected a JSON body' });
    return;
  }
  res.status(201).json({ echo: req.body });
});

app.use((req, res) => {
  res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
});

/** The Lambda handler: an API Gateway event in, an API Gateway response out. */
module.exports.handler = serverless(app, {
  // Makes the Lambda event and context visible to routes as req.lambdaEvent / req.lambdaContext.
  request(req, event, context) {
    req.lambdaEvent = event;
    req.lambdaContext = context;
  },
});
module.exports.app = app;
