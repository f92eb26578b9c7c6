'use strict';
/*
 * Lamina's built-in Node.js runtime: the process that runs inside a nodejs*.x environment.
 *
 * The server starts it as `node --max-http-header-size 81920 index.cjs` with the Lambda
 * environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, NODE_PATH, ...). It loads the
 * handler once, then loops on the Runtime API (GET /2018-06-01/runtime/invocation/next), calls the
 * handler and posts its result or error.
 *
 * What it reports (error documents, log lines, the context object, how handlers complete)
 * follows the AWS Node.js runtime interface client (npm `aws-lambda-ric`), which is what AWS's
 * managed runtimes run:
 * - nodejs18.x, nodejs20.x, nodejs22.x: aws-lambda-ric 3.x ("legacy" below): callback
 *   handlers, context.callbackWaitsForEmptyEventLoop, done/succeed/fail, a non-async
 *   handler's return value ignored (the response is null once the event loop is empty),
 *   uncaught exceptions and unhandled rejections reported and the process restarted.
 * - nodejs24.x and later: aws-lambda-ric 4.x ("modern"): `await handler(event, context)`,
 *   callback handlers refused at init (Runtime.CallbackHandlerDeprecated), no callback
 *   members on the context, uncaught exceptions crash the runtime.
 *
 * Differences from the RIC, on purpose: the Runtime API client is a small HTTP/1.1 client on
 * one keep-alive socket (the RIC uses a native libcurl addon); console output is written
 * synchronously, and process.stdout/stderr block, so that every line logged before a response
 * is in the log pipe before the response is posted; response-streaming handlers
 * (awslambda.streamifyResponse) stream their writes as chunks (response_stream.cjs); invocation errors
 * carry Lambda-Runtime-Function-Error-Type; global.gc is created on first use (AWS starts node
 * with --expose-gc, which would cost every cold start Node's code cache: see
 * lamina/runtime/nodejs.py).
 *
 * Node.js standard library only; CommonJS (an ES module entry point costs ~5 ms more at
 * start); runs on Node.js 16 and newer.
 */

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');

const env = process.env;
const API_PREFIX = '/2018-06-01';
const USER_AGENT = `lamina-nodejs/${process.versions.node}`;
const NODE_MAJOR = (() => {
  const match = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(env.AWS_EXECUTION_ENV || '');
  return match ? Number(match[1]) : Number(process.versions.node.split('.')[0]);
})();
const MODERN = NODE_MAJOR >= 24;
const NO_GLOBAL_AWSLAMBDA =
  env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA === '1' ||
  env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA === 'true';
// Lamina's own variables are not the function's business.
delete env.LAMINA_SDK_PATH;
delete env.LAMINA_OPT_ROOT;

// --- output ----------------------------------------------------------------------------------
// The server reads the log pipe when it receives a response, so everything logged before the
// response must already be in the pipe: console output is written synchronously, and
// process.stdout/stderr (asynchronous on a pipe once created) are switched to blocking writes.

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeFd(fd, text) {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1); // the pipe is full (non-blocking fd): wait for the reader
        continue;
      }
      return; // EPIPE, EBADF: the log pipe is gone and there is nobody to tell
    }
  }
}

function blockingStdio(name) {
  const descriptor = Object.getOwnPropertyDescriptor(process, name);
  if (!descriptor || typeof descriptor.get !== 'function' || !descriptor.configurable) return;
  let stream;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: descriptor.enumerable,
    get() {
      if (stream === undefined) {
        stream = descriptor.get.call(process);
        const handle = stream && stream._handle;
        if (handle && typeof handle.setBlocking === 'function') handle.setBlocking(true);
      }
      return stream;
    },
  });
}
blockingStdio('stdout');
blockingStdio('stderr');

// AWS starts node with --expose-gc. A V8 flag on the command line would cost every cold start
// Node's built-in code cache, so global.gc is made on first use instead.
if (!('gc' in globalThis)) {
  const define = (value) =>
    Object.defineProperty(globalThis, 'gc', {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  Object.defineProperty(globalThis, 'gc', {
    enumerable: true,
    configurable: true,
    get() {
      require('v8').setFlagsFromString('--expose-gc');
      const gc = require('vm').runInNewContext('gc');
      define(gc);
      return gc;
    },
    set: define,
  });
}

// --- errors ----------------------------------------------------------------------------------

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const cls of [
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
  InvalidStreamingOperation,
  UnhandledPromiseRejection,
]) {
  cls.prototype.name = `Runtime.${cls.name}`;
}

// aws-lambda-ric 4.x names its errors per instance (an own, enumerable `name`).
function modernError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}
const CALLBACK_ERROR_NODEJS24_ABOVE =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with ' +
  'Node.js 24. You need to modify this function to use a supported handler signature to use ' +
  'Node.js 24 or later. For more information see ' +
  'https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

