// Tests of PaxosNode: three nodes in one process over real gRPC on 127.0.0.1 and real LevelDB in temp dirs.
// They elect a leader, agree on one order, redirect followers' proposals, serve lease reads, snapshot and
// truncate, and restart from disk (including from a snapshot) with the same state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../../proto/index';
import { NotLeader, Unavailable } from '../../model/errors';
import type { PaxosConfig } from '../../cells/config';
import { PAXOS_MAX_BATCH_BYTES } from '../../cells/limits';
import { PaxosNode, snapshotDue, snapshotPhaseOf, type StateMachine } from './node';
import { freePort } from './replica_cluster';
import type { PeerAddress } from './transport';

/** A list state machine: applies commands by appending them, returns the length as its result. */
class ListMachine implements StateMachine<number> {
  items: string[] = [];
  slots: number[] = [];
  apply(command: Uint8Array, slot: number): number {
    this.items.push(Buffer.from(command).toString());
    this.slots.push(slot);
    return this.items.length;
  }
  takeSnapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ items: this.items, slots: this.slots }));
  }
  restoreSnapshot(bytes: Uint8Array): void {
    const s = JSON.parse(Buffer.from(bytes).toString()) as { items: string[]; slots: number[] };
    this.items = s.items;
    this.slots = s.slots;
  }
}

// Short ticks keep the tests fast; 20 ticks of silence (400 ms) before an election keeps a CI machine's stalls
// from deposing a healthy leader in the middle of a test.
const TIMING: PaxosConfig = { tickMs: 20, electionTicks: 20, heartbeatTicks: 3, leaseTicks: 15, maxClockDrift: 0.05 };

interface Running {
  node: PaxosNode<number>;
  server: Server;
  sm: ListMachine;
}

class Cell {
  readonly running = new Map<number, Running>();
  constructor(
    readonly replicas: PeerAddress[],
    readonly dir: string,
    readonly snapshotEveryEntries?: number,
  ) {}

  static async create(t: { after: (fn: () => Promise<void> | void) => void }, snapshotEveryEntries?: number): Promise<Cell> {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-node-'));
    const replicas: PeerAddress[] = [];
    for (let id = 1; id <= 3; id++) replicas.push({ id, address: `127.0.0.1:${await freePort()}` });
    const cell = new Cell(replicas, dir, snapshotEveryEntries);
    t.after(async () => {
      for (const id of [...cell.running.keys()]) await cell.stop(id);
      rmSync(dir, { recursive: true, force: true });
    });
    for (const r of replicas) await cell.start(r.id);
    return cell;
  }

  async start(id: number): Promise<Running> {
    const sm = new ListMachine();
    const node = await PaxosNode.open<number>({
      id,
      replicas: this.replicas,
      dataDir: join(this.dir, `r${id}`),
      timing: TIMING,
      stateMachine: sm,
      seed: id,
      ...(this.snapshotEveryEntries ? { snapshotEveryEntries: this.snapshotEveryEntries } : {}),
      onFatal: (e) => assert.fail(`replica ${id} died: ${String(e)}`),
    });
    const server = new Server(CHANNEL_OPTIONS);
    node.registerService(server);
    const address = this.replicas.find((r) => r.id === id)?.address ?? '';
    await new Promise<void>((res, rej) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    const r = { node, server, sm };
    this.running.set(id, r);
    return r;
  }

  async stop(id: number): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    r.server.forceShutdown();
    await r.node.close();
  }

  get(id: number): Running {
    const r = this.running.get(id);
    assert.ok(r, `replica ${id} not running`);
    return r;
  }

  async leader(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const [id, r] of this.running) if (r.node.isLeader() && r.node.status().leaseValid) return id;
      if (Date.now() > deadline) throw new Error('no leader');
      await new Promise((res) => setTimeout(res, 10));
    }
  }
}

test('three nodes elect one leader and apply proposals in one order everywhere', async (t) => {
  const cell = await Cell.create(t);
  const leaderId = await cell.leader();
  const leader = cell.get(leaderId).node;
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.proposeForResults([Buffer.from(`c${i}`)])));
  const last = Math.max(...results.map((r) => r.lastIndex));
  // Each proposal's result is the list length right after its command was applied.
  assert.deepEqual(results.map((r) => r.results[0]).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 50 }, (_, i) => i + 1));
  const multi = await leader.propose([Buffer.from('x1'), Buffer.from('x2'), Buffer.from('x3')]);
  assert.ok(multi >= last + 3);
  for (const id of [1, 2, 3]) await cell.get(id).node.waitApplied(multi);
  const reference = cell.get(leaderId).sm.items;
  assert.equal(reference.length, 53);
  assert.deepEqual(reference.slice(-3), ['x1', 'x2', 'x3']);
  for (const id of [1, 2, 3]) assert.deepEqual(cell.get(id).sm.items, reference, `replica ${id} order`);
});

