// Tests of PaxosTransport over real gRPC on 127.0.0.1: in-order delivery, validation of what arrives, the bounded
// drop-oldest queue while a peer is down, and reconnection when the peer comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, PaxosClient, PaxosMessage_Type, type PaxosMessage } from '../../proto/index';
import { PAXOS_SEND_QUEUE_MESSAGES } from '../../cells/limits';
import { PaxosTransport, type PeerAddress } from './transport';
import { freePort } from '../../sim/ports';

function msg(from: number, to: number, index: number, type = PaxosMessage_Type.HEARTBEAT): PaxosMessage {
  return { type, from, to, ballot: { round: 1, replica: from }, fromSlot: 0, entries: [], commitIndex: index, index, snapshot: undefined, tick: 0, more: false };
}

async function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** waitFor polls cond every 10 ms; it fails the test after timeoutMs. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Replica {
  transport: PaxosTransport;
  server: Server;
  got: PaxosMessage[];
}

async function replica(selfId: number, port: number, peers: PeerAddress[]): Promise<Replica> {
  const got: PaxosMessage[] = [];
  const transport = new PaxosTransport({ selfId, peers, onMessage: (m) => got.push(m) });
  const server = new Server(CHANNEL_OPTIONS);
  transport.registerService(server);
  await listen(server, port);
  return { transport, server, got };
}

function stop(r: Replica): void {
  r.transport.close();
  r.server.forceShutdown();
}

test('messages arrive at the peer in the order they were sent', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const a = await replica(1, p1, [{ id: 2, address: `127.0.0.1:${p2}` }]);
  const b = await replica(2, p2, [{ id: 1, address: `127.0.0.1:${p1}` }]);
  t.after(() => [a, b].forEach(stop));
  for (let i = 1; i <= 500; i++) a.transport.send(msg(1, 2, i));
  await waitFor(() => b.got.length === 500, '500 messages');
  assert.deepEqual(b.got.map((m) => m.index), Array.from({ length: 500 }, (_, i) => i + 1));
  b.transport.send({ ...msg(2, 1, 7, PaxosMessage_Type.ACCEPT), entries: [{ slot: 7, ballot: { round: 1, replica: 2 }, noop: false, value: Buffer.alloc(100_000, 7) }] });
  await waitFor(() => a.got.length === 1, 'the reply');
  assert.equal(a.got[0]?.entries[0]?.value.length, 100_000);
  assert.equal(a.transport.stats().peers[2]?.sentMessages, 500);
});

test('messages for another replica, from a stranger, or of no known type are rejected', async (t) => {
  const p2 = await freePort();
  const b = await replica(2, p2, [{ id: 1, address: '127.0.0.1:1' }]);
  t.after(() => stop(b));
  const client = new PaxosClient(`127.0.0.1:${p2}`, credentials.createInsecure());
  t.after(() => client.close());
  const done = new Promise<void>((resolve, reject) => {
    const call = client.deliver((err) => (err ? reject(err) : resolve()));
    call.write({
      messages: [
        msg(1, 3, 1), // wrong recipient
        msg(9, 2, 2), // unknown sender
        { ...msg(1, 2, 3), type: PaxosMessage_Type.TYPE_UNSPECIFIED },
        { ...msg(1, 2, 4), type: 42 as PaxosMessage_Type }, // a type from a newer version
        msg(1, 2, 5), // the only good one
      ],
    });
    call.end();
  });
  await done;
  assert.deepEqual(b.got.map((m) => m.index), [5]);
  assert.equal(b.transport.stats().rejectedMessages, 4);
});

test('while a peer is down the queue keeps only the newest messages, then delivers them when it is back', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const a = await replica(1, p1, [{ id: 2, address: `127.0.0.1:${p2}` }]);
  t.after(() => stop(a));
  const total = PAXOS_SEND_QUEUE_MESSAGES + 100;
  for (let i = 1; i <= total; i++) a.transport.send(msg(1, 2, i));
  const stats = a.transport.stats().peers[2];
  assert.equal(stats?.droppedMessages, 100);
  // Let the sender try the dead address for a while (its channel backs off and retries).
  await new Promise((r) => setTimeout(r, 700));
  const b = await replica(2, p2, [{ id: 1, address: `127.0.0.1:${p1}` }]);
  t.after(() => stop(b));
  // The stream waits for the peer, so what was queued before and sent after it came back arrives, in order.
  for (let i = total + 1; i <= total + 10; i++) a.transport.send(msg(1, 2, i));
  await waitFor(() => b.got.at(-1)?.index === total + 10, 'the newest message after reconnect');
  // The 10 late messages pushed 10 more of the oldest out: exactly the newest queue-full arrives.
  assert.deepEqual(b.got.map((m) => m.index), Array.from({ length: PAXOS_SEND_QUEUE_MESSAGES }, (_, i) => i + 111));
  assert.equal(a.transport.stats().peers[2]?.droppedMessages, 110);
});

test('a peer that restarts is reconnected to', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const a = await replica(1, p1, [{ id: 2, address: `127.0.0.1:${p2}` }]);
  t.after(() => stop(a));
  let b = await replica(2, p2, [{ id: 1, address: `127.0.0.1:${p1}` }]);
  a.transport.send(msg(1, 2, 1));
  await waitFor(() => b.got.length === 1, 'first message');
  stop(b);
  b = await replica(2, p2, [{ id: 1, address: `127.0.0.1:${p1}` }]);
  const b2 = b;
  t.after(() => stop(b2));
  // Keep sending until one arrives: the first sends after the restart may go into the dead stream.
  let i = 2;
  await waitFor(() => {
    a.transport.send(msg(1, 2, i++));
    return b2.got.length > 0;
  }, 'a message after the restart');
  assert.ok((b2.got[0]?.index ?? 0) >= 2);
});

test('bytes that are not a PaxosBatch end that stream only; the replica keeps serving', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const b = await replica(2, p2, [{ id: 1, address: `127.0.0.1:${p1}` }]);
  t.after(() => stop(b));
  const raw = new Client(`127.0.0.1:${p2}`, credentials.createInsecure());
  t.after(() => raw.close());
  const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // field 1, length far beyond the data
  const failed = new Promise<Error | null>((resolve) => {
    const call = raw.makeClientStreamRequest('/borg.v1.Paxos/Deliver', (x: Buffer) => x, (x: Buffer) => x, (err) => resolve(err));
    call.write(garbage);
    call.end();
  });
  assert.ok((await failed) !== null, 'the malformed stream is failed');
  const a = await replica(1, p1, [{ id: 2, address: `127.0.0.1:${p2}` }]);
  t.after(() => stop(a));
  a.transport.send(msg(1, 2, 1));
  await waitFor(() => b.got.length === 1, 'a valid message after the bad stream');
});