function looksLikeError(obj) {
  return (
    obj &&
    obj.name &&
    obj.message &&
    obj.stack &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string'
  );
}

const DEL = /\x7F/g;

/** The error document posted to the Runtime API: {errorType, errorMessage, trace}. */
function toRapidResponse(error) {
  try {
    if (MODERN ? error instanceof Error : util.types.isNativeError(error) || looksLikeError(error)) {
      const stack = MODERN ? error.stack?.replace(DEL, '%7F').split('\n') || [] : undefined;
      return {
        errorType: error.name?.replace(DEL, '%7F'),
        errorMessage: error.message?.replace(DEL, '%7F'),
        trace: MODERN ? stack : error.stack.replace(DEL, '%7F').split('\n'),
      };
    }
    return {
      errorType: typeof error,
      errorMessage: MODERN ? String(error) : error.toString(),
      trace: [],
    };
  } catch (_) {
    const response = {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or ' +
        'more of its message, name, and stack',
    };
    if (MODERN) response.trace = [];
    return response;
  }
}

function intoError(err) {
  if (err instanceof Error) return err;
  return MODERN ? new Error(String(err)) : new Error(err);
}

function withEnumerableProperties(value) {
  if (value instanceof Error) {
    const ret = Object.assign(
      { errorType: value.name, errorMessage: value.message, code: value.code },
      value
    );
    if (typeof value.stack === 'string') ret.stack = value.stack.split('\n');
    return ret;
  }
  return value;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

/** The X-Ray error cause (Lambda-Runtime-Function-XRay-Error-Cause), as the RIC builds it. */
function xrayCause(err) {
  try {
    const stack = [];
    if (err.stack) {
      const lines = err.stack.replace(DEL, '%7F').split('\n');
      lines.shift();
      for (const stackLine of lines) {
        let line = stackLine.trim().replace(/\(|\)/g, '');
        line = line.substring(line.indexOf(' ') + 1);
        const space = line.lastIndexOf(' ');
        const label = space >= 0 ? line.slice(0, space) : null;
        const where = (!label ? line : line.slice(space + 1)).split(':');
        stack.push({ path: where[0], line: parseInt(where[1]), label: label || 'anonymous' });
      }
    }
    return JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [
        {
          type: err.name?.replace(DEL, '%7F'),
          message: err.message?.replace(DEL, '%7F'),
          stack,
        },
      ],
      paths: Array.from(new Set(stack.map((entry) => entry.path))),
    });
  } catch (_) {
    return '';
  }
}

function serializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (_) {
    if (MODERN) throw modernError('Runtime.JSONStringifyError', 'Unable to stringify response body');
    throw new Error('Unable to stringify response body');
  }
}

// --- logging ---------------------------------------------------------------------------------

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1, tlvMask: 4 },
  DEBUG: { name: 'DEBUG', priority: 2, tlvMask: 8 },
  INFO: { name: 'INFO', priority: 3, tlvMask: 12 },
  WARN: { name: 'WARN', priority: 4, tlvMask: 16 },
  ERROR: { name: 'ERROR', priority: 5, tlvMask: 20 },
  FATAL: { name: 'FATAL', priority: 6, tlvMask: 24 },
});
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');

/** aws-lambda-ric 4.x keeps the invocation's ids in a store, published as awslambda.InvokeStore. */
const PROTECTED_KEYS = {
  REQUEST_ID: Symbol.for('_AWS_LAMBDA_REQUEST_ID'),
  X_RAY_TRACE_ID: Symbol.for('_AWS_LAMBDA_X_RAY_TRACE_ID'),
  TENANT_ID: Symbol.for('_AWS_LAMBDA_TENANT_ID'),
};
const invokeStore = {
  currentContext: undefined,
  isProtectedKey(key) {
    return Object.values(PROTECTED_KEYS).includes(key);
  },
  getRequestId() {
    return this.get(PROTECTED_KEYS.REQUEST_ID) ?? '-';
  },
  getXRayTraceId() {
    return this.get(PROTECTED_KEYS.X_RAY_TRACE_ID);
  },
  getTenantId() {
    return this.get(PROTECTED_KEYS.TENANT_ID);
  },
  getContext() {
    return this.currentContext;
  },
  hasContext() {
    return this.currentContext !== undefined;
  },
  get(key) {
    return this.currentContext?.[key];
  },
  set(key, value) {
    if (this.isProtectedKey(key)) {
      throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    }
    this.currentContext = this.currentContext || {};
    this.currentContext[key] = value;
  },
  run(context, fn) {
    this.currentContext = context;
    return fn();
  },
};

