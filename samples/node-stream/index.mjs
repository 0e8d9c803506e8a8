// node-stream: AWS-style response streaming handlers (ES module), unchanged from Lambda.
//
//   lamella invoke samples/node-stream --handler index.handler --event '{"lines":5}'
//   prints "line 1 of 5" ... as the chunks arrive (100 ms apart), not at the end.
//
// `awslambda` is the global the runtime provides, as on Lambda.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Streams `event.lines` lines of text, `event.delayMs` (default 100) apart. */
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const lines = Number(event?.lines ?? 5);
  const delay = Number(event?.delayMs ?? 100);
  responseStream.setContentType('text/plain');
  for (let i = 1; i <= lines; i += 1) {
    responseStream.write(`line ${i} of ${lines}\n`);
    if (i < lines) await sleep(delay);
  }
  responseStream.end();
});

/**
 * A Function URL (or API Gateway) streamed HTTP response: status and headers first (the
 * prelude), then the body as it is produced.
 */
export const page = awslambda.streamifyResponse(async (event, responseStream) => {
  const http = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    cookies: ['visited=1'],
  });
  http.write('<!doctype html><title>lamella</title><ul>');
  for (let i = 1; i <= 3; i += 1) {
    http.write(`<li>item ${i}</li>`);
    await sleep(10);
  }
  http.end('</ul>');
});

/** Fails half-way: the bytes already sent stay sent, the error follows in the trailers. */
export const failing = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('partial output\n');
  await sleep(10);
  throw new Error('stream broke half-way');
});
