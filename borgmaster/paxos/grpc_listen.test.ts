// listenNoDelay: a grpc-js server reached through our own TCP listener (Nagle off) serves like a bound one, and
// close() gives the port back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