function currentRequestId() {
  return MODERN ? invokeStore.getRequestId() : global[REQUEST_ID];
}

function currentTenantId() {
  return MODERN ? invokeStore.getTenantId() || '' : global[TENANT_ID];
}

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value
    );
  }
  return value;
}

function formatTextMessage(level, message, params) {
  const text = util.format(message, ...params);
  const requestId = currentRequestId();
  if (MODERN) return [new Date().toISOString(), requestId, level.name, text].join('\t');
  return `${new Date().toISOString()}\t${requestId}\t${level.name}\t${text}`;
}

function formatJsonMessage(level, message, params) {
  const result = {
    timestamp: new Date().toISOString(),
    level: level.name,
    requestId: currentRequestId(),
  };
  const tenantId = currentTenantId();
  if (MODERN ? tenantId : tenantId != null) result.tenantId = tenantId;
  if (params.length === 0) {
    result.message = message;
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(message, ...params);
  for (const param of MODERN ? params : [message, ...params]) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function frameWriter(fd, frameType) {
  const header = Buffer.alloc(16);
  return (level, message) => {
    const data = Buffer.from(message, 'utf8');
    header.writeUInt32BE((frameType | level.tlvMask) >>> 0, 0);
    header.writeInt32BE(data.length, 4);
    header.writeBigInt64BE(BigInt(Date.now()) * 1000n, 8);
    writeFd(fd, header);
    writeFd(fd, data);
  };
}

let jsonLogs = false;

function patchConsole() {
  jsonLogs = (env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const minLevel = LEVELS[(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || LEVELS.TRACE;
  let log;
  const telemetryFd = env._LAMBDA_TELEMETRY_LOG_FD;
  delete env._LAMBDA_TELEMETRY_LOG_FD;
  if (telemetryFd != null && telemetryFd !== '' && Number(telemetryFd) >= 0) {
    const write = frameWriter(Number(telemetryFd), jsonLogs ? 0xa55a0002 : 0xa55a0003);
    log = jsonLogs
      ? (level, message, params) => write(level, formatJsonMessage(level, message, params))
      : (level, message, params) => write(level, formatTextMessage(level, message, params) + '\n');
  } else {
    const format = jsonLogs ? formatJsonMessage : formatTextMessage;
    log = (level, message, params) => {
      writeFd(1, format(level, message, params).replace(/\n/g, '\r') + '\n');
    };
  }
  const nop = () => {};
  const method = (level) =>
    level.priority >= minLevel.priority ? (msg, ...params) => log(level, msg, params) : nop;
  console.trace = method(LEVELS.TRACE);
  console.debug = method(LEVELS.DEBUG);
  console.info = method(LEVELS.INFO);
  console.log = console.info;
  console.warn = method(LEVELS.WARN);
  console.error = method(LEVELS.ERROR);
  console.fatal = (msg, ...params) => log(LEVELS.FATAL, msg, params);
}

/** The runtime's own error lines ("Invoke Error", "Uncaught Exception", ...). */
function logError(message, err) {
  if (jsonLogs) console.error(intoError(err));
  else console.error(message, toFormatted(intoError(err)));
}

// --- Runtime API client ----------------------------------------------------------------------

class ResponseParser {
  constructor() {
    this.started = false;
    this.head = null; // Buffer until the headers are complete
    this.status = 0;
    this.headers = null;
    this.keepAlive = true;
    this.length = -1; // Content-Length, or -1
    this.chunked = false;
    this.untilClose = false;
    this.chunks = [];
    this.received = 0;
  }

  /** Feed bytes; returns the response once complete, else null. Throws on garbage. */
  feed(chunk) {
    this.started = true;
    if (this.headers === null) {
      this.head = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
      for (;;) {
        const end = this.head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.head.length > 1 << 20) throw new Error('Runtime API response headers too long');
          return null;
        }
        const lines = this.head.toString('latin1', 0, end).split('\r\n');
        const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
        if (!status) throw new Error(`Bad status line from the Runtime API: ${lines[0]}`);
        const rest = this.head.subarray(end + 4);
        const code = Number(status[2]);
        if (code < 200 && code !== 101) {
          this.head = rest; // an interim response
          continue;
        }
        const headers = {};
        for (let i = 1; i < lines.length; i++) {
          const colon = lines[i].indexOf(':');
          if (colon <= 0) continue;
          const name = lines[i].slice(0, colon).trim().toLowerCase();
          const value = lines[i].slice(colon + 1).trim();
          headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
        }
        this.status = code;
        this.headers = headers;
        const connection = (headers.connection || '').toLowerCase();
        this.keepAlive =
          !connection.includes('close') && (status[1] === '1' || connection.includes('keep-alive'));
        if ((headers['transfer-encoding'] || '').toLowerCase().includes('chunked')) {
          this.chunked = true;
        } else if ('content-length' in headers) {
          this.length = parseInt(headers['content-length'], 10);
        } else if (code === 204 || code === 304) {
          this.length = 0;
        } else {
          this.untilClose = true;
          this.keepAlive = false;
        }
        this.head = null;
        chunk = rest;
        break;
      }
    }
    if (chunk.length) {
      this.chunks.push(chunk);
      this.received += chunk.length;
    }
    if (this.length >= 0) {
      if (this.received < this.length) return null;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      return this.response(all.subarray(0, this.length));
    }
    if (this.chunked) return this.dechunk();
    return null; // until the connection closes
  }

  dechunk() {
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [data];
    const parts = [];
    let at = 0;
    for (;;) {
      const eol = data.indexOf('\r\n', at);
      if (eol < 0) return null;
      const size = parseInt(data.toString('latin1', at, eol).split(';')[0].trim(), 16);
      if (Number.isNaN(size)) throw new Error('Bad chunk size from the Runtime API');
      if (size === 0) {
        if (data.indexOf('\r\n\r\n', eol) < 0) return null; // the trailers' end
        return this.response(Buffer.concat(parts));
      }
      if (data.length < eol + 2 + size + 2) return null;
      parts.push(data.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }

  closed() {
    if (this.untilClose && this.headers !== null) return this.response(Buffer.concat(this.chunks));
    return null;
  }

  response(body) {
    return { status: this.status, headers: this.headers, body, keepAlive: this.keepAlive };
  }
}

/** HTTP/1.1 to the Runtime API: one keep-alive socket, TCP_NODELAY, no timeouts. */
class RapidClient {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.hostname = address.slice(0, colon).replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.port = parseInt(address.slice(colon + 1), 10);
    this.hostHeader = address;
    this.socket = null;
    this.exchange = null; // the request in flight on this.socket
  }

  request(method, route, headers, body) {
    let head = `${method} ${API_PREFIX}${route} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    head += `User-Agent: ${USER_AGENT}\r\n${headers}`;
    if (body !== null) head += `Content-Length: ${body.length}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      const exchange = { head: Buffer.from(head, 'utf8'), body, resolve, reject };
      // A second request while one is in flight (an error reported from a stray callback
      // while the runtime waits for its next event) gets a connection of its own.
      if (this.exchange !== null) this.sendAlone(exchange);
      else this.send(exchange, false);
    });
  }

  connect() {
    const socket = net.connect({ host: this.hostname, port: this.port });
    socket.setNoDelay(true);
    return socket;
  }

  send(exchange, retried) {
    let socket = this.socket;
    const fresh = socket === null;
    if (fresh) {
      socket = this.connect();
      socket.on('data', (chunk) => this.onData(socket, chunk));
      socket.on('error', (err) => this.onEnd(socket, err));
      socket.on('close', () => this.onEnd(socket, null));
      this.socket = socket;
    } else {
      socket.ref();
    }
    exchange.fresh = fresh;
    exchange.retried = retried;
    exchange.parser = new ResponseParser();
    this.exchange = exchange;
    writeRequest(socket, exchange);
  }

  onData(socket, chunk) {
    const exchange = this.exchange;
    if (socket !== this.socket || exchange === null) return;
    let response;
    try {
      response = exchange.parser.feed(chunk);
    } catch (err) {
      socket.destroy(err);
      return;
    }
    if (response === null) return;
    this.exchange = null;
    if (response.keepAlive) {
      socket.unref(); // an idle connection must not keep the event loop alive
    } else {
      this.socket = null;
      socket.destroy();
    }
    exchange.resolve(response);
  }

  onEnd(socket, err) {
    if (socket !== this.socket) return;
    this.socket = null;
    const exchange = this.exchange;
    if (exchange === null) return;
    this.exchange = null;
    const response = exchange.parser.closed();
    if (response !== null) {
      exchange.resolve(response);
    } else if (!exchange.fresh && !exchange.retried && !exchange.parser.started) {
      this.send(exchange, true); // the kept-alive connection had gone away: retry once
    } else {
      exchange.reject(err || new Error('The Runtime API closed the connection'));
    }
  }

  sendAlone(exchange) {
    const parser = new ResponseParser();
    const socket = this.connect();
    socket.on('data', (chunk) => {
      let response;
      try {
        response = parser.feed(chunk);
      } catch (err) {
        socket.destroy();
        exchange.reject(err);
        return;
      }
      if (response !== null) {
        socket.destroy();
        exchange.resolve(response);
      }
    });
    socket.on('error', (err) => exchange.reject(err));
    socket.on('close', () => {
      const response = parser.closed();
      if (response !== null) exchange.resolve(response);
      else exchange.reject(new Error('The Runtime API closed the connection'));
    });
    writeRequest(socket, exchange);
  }

  async nextInvocation() {
    const response = await this.request('GET', '/runtime/invocation/next', '', null);
    if (response.status !== 200) {
      throw new Error(
        `Failed to get next invocation: HTTP ${response.status}: ${response.body.toString()}`
      );
    }
    return { bodyJson: response.body.toString('utf8'), headers: response.headers };
  }

  post(route, headers, body, callback) {
    this.request('POST', route, headers, body).then(
      () => callback && callback(),
      (err) => {
        writeFd(2, `Lamina runtime: request to the Runtime API failed: ${err}\n`);
        process.exit(1);
      }
    );
  }

  /** Throws at once if the result cannot be serialised (the RIC does too). */
  postInvocationResponse(response, id, callback) {
    const body = Buffer.from(serializeResponse(response), 'utf8');
    this.post(
      `/runtime/invocation/${encodeURIComponent(id)}/response`,
      'Content-Type: application/json\r\n',
      body,
      callback
    );
  }

  postInvocationError(error, id, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(serializeResponse(response), 'utf8');
    let headers = 'Content-Type: application/json\r\n';
    if (response.errorType) {
      headers += `Lambda-Runtime-Function-Error-Type: ${headerValue(response.errorType)}\r\n`;
    }
    const cause = xrayCause(error);
    if (cause && cause.length < 1 << 20) {
      headers += `Lambda-Runtime-Function-XRay-Error-Cause: ${headerValue(cause)}\r\n`;
    }
    this.post(`/runtime/invocation/${encodeURIComponent(id)}/error`, headers, body, callback);
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(serializeResponse(response), 'utf8');
    let headers = 'Content-Type: application/json\r\n';
    if (response.errorType) {
      headers += `Lambda-Runtime-Function-Error-Type: ${headerValue(response.errorType)}\r\n`;
    }
    this.post('/runtime/init/error', headers, body, callback);
  }
}

/** One write (one segment) for small requests; head and body without a copy for large ones. */
function writeRequest(socket, exchange) {
  const { head, body } = exchange;
  if (body === null || body.length === 0) {
    socket.write(head);
  } else if (body.length <= 65536) {
    socket.write(Buffer.concat([head, body], head.length + body.length));
  } else {
    socket.cork();
    socket.write(head);
    socket.write(body);
    socket.uncork();
  }
}

function headerValue(value) {
  return String(value).replace(/[\r\n]+/g, ' ');
}

// --- handler loading -------------------------------------------------------------------------

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

const HttpResponseStream = class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType('application/vnd.awslambda.http-integration-response');
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
};

function streamifyResponse(handler, options) {
  handler[HANDLER_STREAMING] = STREAM_RESPONSE;
  if (typeof options?.highWaterMark === 'number') {
    handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
  }
  return handler;
}

function installGlobals() {
  if (NO_GLOBAL_AWSLAMBDA) return;
  if (MODERN) {
    globalThis.awslambda = {
      ...globalThis.awslambda,
      streamifyResponse,
      HttpResponseStream,
      InvokeStore: globalThis.awslambda?.InvokeStore || invokeStore,
    };
  } else {
    globalThis.awslambda = { streamifyResponse, HttpResponseStream };
  }
}

function fileUrl(file) {
  return require('url').pathToFileURL(file).href;
}

function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const packageJson = path.join(folder, '/package.json');
  if (fs.existsSync(packageJson)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(packageJson));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(
        `${packageJson} cannot be read, it will be ignored for ES module detection purposes.`,
        e
      );
      return false;
    }
  }
  if (folder === '/') return false;
  return hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

