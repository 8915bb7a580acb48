// The simulation toolkit: events in order, the network's faults, the disk's crash semantics, all replayable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../../model/rng';
import { EventQueue } from './scheduler';
import { SimNetwork } from './network';
import { SimDisk } from './disk';

test('events fire in (time, insertion) order and time only moves forward', () => {
  const q = new EventQueue();
  const seen: string[] = [];
  q.after(5, () => seen.push('b'));
  q.after(1, () => seen.push('a'));
  q.after(5, () => {
    seen.push('c');
    q.after(0, () => seen.push('d'));
  });
  q.after(9, () => seen.push('late'));
  q.runUntil(6);
  assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
  assert.equal(q.nowMs(), 6);
  assert.throws(() => q.at(2, () => undefined), /past/);
});

test('a runaway simulation is stopped by the event bound', () => {
  const q = new EventQueue();
  const loop = (): void => q.after(0, loop);
  q.after(0, loop);
  assert.throws(() => q.runUntil(1, 1_000), /exceeded 1000 events/);
});

function netWith(seed: number) {
  const q = new EventQueue();
  const net = new SimNetwork<number>(q, new SeededRng(seed));
  const got = new Map<number, number[]>();
  for (const id of [1, 2, 3]) {
    got.set(id, []);
    net.listen(id, (m) => got.get(id)?.push(m));
  }
  return { q, net, got };
}

test('network: loss and duplication happen at about their rates', () => {
  const { q, net, got } = netWith(1);
  net.faults = { lossRate: 0.2, duplicateRate: 0.1, minDelayMs: 1, maxDelayMs: 5, spikeRate: 0, spikeDelayMs: 0 };
  for (let i = 0; i < 10_000; i++) net.send(1, 2, i);
  q.runUntil(100);
  const n = got.get(2)?.length ?? 0;
  assert.ok(n > 8_300 && n < 9_300, `delivered ${n} of 10000 at 20% loss and 10% duplication`);
  assert.ok(new Set(got.get(2)).size < n, 'some messages arrived twice');
});

test('network: random delay reorders messages', () => {
  const { q, net, got } = netWith(2);
  net.faults = { lossRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 20, spikeRate: 0, spikeDelayMs: 0 };
  for (let i = 0; i < 100; i++) net.send(1, 2, i);
  q.runUntil(100);
  const order = got.get(2) ?? [];
  assert.equal(order.length, 100);
  assert.notDeepEqual(order, [...order].sort((a, b) => a - b));
});

test('network: an asymmetric cut drops one direction only, in flight too; heal restores it', () => {
  const { q, net, got } = netWith(3);
  net.send(1, 2, 1);
  net.cut(1, 2);
  net.send(1, 2, 2);
  net.send(2, 1, 3);
  q.runUntil(10);
  assert.deepEqual(got.get(2), []);
  assert.deepEqual(got.get(1), [3]);
  net.heal();
  net.send(1, 2, 4);
  q.runUntil(20);
  assert.deepEqual(got.get(2), [4]);
});

test('network: partition cuts every link between groups; a crashed node receives nothing', () => {
  const { q, net, got } = netWith(4);
  net.partition([[1], [2, 3]]);
  net.send(1, 2, 1);
  net.send(3, 1, 2);
  net.send(2, 3, 3);
  net.listen(3, undefined);
  net.send(2, 3, 4);
  q.runUntil(10);
  assert.deepEqual([got.get(1), got.get(2), got.get(3)], [[], [], []]);
  assert.deepEqual(net.cutLinks(), ['1>2', '1>3', '2>1', '3>1']);
});

test('disk: synced writes survive a crash, unsynced ones survive only as a prefix', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const q = new EventQueue();
    const disk = new SimDisk<number[], number>([], (s, b) => [...s, b], q, new SeededRng(seed), 1, 2);
    disk.write(1);
    let synced = false;
    disk.sync(() => (synced = true));
    q.runUntil(5);
    assert.ok(synced);
    disk.write(2);
    disk.write(3);
    disk.write(4);
    let late = false;
    disk.sync(() => (late = true));
    disk.crash();
    q.runUntil(10);
    assert.equal(late, false, 'a sync that completes after the crash reports nothing');
    const s = disk.read();
    assert.deepEqual(s, [1, 2, 3, 4].slice(0, s.length), `seed ${seed}: a prefix survives`);
    assert.ok(s.length >= 1);
  }
});
