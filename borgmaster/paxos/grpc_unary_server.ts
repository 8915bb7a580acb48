// UnaryGrpcServer serves unary gRPC methods straight on node:http2, for the standalone replica's client service
// (PaxosKv). Why not grpc-js's Server: per call it costs ~63 us of server CPU against ~37 us for the same call
// served here (measured with a grpc-js client, 256 concurrent calls, trivial handler), and at group-commit rates
// that per-call cost, not Paxos, was most of a leader's CPU per commit. The wire protocol is gRPC's own (HTTP/2
// framing, length-prefixed messages, grpc-status trailers), so any gRPC client talks to it; replica-to-replica
// Paxos traffic stays on grpc-js (transport.ts).
import { createServer, constants as h2, type Http2Server, type Http2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { assert } from '../../model/assert';
import { InvalidArgument, toGrpcError } from '../../model/errors';
import { PAXOS_KV_ANSWERS_PER_TURN } from '../../cells/limits';
import { assertWindowBytes } from './grpc_listen';

/**
 * UnaryMethod is one method: how to read its request, how to write its response, and the handler, which answers
 * through `done` exactly once (a callback, not a promise: the hot path allocates nothing it does not need).
 * deserialize may throw (InvalidArgument names the field); the client then gets INVALID_ARGUMENT.
 */
export interface UnaryMethod<Req, Res> {
  deserialize(bytes: Buffer): Req;
  serialize(res: Res): Uint8Array;
  handle(req: Req, done: (err: unknown, res?: Res) => void): void;
  /** maxRequestBytes bounds one request message (its length prefix is checked before the body is buffered). */
  maxRequestBytes: number;
}

export interface UnaryGrpcServerOptions {
  /** maxConcurrentStreams: calls one connection may have open at once (HTTP/2 SETTINGS; the client queues beyond). */
  maxConcurrentStreams: number;
  /**
   * windowBytes: the HTTP/2 receive window per connection and per stream (node's default, 64 KiB, when omitted).
   * With 64 KiB, a wave of a few hundred puts on one connection stalls for a WINDOW_UPDATE, which this server sends
   * only when its event loop gets to it.
   */
  windowBytes?: number;
}

export interface ServerStats {
  calls: number;
  /** failedCalls ended with a non-OK status (bad input, handler errors, unknown methods). */
  failedCalls: number;
  /** cancelledCalls were reset by the client (deadline, cancel) before the answer; the answer was dropped. */
  cancelledCalls: number;
  sessionErrors: number;
}

/** The gRPC length prefix: a compression flag byte and a 4-byte big-endian length. */
const PREFIX_BYTES = 5;

const OK_HEADERS: OutgoingHttpHeaders = { [h2.HTTP2_HEADER_STATUS]: 200, [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto' };
const OK_TRAILERS: OutgoingHttpHeaders = { 'grpc-status': '0' };

/** grpcMessage percent-encodes a status message as the gRPC spec asks (printable ASCII except '%' stays). */
export function grpcMessage(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Call is one unary call being read: its method and the message bytes received so far. */
class Call {
  chunks: Buffer[] = [];
  bytes = 0;
  /** expected is the request's total size (prefix + message) once its prefix is in, -1 before. */
  expected = -1;
  answered = false;
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly method: UnaryMethod<unknown, unknown>,
  ) {}
}

/**
 * UnaryGrpcServer: addMethod() for each path (`/package.Service/Method`), then listen(). Every call gets exactly
 * one answer: the response, or a status (Trailers-Only, as gRPC servers send errors). Malformed input (wrong
 * method or content type, compressed or oversized messages, zero or two messages in a unary call) gets a precise
 * status and never reaches a handler; a client that resets its stream (deadline, cancel) is simply not answered.
 * Deadlines are the client's to enforce: a Put already proposed cannot be withdrawn, so the server has nothing to
 * stop when one passes, and a timer per call would cost what this server exists to save.
 */
export class UnaryGrpcServer {
  private readonly methods = new Map<string, UnaryMethod<unknown, unknown>>();
  private readonly sessions = new Set<Http2Session>();
  private readonly http2: Http2Server;
  readonly stats: ServerStats = { calls: 0, failedCalls: 0, cancelledCalls: 0, sessionErrors: 0 };
  /**
   * Answers written in this turn of the event loop, and those held for the next turns. Node's http2 sends what a
   * turn wrote only when the turn ends, so the 256 answers of one Paxos batch went out as one burst ~4 ms after the
   * commit; a client then read them all in one long turn (~50 ms of a grpc-js client's CPU) before any of its next
   * calls left, and the replicas idled meanwhile. Up to PAXOS_KV_ANSWERS_PER_TURN answers go per turn: the first
   * leave sooner, the last no later than the burst did (the turns in between are cheap), and the client's next
   * calls start coming back while it works through the rest, as they do from servers that answer each call as it
   * completes.
   */
  private writtenThisTurn = 0;
  private held: ({ stream: ServerHttp2Stream; message: Uint8Array } | undefined)[] = [];
  private heldHead = 0;

  constructor(options: UnaryGrpcServerOptions) {
    assert(Number.isSafeInteger(options.maxConcurrentStreams) && options.maxConcurrentStreams > 0, 'maxConcurrentStreams > 0');
    const { windowBytes } = options;
    assertWindowBytes(windowBytes);
    this.http2 = createServer({ settings: { maxConcurrentStreams: options.maxConcurrentStreams, ...(windowBytes === undefined ? {} : { initialWindowSize: windowBytes }) } });
    // Nagle off, as Go's net package (etcd) and grpc_listen.ts do: a small response must not wait for an ACK.
    this.http2.on('connection', (socket: Socket) => socket.setNoDelay(true));
    this.http2.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      if (windowBytes !== undefined) session.setLocalWindowSize(windowBytes);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => {
        this.stats.sessionErrors += 1; // a broken connection; its streams close with it
      });
    });
    this.http2.on('sessionError', () => {
      this.stats.sessionErrors += 1;
    });
    this.http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.onStream(stream, headers));
  }

  addMethod<Req, Res>(path: string, method: UnaryMethod<Req, Res>): void {
    assert(/^\/[\w.]+\/\w+$/.test(path), `gRPC method path ${path}`);
    assert(!this.methods.has(path), `method ${path} added twice`);
    assert(Number.isSafeInteger(method.maxRequestBytes) && method.maxRequestBytes > 0, 'maxRequestBytes > 0');
    this.methods.set(path, method as UnaryMethod<unknown, unknown>);
  }

  /** listen binds host:port (port 0 picks one) and resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http2.once('error', reject);
      this.http2.listen({ host, port }, () => {
        this.http2.off('error', reject);
        const a = this.http2.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  /** close stops accepting and destroys every open connection (calls in flight are not answered). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http2.close(() => resolve());
      for (const s of this.sessions) s.destroy();
    });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.stats.calls += 1;
    stream.on('error', () => {
      // A reset or broken stream: there is no one left to answer.
    });
    if (headers[h2.HTTP2_HEADER_METHOD] !== 'POST') {
      this.refuseHttp(stream, 405);
      return;
    }
    const contentType = headers[h2.HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !(contentType === 'application/grpc' || contentType.startsWith('application/grpc+') || contentType.startsWith('application/grpc;'))) {
      this.refuseHttp(stream, 415);
      return;
    }
    const path = headers[h2.HTTP2_HEADER_PATH];
    const method = typeof path === 'string' ? this.methods.get(path) : undefined;
    if (method === undefined) {
      this.fail(stream, status.UNIMPLEMENTED, `unknown method ${String(path)}`);
      return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      this.fail(stream, status.UNIMPLEMENTED, `grpc-encoding ${String(encoding)} is not supported (identity only)`, { 'grpc-accept-encoding': 'identity' });
      return;
    }
    const call = new Call(stream, method);
    stream.on('data', (chunk: Buffer) => this.onData(call, chunk));
    stream.once('end', () => this.onEnd(call));
    stream.once('close', () => {
      if (!call.answered) this.stats.cancelledCalls += 1;
      call.answered = true;
    });
  }

  private onData(call: Call, chunk: Buffer): void {
    if (call.answered) return;
    call.chunks.push(chunk);
    call.bytes += chunk.length;
    if (call.expected < 0) {
      if (call.bytes < PREFIX_BYTES) return;
      // Check the length prefix as soon as it is in: an oversized message is refused before it is buffered.
      const head = call.chunks.length === 1 ? chunk : Buffer.concat(call.chunks);
      call.chunks = [head];
      const length = head.readUInt32BE(1);
      if (head[0] !== 0) {
        this.answerStatus(call, status.INTERNAL, 'compressed message without a grpc-encoding');
        return;
      }
      if (length > call.method.maxRequestBytes) {
        this.answerStatus(call, status.RESOURCE_EXHAUSTED, `request message of ${length} bytes exceeds the limit of ${call.method.maxRequestBytes}`);
        return;
      }
      call.expected = PREFIX_BYTES + length;
    }
    if (call.bytes > call.expected) this.answerStatus(call, status.INVALID_ARGUMENT, 'more than one request message in a unary call');
  }

  private onEnd(call: Call): void {
    if (call.answered) return;
    const body = call.chunks.length === 1 ? (call.chunks[0] as Buffer) : Buffer.concat(call.chunks);
    call.chunks = [];
    if (call.expected < 0 || body.length !== call.expected) {
      this.answerStatus(call, status.INVALID_ARGUMENT, body.length === 0 ? 'no request message in a unary call' : 'truncated request message');
      return;
    }
    let req: unknown;
    try {
      req = call.method.deserialize(body.subarray(PREFIX_BYTES));
    } catch (e: unknown) {
      this.answerError(call, e instanceof InvalidArgument ? e : new InvalidArgument('request', `does not decode: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    let replied = false;
    try {
      call.method.handle(req, (err, res) => {
        assert(!replied, 'a unary handler answers once');
        replied = true;
        if (err !== null && err !== undefined) this.answerError(call, err);
        else this.answer(call, res);
      });
    } catch (e: unknown) {
      if (!replied) {
        replied = true;
        this.answerError(call, e);
      }
    }
  }

  private answer(call: Call, res: unknown): void {
    if (call.answered) return;
    let message: Uint8Array;
    try {
      message = call.method.serialize(res);
    } catch (e: unknown) {
      this.answerError(call, e);
      return;
    }
    call.answered = true;
    if (this.writtenThisTurn < PAXOS_KV_ANSWERS_PER_TURN) {
      this.noteWritten();
      this.write(call.stream, message);
    } else {
      this.held.push({ stream: call.stream, message });
    }
  }

  /** noteWritten counts an answer against this turn of the event loop; the turn ends at the next check phase. */
  private noteWritten(): void {
    if (this.writtenThisTurn === 0) setImmediate(this.nextTurn);
    this.writtenThisTurn += 1;
  }

  /** nextTurn starts a turn: node has just sent what the last one wrote; up to the bound of what was held goes now. */
  private readonly nextTurn = (): void => {
    this.writtenThisTurn = 0;
    const n = Math.min(this.held.length - this.heldHead, PAXOS_KV_ANSWERS_PER_TURN);
    for (let i = 0; i < n; i++) {
      const h = this.held[this.heldHead];
      assert(h !== undefined, 'a held answer');
      this.held[this.heldHead] = undefined;
      this.heldHead += 1;
      this.noteWritten();
      this.write(h.stream, h.message);
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    }
  };

  /** write sends one successful answer: the response headers, the length-prefixed message, then the trailers. */
  private write(stream: ServerHttp2Stream, message: Uint8Array): void {
    if (stream.destroyed || stream.closed) return;
    const frame = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, PREFIX_BYTES);
    stream.respond(OK_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    stream.end(frame);
  }

  private answerError(call: Call, e: unknown): void {
    const g = toGrpcError(e);
    this.answerStatus(call, g.code, g.details, g.metadata?.toHttp2Headers());
  }

  private answerStatus(call: Call, code: status, details: string, extra?: OutgoingHttpHeaders): void {
    if (call.answered) return;
    call.answered = true;
    call.chunks = [];
    this.fail(call.stream, code, details, extra);
  }

  /** fail answers with a status only (gRPC's Trailers-Only response). */
  private fail(stream: ServerHttp2Stream, code: status, details: string, extra?: OutgoingHttpHeaders): void {
    this.stats.failedCalls += 1;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond({ ...OK_HEADERS, ...extra, 'grpc-status': String(code), 'grpc-message': grpcMessage(details) }, { endStream: true });
  }

  /** refuseHttp answers a request that is not gRPC at all with a plain HTTP status. */
  private refuseHttp(stream: ServerHttp2Stream, httpStatus: number): void {
    this.stats.failedCalls += 1;
    if (stream.destroyed || stream.closed) return;
    stream.respond({ [h2.HTTP2_HEADER_STATUS]: httpStatus }, { endStream: true });
  }
}