function tryRequireFile(file, extension) {
  const candidate = file + (extension || '');
  return fs.existsSync(candidate) ? require(candidate) : undefined;
}

async function tryAwaitImport(file, extension) {
  const candidate = file + (extension || '');
  return fs.existsSync(candidate) ? await import(fileUrl(candidate)) : undefined;
}

/** aws-lambda-ric 3.x: CommonJS first, ES modules by extension or package.json "type". */
async function loadLegacyModule(appRoot, moduleRoot, moduleName) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const jsPath = lambdaStylePath + '.js';
  const typeModule = fs.existsSync(jsPath)
    ? hasFolderPackageJsonTypeModule(path.resolve(path.dirname(jsPath)))
    : false;
  if (!typeModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (typeModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

/** aws-lambda-ric 4.x: import() by extension, then Node's own resolution. */
async function loadModernModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  for (const extension of ['', '.js', '.mjs', '.cjs']) {
    const loaded = await tryAwaitImport(base, extension);
    if (loaded) return loaded;
  }
  return require(require.resolve(moduleName, { paths: [appRoot, path.join(appRoot, moduleRoot)] }));
}

function findIn(handlerPath, object) {
  return handlerPath.split('.').reduce((nested, key) => {
    if (MODERN) return nested && typeof nested === 'object' ? nested[key] : undefined;
    return nested && nested[key];
  }, object);
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    const message =
      `'${fullHandlerString}' is not a valid handler name. ` +
      'Use absolute paths when specifying root directories in handler names.';
    throw MODERN ? modernError('Runtime.MalformedHandlerName', message) : new MalformedHandlerName(message);
  }
  const handlerString = path.basename(fullHandlerString);
  let moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  const match = handlerString.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) {
    throw MODERN
      ? modernError('Runtime.MalformedHandlerName', 'Bad handler')
      : new MalformedHandlerName('Bad handler');
  }
  const [, moduleName, handlerPath] = match;
  if (!MODERN) installGlobals();
  let userApp;
  try {
    if (MODERN) {
      moduleRoot = moduleRoot.replace(/\/$/, '');
      userApp = await loadModernModule(appRoot, moduleRoot, moduleName);
    } else {
      userApp = await loadLegacyModule(appRoot, moduleRoot, moduleName);
    }
  } catch (e) {
    if (e instanceof SyntaxError) {
      if (!MODERN) throw new UserCodeSyntaxError(e);
      const error = modernError('Runtime.UserCodeSyntaxError', String(e));
      error.stack = e.stack;
      throw error;
    }
    if (MODERN ? e instanceof Error && e.code === 'MODULE_NOT_FOUND' : e.code === 'MODULE_NOT_FOUND') {
      throw MODERN ? modernError('Runtime.ImportModuleError', String(e)) : new ImportModuleError(e);
    }
    throw e;
  }
  let handler = findIn(handlerPath, userApp);
  if (MODERN && !handler && typeof userApp === 'object' && userApp !== null && 'default' in userApp) {
    handler = findIn(handlerPath, userApp.default);
  }
  if (!handler) {
    const message = `${fullHandlerString} is undefined or not exported`;
    throw MODERN ? modernError('Runtime.HandlerNotFound', message) : new HandlerNotFound(message);
  }
  if (typeof handler !== 'function') {
    const message = `${fullHandlerString} is not a function`;
    throw MODERN ? modernError('Runtime.HandlerNotFound', message) : new HandlerNotFound(message);
  }
  return handler;
}

