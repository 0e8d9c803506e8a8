// The Node baseline of the push-mode benchmark: the same handler (samples/node-hello) behind
// Node's own `http` module, doing the least a server must (read the body, call the handler with a
// context, write JSON). usage: node node_baseline.mjs PORT SAMPLE_DIR
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [port, sample] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(`${sample}/index.mjs`).href);

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const event = { rawPath: req.url, body: Buffer.concat(chunks).toString() };
      const body = JSON.stringify(await handler(event, { awsRequestId: randomUUID() }));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  })
  .listen(Number(port), '127.0.0.1');
