// Response streaming: the `awslambda` global (streamifyResponse, HttpResponseStream) and the
// writable stream a streaming handler writes to. Loaded only when a handler streams.
//
// Wire shape (the Lambda Runtime API's): one chunked POST /response with
// `Lambda-Runtime-Function-Response-Mode: streaming`, opened at the first write; a mid-stream
// failure ends it with the Lambda-Runtime-Function-Error-Type/-Body trailers. A stream that
// fails before any byte was written posts a plain /error instead, so the caller gets an
// ordinary function error.
'use strict';

const { Writable } = require('stream');

const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8); // eight NUL bytes end the HTTP prelude

/**
 * The stream handed to a streaming handler. `sink` is the runtime's side:
 *   begin(contentType), write(Buffer), finish(), fail(errorType, errorJson).
 * Each write goes to the platform synchronously, so `await`ing a write's callback means the
 * bytes have left the process.
 */
class ResponseStream extends Writable {
  constructor(sink, options) {
    super({ highWaterMark: options?.highWaterMark, decodeStrings: true });
    this._sink = sink;
    this._contentType = 'application/octet-stream';
    this._begun = false;
    this._closed = false; // finish() or fail() went to the platform
    this._beforeFirstWrite = null;
  }

  /** Sets the Content-Type of the response; only before the first write. */
  setContentType(contentType) {
    if (this._begun) {
      const { InvalidStreamingOperation } = require('./errors');
      throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    }
    this._contentType = String(contentType);
  }

  _begin() {
    if (this._begun) return;
    this._begun = true;
    this._sink.begin(this._contentType);
    if (this._beforeFirstWrite !== null) this._beforeFirstWrite((bytes) => this._sink.write(bytes));
  }

  _write(chunk, _encoding, callback) {
    try {
      this._begin();
      this._sink.write(chunk);
      callback();
    } catch (e) {
      callback(e);
    }
  }

  _final(callback) {
    try {
      this._begin();
      this._closed = true;
      this._sink.finish();
      callback();
    } catch (e) {
      callback(e);
    }
  }

  /** True once any byte (or the prelude) went to the platform. */
  get begun() {
    return this._begun;
  }

  /** True once the response was ended towards the platform (finished or failed). */
  get closed() {
    return this._closed;
  }

  /** Ends the response with the error trailers (the runtime's side; not for handlers). */
  _fail(errorType, errorJson) {
    this._begin();
    this._closed = true;
    this._sink.fail(errorType, errorJson);
  }
}

/** `awslambda.HttpResponseStream`: a Function URL / API Gateway streamed HTTP response. */
class HttpResponseStream {
  /**
   * Marks `stream` as an HTTP integration response: its content type becomes
   * application/vnd.awslambda.http-integration-response and the first write is preceded by
   * JSON(prelude) (statusCode, headers, cookies) and eight NUL bytes. Returns `stream`.
   */
  static from(stream, prelude) {
    stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const head = JSON.stringify(prelude ?? {});
    stream._beforeFirstWrite = (write) => {
      write(Buffer.from(head));
      write(DELIMITER);
    };
    return stream;
  }
}

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');

/** `awslambda.streamifyResponse(handler, {highWaterMark})`: marks a handler as streaming. */
function streamifyResponse(handler, options) {
  handler[STREAMING] = 'response';
  if (typeof options?.highWaterMark === 'number') {
    handler[HIGH_WATER_MARK] = Math.trunc(options.highWaterMark);
  }
  return handler;
}

/** {streaming, highWaterMark} of a handler function; throws for an unknown streaming mode. */
function streamingMetadata(handler) {
  const mode = handler[STREAMING];
  if (mode === undefined || mode === null || mode === false) return { streaming: false };
  if (mode !== 'response') {
    const { MalformedStreamingHandler } = require('./errors');
    throw new MalformedStreamingHandler('Only response streaming is supported.');
  }
  const hwm = handler[HIGH_WATER_MARK];
  return { streaming: true, highWaterMark: Number.isInteger(hwm) ? hwm : undefined };
}

module.exports = {
  ResponseStream,
  HttpResponseStream,
  streamifyResponse,
  streamingMetadata,
  STREAMING,
  HTTP_INTEGRATION_CONTENT_TYPE,
};