function handlerMetadata(handler) {
  const mode = handler[HANDLER_STREAMING];
  let streaming = false;
  if (mode !== undefined && mode !== null && mode !== false) {
    if (mode !== STREAM_RESPONSE) {
      const message = 'Only response streaming is supported.';
      throw MODERN
        ? modernError('Runtime.MalformedStreamingHandler', message)
        : new MalformedStreamingHandler(message);
    }
    streaming = true;
  }
  return { streaming, argsNum: handler.length, highWaterMark: handler[HANDLER_HIGHWATERMARK] };
}

// --- invocation ------------------------------------------------------------------------------

const BEFORE_EXIT = Symbol.for('aws.lambda.beforeExit');
const noOp = () => {};
const BeforeExitListener = {
  invoke: () => global[BEFORE_EXIT](),
  reset: () => {
    global[BEFORE_EXIT] = noOp;
  },
  set: (listener) => {
    global[BEFORE_EXIT] = listener;
  },
};

function isPromise(value) {
  return value && value.then && typeof value.then === 'function';
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function forwardXRay(traceId) {
  if (traceId) env._X_AMZN_TRACE_ID = traceId;
  else delete env._X_AMZN_TRACE_ID;
}

/** The invocation's headers, as the context object and the logs need them (3.x). */
class InvokeContext {
  constructor(headers) {
    this.headers = headers;
  }

  get invokeId() {
    const id = this.headers['lambda-runtime-aws-request-id'];
    if (!id) throw new Error('invocation id is missing or invalid');
    return id;
  }

  updateLoggingContext() {
    global[REQUEST_ID] = this.invokeId;
    global[TENANT_ID] = this.headers['lambda-runtime-aws-tenant-id'];
  }

  attachEnvironmentData(callbackContext) {
    const headers = this.headers;
    forwardXRay(headers['lambda-runtime-trace-id']);
    const deadline = headers['lambda-runtime-deadline-ms'];
    return Object.assign(
      callbackContext,
      {
        functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
        functionName: env.AWS_LAMBDA_FUNCTION_NAME,
        memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      },
      {
        clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: headers['lambda-runtime-aws-request-id'],
        tenantId: headers['lambda-runtime-aws-tenant-id'],
        getRemainingTimeInMillis: function () {
          return deadline - Date.now();
        },
      }
    );
  }
}

/** callback, context members (callbackWaitsForEmptyEventLoop, done, succeed, fail) (3.x). */
function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, callback) => {
    logError('Invoke Error', err);
    client.postInvocationError(err, id, callback);
  };
  let isCompleteInvoked = false;
  const complete = (result, callback) => {
    if (isCompleteInvoked) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.'
      );
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id, callback);
  };
  let waitForEmptyEventLoop = true;
  const callback = function (err, result) {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      BeforeExitListener.set(() => {
        setImmediate(() => {
          complete(result, scheduleNext);
        });
      });
    }
  };
  const done = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const succeed = (result) => {
    done(null, result);
  };
  const fail = (err) => {
    if (err === undefined || err === null) done('handled');
    else done(err, null);
  };
  // Only the first of callback/done/succeed/fail counts.
  let finished = false;
  const onlyFirst = (fn) =>
    function () {
      if (!finished) {
        fn.apply(null, arguments);
        finished = true;
      }
    };
  const callbackContext = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: onlyFirst(succeed),
    fail: onlyFirst(fail),
    done: onlyFirst(done),
  };
  const markCompleted = () => {
    isCompleteInvoked = true;
  };
  return [onlyFirst(callback), callbackContext, markCompleted];
}