test('a follower refuses to propose and names the leader; the leader rejects bad proposals and serves lease reads', async (t) => {
  const cell = await Cell.create(t);
  const leaderId = await cell.leader();
  const followerId = [1, 2, 3].find((id) => id !== leaderId) ?? 0;
  const leaderAddress = cell.replicas.find((r) => r.id === leaderId)?.address;
  await assert.rejects(cell.get(followerId).node.propose([Buffer.from('nope')]), (e: unknown) => {
    assert.ok(e instanceof NotLeader);
    assert.equal(e.leaderAddress, leaderAddress);
    return true;
  });
  await assert.rejects(cell.get(followerId).node.linearizableRead(), NotLeader);
  await assert.rejects(cell.get(leaderId).node.propose([]), /commands: at least one command/);
  await assert.rejects(cell.get(leaderId).node.propose([Buffer.alloc(PAXOS_MAX_BATCH_BYTES + 1)]), /commands\[0\]: .* exceeds the batch limit/);
  const index = await cell.get(leaderId).node.propose([Buffer.from('w')]);
  const readAt = await cell.get(leaderId).node.linearizableRead();
  assert.ok(readAt >= index, `read at ${readAt} must cover the acknowledged write at ${index}`);
  assert.ok(cell.get(leaderId).sm.items.includes('w'));
});

test('when the leader stops, another takes over and nothing acknowledged is lost', async (t) => {
  const cell = await Cell.create(t);
  const first = await cell.leader();
  const acked: string[] = [];
  for (let i = 0; i < 20; i++) {
    await cell.get(first).node.propose([Buffer.from(`a${i}`)]);
    acked.push(`a${i}`);
  }
  await cell.stop(first);
  const second = await cell.leader();
  assert.notEqual(second, first);
  const idx = await cell.get(second).node.propose([Buffer.from('after')]);
  acked.push('after');
  const survivors = [1, 2, 3].filter((id) => id !== first);
  for (const id of survivors) await cell.get(id).node.waitApplied(idx);
  for (const id of survivors) assert.deepEqual(cell.get(id).sm.items, acked);
  // The old leader comes back from its disk and catches up to the same list.
  const back = await cell.start(first);
  await back.node.waitApplied(idx);
  assert.deepEqual(back.sm.items, acked);
});

test('snapshots truncate the log, and a replica restarts from its snapshot plus the log after it', async (t) => {
  const cell = await Cell.create(t, 25);
  const leaderId = await cell.leader();
  let last = 0;
  for (let i = 0; i < 80; i++) last = await cell.get(leaderId).node.propose([Buffer.from(`s${i}`)]);
  for (const id of [1, 2, 3]) await cell.get(id).node.waitApplied(last);
  const restartId = [1, 2, 3].find((id) => id !== leaderId) ?? 0;
  // How many snapshots depends on how commits were batched (a follower may apply 60 slots in one Ready); with
  // 80 slots and a snapshot every 25 there is at least one, and the log below it is gone.
  assert.ok(cell.get(restartId).node.metrics.snapshots >= 1, 'a snapshot was taken');
  assert.ok(cell.get(restartId).node.status().snapshotIndex >= 25, 'the log was truncated');
  const before = [...cell.get(restartId).sm.items];
  await cell.stop(restartId);
  const back = await cell.start(restartId);
  await back.node.waitApplied(last);
  assert.deepEqual(back.sm.items, before);
  assert.equal(before.length, 80);
});

test('close rejects what is pending, and everything after', async (t) => {
  const cell = await Cell.create(t);
  const leaderId = await cell.leader();
  const { node } = cell.get(leaderId);
  // Close the leader in the same turn of the event loop as the proposal: no round trip can have chosen it yet.
  const pending = assert.rejects(node.propose([Buffer.from('stuck')]), /paxos node closed/);
  const closing = cell.stop(leaderId);
  await pending;
  await closing;
  await assert.rejects(node.propose([Buffer.from('late')]), Unavailable);
});

test('replicas snapshot at staggered slots, each once per interval', () => {
  const ids = [3, 1, 2];
  assert.deepEqual(ids.map((id) => snapshotPhaseOf(id, ids, 50_000)), [33_333, 0, 16_666]);
  assert.deepEqual([1, 2, 3, 4, 5].map((id) => snapshotPhaseOf(id, [1, 2, 3, 4, 5], 400)), [0, 80, 160, 240, 320]);
  // Walking the log one slot at a time, each replica snapshots every `every` slots, at its own points.
  const want: Record<number, number[]> = { 1: [90, 180, 270], 2: [60, 150, 240], 3: [30, 120, 210, 300] };
  for (const id of [1, 2, 3]) {
    const phase = snapshotPhaseOf(id, [1, 2, 3], 90);
    const at: number[] = [];
    let last = 0;
    for (let applied = 1; applied <= 300; applied++) {
      if (snapshotDue(applied, last, 90, phase)) {
        at.push(applied);
        last = applied;
      }
    }
    assert.deepEqual(at, want[id], `replica ${id}`);
  }
  // Applying many slots in one Ready still gives one snapshot, and none until the next point.
  assert.equal(snapshotDue(500, 0, 90, 30), true);
  assert.equal(snapshotDue(500, 500, 90, 30), false);
  assert.equal(snapshotDue(509, 500, 90, 30), false);
  assert.equal(snapshotDue(510, 500, 90, 30), true);
});
