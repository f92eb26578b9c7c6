'use strict';
/**
 * The response stream of an awslambda.streamifyResponse handler, streamed to the Runtime API
 * as the handler writes it (as AWS's runtime interface client does): a POST of
 * /runtime/invocation/<id>/response with `Lambda-Runtime-Function-Response-Mode: streaming`
 * and `Transfer-Encoding: chunked` on the client's idle keep-alive connection (a new one when
 * it has none), opened at the first write (or the end); each write is one chunk, sent at once
 * (TCP_NODELAY), and the Writable's back-pressure follows the socket's. An error after the stream opened ends it
 * with the trailers `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`
 * (base64 of the error document); before it opened, the caller posts /error as usual.
 *
 * Loaded only by streaming handlers (index.cjs requires it lazily).
 */

const { Writable } = require('stream');

/**
 * helpers: { apiPrefix, userAgent, headerValue, toRapidResponse, serializeResponse,
 * ResponseParser, tooLate(message) -> Error }.
 */
function streamingResponse(client, id, helpers, highWaterMark) {
  let contentType = 'application/octet-stream';
  let socket = null;
  let written = false;
  let ended = false;
  let settle;
  const replied = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  replied.catch(() => {});

  // The client's idle keep-alive connection is borrowed for the stream (and given back
  // once the Runtime API acknowledged it), so a streamed response costs no new connection.
  let borrowed = false;
  let parser = null;
  const onData = (chunk) => {
    let response;
    try {
      response = parser.feed(chunk);
    } catch (err) {
      socket.destroy();
      settle.reject(err);
      return;
    }
    if (response === null) return;
    release(response.keepAlive);
    settle.resolve(response);
  };
  const onError = (err) => settle.reject(err);
  const onClose = () => settle.reject(new Error('The Runtime API closed the connection'));

  function release(keepAlive) {
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    if (borrowed && keepAlive && client.socket === null) {
      client.socket = socket;
      socket.unref();
    } else {
      socket.end();
    }
  }

  function open() {
    const idle = client.socket;
    if (idle !== null && client.exchange === null && !idle.destroyed) {
      client.socket = null;
      socket = idle;
      borrowed = true;
      socket.ref();
    } else {
      socket = client.connect();
    }
    parser = new helpers.ResponseParser();
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const route = `${helpers.apiPrefix}/runtime/invocation/${encodeURIComponent(id)}/response`;
    socket.write(
      `POST ${route} HTTP/1.1\r\nHost: ${client.hostHeader}\r\nUser-Agent: ${helpers.userAgent}\r\n` +
        'Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n' +
        `Content-Type: ${helpers.headerValue(contentType)}\r\n` +
        'Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n'
    );
  }

  let settleFinished;
  const finished = new Promise((resolve, reject) => {
    settleFinished = { resolve, reject };
  });
  const options = {
    write(chunk, _encoding, callback) {
      if (socket === null) open();
      if (chunk.length === 0) {
        callback();
        return;
      }
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n', (err) => callback(err || null));
      socket.uncork();
    },
    final(callback) {
      if (socket === null) open();
      ended = true;
      socket.write('0\r\n\r\n', (err) => callback(err || null));
    },
  };
  if (typeof highWaterMark === 'number') options.highWaterMark = highWaterMark;
  const stream = new Writable(options);
  stream.on('finish', () => settleFinished.resolve());
  stream.on('error', (err) => settleFinished.reject(err));
  const write = stream.write.bind(stream);
  stream.setContentType = (type) => {
    if (written) throw helpers.tooLate('Cannot set content-type, too late.');
    contentType = type;
  };
  stream.write = function (chunk, encoding, callback) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && chunk?.constructor !== Uint8Array) {
      chunk = JSON.stringify(chunk);
    }
    if (!written && typeof this._onBeforeFirstWrite === 'function') {
      written = true;
      this._onBeforeFirstWrite((data) => write(data));
    }
    written = true;
    return write(chunk, encoding, callback);
  };

  return {
    stream,
    finished,
    /** The Runtime API's answer to the streamed response (after the stream ended). */
    replied: () => replied,
    /** Whether the response already went out in part (errors then go as trailers). */
    opened: () => socket !== null,
    /** End the opened stream with the error's trailers; resolves once acknowledged. */
    fail(error) {
      if (ended) return replied;
      ended = true;
      const response = helpers.toRapidResponse(error);
      const body = Buffer.from(helpers.serializeResponse(response), 'utf8').toString('base64');
      const errorType = helpers.headerValue(response.errorType || 'Runtime.Unknown');
      socket.write(
        `0\r\nLambda-Runtime-Function-Error-Type: ${errorType}\r\n` +
          `Lambda-Runtime-Function-Error-Body: ${body}\r\n\r\n`
      );
      stream.destroy();
      return replied;
    },
  };
}

module.exports = { streamingResponse };
