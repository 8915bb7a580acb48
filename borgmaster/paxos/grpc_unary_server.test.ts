// UnaryGrpcServer: a grpc-js client gets answers and statuses (NotLeader's hint included) as from a grpc-js
// server; malformed HTTP/2 requests, sent raw, each get their precise status, and the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants as h2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { Metadata, credentials } from '@grpc/grpc-js';
import { PaxosKvClient, invoke, type KvPutRequest } from '../../proto/index';
import { KvPutRequest as KvPutRequestCodec } from '../../proto/index';
import { BorgError, InvalidArgument, NotLeader } from '../../model/errors';
import { PAXOS_KV_ANSWERS_PER_TURN } from '../../cells/limits';
import { UnaryGrpcServer, grpcMessage } from './grpc_unary_server';
import { encodePutResponse } from './replica_kv';

const PUT = '/borg.v1.PaxosKv/Put';

/** startServer serves Put: index = key length, key "leader?" answers NotLeader, key "boom" throws. */
async function startServer(): Promise<{ server: UnaryGrpcServer; address: string; seen: KvPutRequest[] }> {
  const server = new UnaryGrpcServer({ maxConcurrentStreams: 256 });
  const seen: KvPutRequest[] = [];
  server.addMethod<KvPutRequest, number>(PUT, {
    maxRequestBytes: 1024,
    deserialize: (b) => {
      const req = KvPutRequestCodec.decode(b);
      if (req.key === '') throw new InvalidArgument('key', 'must not be empty');
      return req;
    },
    serialize: encodePutResponse,
    handle: (req, done) => {
      seen.push(req);
      if (req.key === 'leader?') done(new NotLeader('127.0.0.1:9'));
      else if (req.key === 'boom') throw new Error('handler bug');
      else setImmediate(() => done(null, req.key.length));
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { server, address: `127.0.0.1:${port}`, seen };
}

test('a grpc-js client gets responses, mapped errors and the NotLeader hint', async (t) => {
  const { server, address } = await startServer();
  const client = new PaxosKvClient(address, credentials.createInsecure());
  t.after(async () => {
    client.close();
    await server.close();
  });
  const put = (key: string, value = Buffer.alloc(3)): Promise<{ index: number }> => invoke(client.put.bind(client), { key, value }, new Metadata(), 5_000);
  assert.deepEqual(await put('abcde'), { index: 5 });
  const many = await Promise.all(Array.from({ length: 300 }, (_, i) => put('k'.repeat(1 + (i % 20)))));
  assert.deepEqual(many.map((r) => r.index), Array.from({ length: 300 }, (_, i) => 1 + (i % 20)));
  await assert.rejects(put('leader?'), (e: unknown) => e instanceof NotLeader && e.leaderAddress === '127.0.0.1:9');
  await assert.rejects(put(''), (e: unknown) => e instanceof BorgError && e.code === 'invalid_argument' && e.message === 'key: must not be empty');
  await assert.rejects(put('boom'), (e: unknown) => e instanceof BorgError && e.code === 'internal' && e.message.includes('handler bug'));
  await assert.rejects(put('big', Buffer.alloc(2000)), (e: unknown) => e instanceof BorgError && e.code === 'resource_exhausted' && e.message.includes('exceeds the limit of 1024'));
  const get = invoke(client.get.bind(client), { key: 'x', linearizable: false }, new Metadata(), 5_000);
  await assert.rejects(get, (e: unknown) => e instanceof BorgError && e.message.includes('unknown method /borg.v1.PaxosKv/Get'));
  assert.deepEqual(await put('still serving'), { index: 13 });
  assert.equal(server.stats.failedCalls, 5);
});

interface RawAnswer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
}

function frame(message: Uint8Array, compressed = 0): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b[0] = compressed;
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

/** raw sends one HTTP/2 request with the given headers and body chunks, and collects what comes back. */
function raw(session: ClientHttp2Session, headers: Record<string, string>, chunks: Buffer[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: PUT, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const out: RawAnswer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    req.on('response', (h) => (out.headers = h));
    req.on('trailers', (h) => (out.trailers = h));
    req.on('data', (c: Buffer) => (out.body = Buffer.concat([out.body, c])));
    req.on('end', () => resolve(out));
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const grpcStatus = (a: RawAnswer): string | undefined => {
  const s = a.trailers['grpc-status'] ?? a.headers['grpc-status'];
  return s === undefined ? undefined : String(s);
};

test('malformed requests each get a precise status, and the server keeps serving', async (t) => {
  const { server, address, seen } = await startServer();
  const session = connect(`http://${address}`);
  t.after(async () => {
    session.close();
    await server.close();
  });
  const good = frame(KvPutRequestCodec.encode({ key: 'abc', value: Buffer.alloc(1) }).finish());
  const cases: { name: string; headers?: Record<string, string>; chunks: Buffer[]; http?: number; status?: string; message?: RegExp }[] = [
    { name: 'GET', headers: { [h2.HTTP2_HEADER_METHOD]: 'GET' }, chunks: [], http: 405 },
    { name: 'not gRPC', headers: { 'content-type': 'application/json' }, chunks: [good], http: 415 },
    { name: 'unknown path', headers: { [h2.HTTP2_HEADER_PATH]: '/x.Y/Z' }, chunks: [good], status: '12', message: /unknown method \/x\.Y\/Z/ },
    { name: 'gzip', headers: { 'grpc-encoding': 'gzip' }, chunks: [good], status: '12', message: /grpc-encoding gzip/ },
    { name: 'compressed flag', chunks: [frame(Buffer.alloc(3), 1)], status: '13', message: /compressed/ },
    { name: 'no message', chunks: [], status: '3', message: /no request message/ },
    { name: 'truncated', chunks: [good.subarray(0, good.length - 1)], status: '3', message: /truncated/ },
    { name: 'prefix split', chunks: [good.subarray(0, 2), good.subarray(2, 4), good.subarray(4)], status: '0' },
    { name: 'two messages', chunks: [good, good], status: '3', message: /more than one request message/ },
    { name: 'oversized', chunks: [frame(Buffer.alloc(5000))], status: '8', message: /5000 bytes exceeds the limit of 1024/ },
    { name: 'does not decode', chunks: [frame(Buffer.from([0x0a, 0x7f]))], status: '3', message: /request: does not decode/ },
    { name: 'field error', chunks: [frame(KvPutRequestCodec.encode({ key: '', value: Buffer.alloc(1) }).finish())], status: '3', message: /key: must not be empty/ },
  ];
  for (const c of cases) {
    const a = await raw(session, c.headers ?? {}, c.chunks);
    if (c.http !== undefined) {
      assert.equal(a.headers[h2.HTTP2_HEADER_STATUS], c.http, c.name);
      continue;
    }
    assert.equal(a.headers[h2.HTTP2_HEADER_STATUS], 200, c.name);
    assert.equal(grpcStatus(a), c.status, c.name);
    if (c.message) assert.match(decodeURIComponent(String(a.trailers['grpc-message'] ?? a.headers['grpc-message'])), c.message, c.name);
    if (c.status === '0') assert.deepEqual(a.body, frame(encodePutResponse(3)), c.name);
  }
  assert.equal(seen.length, 1, 'only the well-formed request reached the handler');
});

test('a call the client resets before the answer is counted and dropped; the server keeps serving', async (t) => {
  const server = new UnaryGrpcServer({ maxConcurrentStreams: 16 });
  let release: (() => void) | undefined;
  server.addMethod<KvPutRequest, number>(PUT, {
    maxRequestBytes: 1024,
    deserialize: (b) => KvPutRequestCodec.decode(b),
    serialize: encodePutResponse,
    handle: (req, done) => {
      if (req.key === 'slow') release = () => done(null, 1);
      else done(null, 2);
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  const session = connect(`http://127.0.0.1:${port}`);
  t.after(async () => {
    session.close();
    await server.close();
  });
  const req = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: PUT, 'content-type': 'application/grpc' });
  req.on('error', () => {});
  req.end(frame(KvPutRequestCodec.encode({ key: 'slow', value: Buffer.alloc(1) }).finish()));
  while (release === undefined) await new Promise((r) => setTimeout(r, 5));
  req.close(h2.NGHTTP2_CANCEL);
  while (server.stats.cancelledCalls === 0) await new Promise((r) => setTimeout(r, 5));
  release();
  const a = await raw(session, {}, [frame(KvPutRequestCodec.encode({ key: 'fast', value: Buffer.alloc(1) }).finish())]);
  assert.equal(grpcStatus(a), '0');
  assert.deepEqual(a.body, frame(encodePutResponse(2)));
  assert.equal(server.stats.cancelledCalls, 1);
});

test('grpcMessage percent-encodes what the gRPC spec asks', () => {
  const rows: [string, string][] = [
    ['plain text: ok', 'plain text: ok'],
    ['100%', '100%25'],
    ['line\nbreak', 'line%0Abreak'],
    ['café', 'caf%C3%A9'],
  ];
  for (const [input, want] of rows) {
    assert.equal(grpcMessage(input), want);
    assert.equal(decodeURIComponent(want), input);
  }
});

test('encodePutResponse matches the generated encoder', async () => {
  const { KvPutResponse } = await import('../../proto/index');
  for (const index of [0, 1, 127, 128, 300, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
    assert.deepEqual(Buffer.from(encodePutResponse(index)), Buffer.from(KvPutResponse.encode({ index }).finish()), String(index));
  }
});

test('windowBytes is the HTTP/2 window a client may send into, per stream and per connection', async (t) => {
  const windowBytes = 4 * 1024 * 1024;
  const server = new UnaryGrpcServer({ maxConcurrentStreams: 16, windowBytes });
  const port = await server.listen('127.0.0.1', 0);
  const session = connect(`http://127.0.0.1:${port}`);
  t.after(async () => {
    session.destroy();
    await server.close();
  });
  let streamWindowBytes = 0;
  session.on('remoteSettings', (s) => {
    streamWindowBytes = s.initialWindowSize ?? 0;
  });
  const deadline = Date.now() + 10_000;
  while (!(streamWindowBytes > 65_535 && (session.state.remoteWindowSize ?? 0) > 65_535) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(streamWindowBytes, windowBytes);
  assert.equal(session.state.remoteWindowSize, windowBytes);
});

test('answers given in one turn beyond PAXOS_KV_ANSWERS_PER_TURN go out in the next turns, every one to its caller', async (t) => {
  const server = new UnaryGrpcServer({ maxConcurrentStreams: 1024 });
  let waiting: { key: string; done: (err: unknown, res?: number) => void }[] = [];
  const calls = PAXOS_KV_ANSWERS_PER_TURN * 8 + 5;
  server.addMethod<KvPutRequest, number>(PUT, {
    maxRequestBytes: 1024,
    deserialize: (b) => KvPutRequestCodec.decode(b),
    serialize: encodePutResponse,
    handle: (req, done) => {
      // Hold every call until all have arrived, then answer them all in one turn, as a Paxos batch does.
      waiting.push({ key: req.key, done });
      if (waiting.length === calls) {
        const all = waiting;
        waiting = [];
        for (const w of all) w.done(null, Number(w.key.slice(1)));
      }
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  const client = new PaxosKvClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.after(async () => {
    client.close();
    await server.close();
  });
  const put = (i: number): Promise<number> => invoke(client.put.bind(client), { key: `k${i + 1}`, value: Buffer.alloc(0) }, new Metadata(), 10_000).then((r) => r.index);
  const got = await Promise.all(Array.from({ length: calls }, (_, i) => put(i)));
  assert.deepEqual(got, Array.from({ length: calls }, (_, i) => i + 1));
  assert.equal(server.stats.failedCalls, 0);
});
