// listenNoDelay: a grpc-js server reached through our own TCP listener (Nagle off) serves like a bound one,
// close() gives the port back, and windowBytes widens every connection's HTTP/2 windows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { createServer } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, PaxosMessage_Type, type PaxosMessage } from '../../proto/index';
import { freePort } from '../../sim/ports';
import { listenNoDelay } from './grpc_listen';
import { PaxosTransport } from './transport';

function heartbeat(from: number, to: number, index: number): PaxosMessage {
  return { type: PaxosMessage_Type.HEARTBEAT, from, to, ballot: { round: 1, replica: from }, fromSlot: 0, entries: [], commitIndex: index, index, snapshot: undefined, tick: 0, more: false };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a server behind listenNoDelay serves gRPC streams, and close() frees its port', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const got: PaxosMessage[] = [];
  const b = new PaxosTransport({ selfId: 2, peers: [{ id: 1, address: `127.0.0.1:${p1}` }], onMessage: (m) => got.push(m) });
  const server = new Server(CHANNEL_OPTIONS);
  b.registerService(server);
  const listener = await listenNoDelay(server, `127.0.0.1:${p2}`, ServerCredentials.createInsecure());
  assert.equal(listener.port, p2);
  const a = new PaxosTransport({ selfId: 1, peers: [{ id: 2, address: `127.0.0.1:${p2}` }], onMessage: () => {} });
  t.after(() => {
    a.close();
    b.close();
    server.forceShutdown();
  });
  for (let i = 1; i <= 200; i++) a.send(heartbeat(1, 2, i));
  await waitFor(() => got.length === 200, '200 messages through the injected connection');
  assert.deepEqual(got.map((m) => m.index), Array.from({ length: 200 }, (_, i) => i + 1));
  await listener.close();
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: p2 }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

test('listenNoDelay names a malformed address', async () => {
  const server = new Server(CHANNEL_OPTIONS);
  await assert.rejects(listenNoDelay(server, 'no-port', ServerCredentials.createInsecure()), /address: expected host:port/);
  server.forceShutdown();
});

/**
 * windowsSeen connects a raw HTTP/2 client to port and returns the stream and connection windows it may send into,
 * once the server's SETTINGS are in and (when `widened`) its connection WINDOW_UPDATE too.
 */
async function windowsSeen(port: number, widened: boolean): Promise<{ streamWindowBytes: number; connectionWindowBytes: number }> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    let streamWindowBytes = 0;
    session.on('remoteSettings', (s) => {
      streamWindowBytes = s.initialWindowSize ?? 0;
    });
    await waitFor(() => (widened ? streamWindowBytes > 65_535 && (session.state.remoteWindowSize ?? 0) > 65_535 : streamWindowBytes > 0), 'the server\'s windows');
    return { streamWindowBytes, connectionWindowBytes: session.state.remoteWindowSize ?? 0 };
  } finally {
    session.destroy();
  }
}

test('listenNoDelay with windowBytes advertises that HTTP/2 window per stream and per connection; without it, node\'s 64 KiB', async (t) => {
  const windowBytes = 4 * 1024 * 1024;
  const wide = new Server(CHANNEL_OPTIONS);
  const narrow = new Server(CHANNEL_OPTIONS);
  const [pWide, pNarrow] = [await freePort(), await freePort()];
  const l1 = await listenNoDelay(wide, `127.0.0.1:${pWide}`, ServerCredentials.createInsecure(), { windowBytes });
  const l2 = await listenNoDelay(narrow, `127.0.0.1:${pNarrow}`, ServerCredentials.createInsecure());
  t.after(async () => {
    await l1.close();
    await l2.close();
    wide.forceShutdown();
    narrow.forceShutdown();
  });
  assert.deepEqual(await windowsSeen(pWide, true), { streamWindowBytes: windowBytes, connectionWindowBytes: windowBytes });
  assert.deepEqual(await windowsSeen(pNarrow, false), { streamWindowBytes: 65_535, connectionWindowBytes: 65_535 });
});