/** The response stream of an awslambda.streamifyResponse handler (response_stream.cjs). */
function openResponseStream(client, id, highWaterMark) {
  const { streamingResponse } = require(path.join(__dirname, 'response_stream.cjs'));
  const helpers = {
    apiPrefix: API_PREFIX,
    userAgent: USER_AGENT,
    headerValue,
    toRapidResponse,
    serializeResponse,
    ResponseParser,
    tooLate: (message) =>
      MODERN
        ? modernError('Runtime.InvalidStreamingOperation', message)
        : new InvalidStreamingOperation(message),
  };
  return streamingResponse(client, id, helpers, highWaterMark);
}

/** The invoke loop of aws-lambda-ric 3.x (nodejs18.x to nodejs22.x). */
class Runtime {
  constructor(client, handler, metadata, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce = metadata.streaming ? this.handleOnceStreaming : this.handleOnceNonStreaming;
    this.highWaterMark = metadata.highWaterMark;
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(noOp, (err) => {
        console.log(`Unexpected Top Level Error: ${err.toString()}`);
        this.errorCallbacks.uncaughtException(err);
      });
    });
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();
    const [callback, callbackContext, markCompleted] = buildCallbackContext(
      this.client,
      invokeContext.invokeId,
      this.scheduleIteration.bind(this)
    );
    try {
      this.setErrorCallbacks(invokeContext.invokeId);
      this.setDefaultExitListener(invokeContext.invokeId, markCompleted);
      const result = this.handler(
        JSON.parse(bodyJson),
        invokeContext.attachEnvironmentData(callbackContext),
        callback
      );
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();
    const id = invokeContext.invokeId;
    let waitForEmptyEventLoop = true;
    const scheduleNext = () => {
      BeforeExitListener.reset();
      if (!waitForEmptyEventLoop) {
        this.scheduleIteration();
      } else {
        BeforeExitListener.set(() => {
          setImmediate(() => this.scheduleIteration());
        });
      }
    };
    const fail = (err) => {
      logError('Invoke Error', err);
      this.client.postInvocationError(err, id, scheduleNext);
    };
    const streamingContext = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
    };
    const response = openResponseStream(this.client, id, this.highWaterMark);
    try {
      this.setErrorCallbacks(id);
      BeforeExitListener.set(() => this.scheduleIteration());
      const context = invokeContext.attachEnvironmentData(streamingContext);
      const result = this.handler(JSON.parse(bodyJson), response.stream, context);
      if (!isPromise(result)) {
        fail('Streaming does not support non-async handlers.');
        return;
      }
      const value = await result;
      if (typeof value !== 'undefined') console.warn('Streaming handlers ignore return values.');
      await response.finished;
      await response.replied();
      scheduleNext();
    } catch (err) {
      if (!response.opened()) {
        fail(err);
        return;
      }
      logError('Invoke Error', err);
      response.fail(err).then(scheduleNext, (postError) => {
        writeFd(2, `Lamina runtime: request to the Runtime API failed: ${postError}\n`);
        process.exit(1);
      });
    }
  }

  setErrorCallbacks(invokeId) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(128));
    };
  }

  /** A handler that neither returns a promise nor calls back answers null once idle. */
  setDefaultExitListener(invokeId, markCompleted) {
    BeforeExitListener.set(() => {
      markCompleted();
      this.client.postInvocationResponse(null, invokeId, () => this.scheduleIteration());
    });
  }
}

