// The real-process kill test of the Paxos log (issue 4): three replica processes (replica_main.ts) on loopback
// with fsync on, writers under load, `kill -9` of the leader, restart, twice; then every acknowledged write must
// be present at its slot, and every replica must hold the same writes in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { ReplicaCluster } from '../borgmaster/paxos/replica_cluster';

interface Ack {
  key: string;
  index: number;
  crc: number;
  writer: number;
  atMs: number;
}

const WRITERS = 8;

test('kill -9 of the leader, twice, loses no acknowledged write and leaves every replica with one order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-processes-'));
  // Snapshots every 400 slots: the restarted replica comes back through snapshot + truncated log, and a replica
  // that fell behind a truncation is caught up by a SNAPSHOT message, all across real processes.
  const cluster = await ReplicaCluster.start({ size: 3, dir, extraArgs: ['--snapshot-every', '400'] });
  t.after(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const acks: Ack[] = [];
  let failures = 0;
  let running = true;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let seq = 0; running; seq++) {
      const key = `w${w}-${seq}`;
      const value = randomBytes(64);
      try {
        const index = await cluster.put(key, value, 10_000, 500);
        acks.push({ key, index, crc: crc32(value), writer: w, atMs: Date.now() });
      } catch {
        failures += 1; // not acknowledged: it may or may not be in the log, and either is correct
      }
    }
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const acksSince = (ms: number): number => acks.filter((a) => a.atMs >= ms).length;

  try {
    for (let round = 1; round <= 2; round++) {
      const leader = await cluster.waitForLeader();
      const before = Date.now();
      await sleep(700);
      assert.ok(acksSince(before) > 0, `round ${round}: writes are acknowledged before the kill`);
      await cluster.kill(leader);
      const killedAt = Date.now();
      const next = await cluster.waitForLeader(20_000);
      assert.notEqual(next, leader, 'a new leader is elected');
      await sleep(700);
      assert.ok(acksSince(killedAt) > 0, `round ${round}: writes are acknowledged after the failover`);
      await cluster.restart(leader);
      const restartedAt = Date.now();
      await sleep(700);
      assert.ok(acksSince(restartedAt) > 0, `round ${round}: writes are acknowledged after the restart`);
    }
  } finally {
    running = false;
    await Promise.all(writers);
  }

  const maxAcked = Math.max(...acks.map((a) => a.index));
  await cluster.waitApplied(maxAcked, 30_000);
  const histories = await Promise.all(cluster.ids.map(async (id) => ({ id, ...(await cluster.history(id)) })));
  const common = Math.min(...histories.map((h) => h.appliedIndex));
  assert.ok(common >= maxAcked);

  // One order: every replica holds the same writes at the same slots, up to what all of them applied.
  const [first, ...rest] = histories.map((h) => ({ id: h.id, writes: h.writes.filter((w) => w.index <= common) }));
  assert.ok(first !== undefined);
  for (const h of histories) assert.ok(h.firstKeptIndex <= 1 || h.writes.length === 0, `replica ${h.id} kept its whole history`);
  for (const h of rest) assert.deepEqual(h.writes, first.writes, `replica ${h.id} differs from replica ${first.id}`);

  // Nothing acknowledged is lost: each ack is at its slot, with its value, on every replica.
  const bySlot = new Map(first.writes.map((w) => [w.index, w]));
  for (const a of acks) {
    const w = bySlot.get(a.index);
    assert.ok(w !== undefined, `acknowledged ${a.key} at slot ${a.index} is missing`);
    assert.equal(w.key, a.key, `slot ${a.index} holds ${w.key}, but ${a.key} was acknowledged there`);
    assert.equal(w.valueCrc32, a.crc, `slot ${a.index} holds another value for ${a.key}`);
  }
  // Each writer waited for its previous write, so its writes were chosen in the order it made them.
  for (let w = 0; w < WRITERS; w++) {
    const mine = acks.filter((a) => a.writer === w).map((a) => a.index);
    assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `writer ${w}'s writes are in order`);
  }
  t.diagnostic(`${acks.length} acknowledged writes, ${failures} unacknowledged, log through slot ${common}`);
});

test('a replica whose disk fails verification refuses to start (exit 3) instead of voting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-corrupt-'));
  const cluster = await ReplicaCluster.start({ size: 1, dir });
  t.after(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.waitForLeader();
  for (let i = 0; i < 20; i++) await cluster.put(`k${i}`, Buffer.from(`value-${i}`));
  await cluster.kill(1);
  // Flip one bit of one accepted value, through LevelDB itself (the record checksum is what must catch it).
  const db = new Level<string, Uint8Array>(join(dir, 'replica-1'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  let damaged = '';
  for await (const [key, value] of db.iterator({ gte: 'e:', lt: 'e;', limit: 1 })) {
    const bad = Uint8Array.from(value);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x04;
    await db.put(key, bad);
    damaged = key;
  }
  await db.close();
  assert.notEqual(damaged, '', 'found an entry to damage');
  await assert.rejects(cluster.restart(1), /exited \(3\)[\s\S]*checksum mismatch[\s\S]*refusing to serve/);
});

test('a replica started with bad flags names the flag and exits 2', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'borgmaster/paxos/replica_main.ts', '--id', '9', '--replicas', '1=127.0.0.1:1', '--data', join(tmpdir(), 'never-created')],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--id: 9 is not among --replicas/);
});