async function startLegacy(appRoot, handlerString) {
  patchConsole();
  const client = new RapidClient(env.AWS_LAMBDA_RUNTIME_API);
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  BeforeExitListener.reset();
  process.on('beforeExit', BeforeExitListener.invoke);
  const handler = await loadHandler(appRoot, handlerString);
  new Runtime(client, handler, handlerMetadata(handler), errorCallbacks).scheduleIteration();
}

// --- aws-lambda-ric 4.x (nodejs24.x and later) -------------------------------------------------

function modernContext(headers) {
  const required = [
    'lambda-runtime-invoked-function-arn',
    'lambda-runtime-aws-request-id',
    'lambda-runtime-deadline-ms',
  ];
  const missing = required.filter((name) => !(name in headers));
  if (missing.length > 0) {
    throw modernError('Runtime.PlatformError', `Missing required headers: ${missing.join(', ')}`);
  }
  const deadline = parseInt(headers['lambda-runtime-deadline-ms'], 10);
  if (isNaN(deadline)) throw modernError('Runtime.PlatformError', 'Invalid deadline timestamp');
  const parse = (name) => {
    const value = headers[name];
    if (!value) return undefined;
    try {
      return JSON.parse(value);
    } catch (error) {
      throw modernError('Runtime.PlatformError', `Failed to parse ${name} as JSON: ${error.message}`);
    }
  };
  const traceId = headers['lambda-runtime-trace-id'];
  const context = {
    clientContext: parse('lambda-runtime-client-context'),
    identity: parse('lambda-runtime-cognito-identity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    xRayTraceId: traceId,
    getRemainingTimeInMillis: function () {
      return deadline - Date.now();
    },
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
  forwardXRay(traceId);
  return context;
}

function nextTurn() {
  return new Promise((resolve) => setImmediate(resolve));
}

function postAndWait(post) {
  return new Promise((resolve) => post(resolve));
}

async function startModern(appRoot, handlerString) {
  installGlobals();
  patchConsole();
  for (const name of ['AWS_LAMBDA_RUNTIME_API', '_HANDLER', 'LAMBDA_TASK_ROOT']) {
    if (!env[name]) throw modernError('Runtime.PlatformError', `${name} environment variable is not set`);
  }
  const client = new RapidClient(env.AWS_LAMBDA_RUNTIME_API);
  let handler;
  let metadata;
  try {
    handler = await loadHandler(appRoot, handlerString);
    metadata = handlerMetadata(handler);
    if (metadata.argsNum >= 3 && !metadata.streaming) {
      throw modernError('Runtime.CallbackHandlerDeprecated', CALLBACK_ERROR_NODEJS24_ABOVE);
    }
  } catch (error) {
    logError('Init Error', error);
    await postAndWait((done) => client.postInitError(error, done));
    throw error;
  }
  const fail = async (id, error) => {
    await nextTurn();
    logError('Invoke Error', error);
    await postAndWait((done) => client.postInvocationError(error, id, done));
  };
  for (;;) {
    const { bodyJson, headers } = await client.nextInvocation();
    const context = modernContext(headers);
    const event = JSON.parse(bodyJson);
    const id = context.awsRequestId;
    await invokeStore.run(
      { [PROTECTED_KEYS.REQUEST_ID]: id, [PROTECTED_KEYS.X_RAY_TRACE_ID]: context.xRayTraceId },
      async () => {
        if (!metadata.streaming) {
          try {
            const result = await handler(event, context);
            await nextTurn();
            const body = Buffer.from(serializeResponse(result), 'utf8');
            await postAndWait((done) =>
              client.post(
                `/runtime/invocation/${encodeURIComponent(id)}/response`,
                'Content-Type: application/json\r\n',
                body,
                done
              )
            );
          } catch (err) {
            await fail(id, err);
          }
          return;
        }
        const response = openResponseStream(client, id, metadata.highWaterMark);
        try {
          const result = handler(event, response.stream, context);
          if (!(typeof result === 'object' && result !== null && typeof result.then === 'function')) {
            throw new Error('Streaming does not support non-async handlers.');
          }
          if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
          await response.finished;
          await response.replied();
        } catch (err) {
          if (!response.opened()) {
            await fail(id, err);
          } else {
            logError('Invoke Error', err);
            await response.fail(err);
          }
        }
      }
    );
  }
}

// --- main ------------------------------------------------------------------------------------

function main() {
  const appRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const handlerString = process.argv[2] || env._HANDLER || '';
  if (MODERN) {
    // As in aws-lambda-ric 4.x, a failed start is an unhandled rejection: Node prints it, exits 1.
    startModern(appRoot, handlerString);
    return;
  }
  // As AWS's index.mjs awaits the start at top level, a failed start is an uncaught exception.
  startLegacy(appRoot, handlerString).catch((err) => {
    setImmediate(() => {
      throw err;
    });
  });
}

main();
