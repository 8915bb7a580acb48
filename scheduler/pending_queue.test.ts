// The pending queue: priority high to low, round-robin across users within a priority, bounded, idempotent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuotaExceeded } from '../model/errors';
import { PendingQueue } from './pending_queue';
import { TestCell } from './testing';

test('priority high to low, round-robin across users within a priority', () => {
  const cell = new TestCell();
  const q = new PendingQueue();
  const a1 = cell.task({ user: 'alice', priority: 100 });
  const a2 = cell.task({ user: 'alice', priority: 100 });
  const a3 = cell.task({ user: 'alice', priority: 100 });
  const b1 = cell.task({ user: 'bob', priority: 100 });
  const c1 = cell.task({ user: 'carol', priority: 200 });
  const b2 = cell.task({ user: 'bob', priority: 0 });
  for (const t of [a1, a2, a3, b1, c1, b2]) q.add(t);
  const ids = (xs: { id: number }[]): number[] => xs.map((t) => t.id);
  assert.deepEqual(ids(q.ordered()), [c1.id, a1.id, b1.id, a2.id, a3.id, b2.id]);
  // The starting user rotates each call, so alice is not always first.
  assert.deepEqual(ids(q.ordered()), [c1.id, b1.id, a1.id, a2.id, a3.id, b2.id]);
});

test('add replaces, remove forgets, the bound refuses with QuotaExceeded', () => {
  const cell = new TestCell();
  const q = new PendingQueue(2);
  const t1 = cell.task();
  const t2 = cell.task();
  q.add(t1);
  q.add(t1);
  q.add({ ...t1, priority: 300 });
  assert.equal(q.size, 1);
  assert.equal(q.get(t1.id)?.priority, 300);
  assert.deepEqual(q.ordered().map((t) => t.priority), [300]);
  q.add(t2);
  assert.throws(() => q.add(cell.task()), QuotaExceeded);
  assert.equal(q.remove(t2.id), true);
  assert.equal(q.remove(t2.id), false);
  assert.deepEqual(q.ordered().map((t) => t.id), [t1.id]);
});

test('bad tasks are refused with the field named', () => {
  const cell = new TestCell();
  const q = new PendingQueue();
  const t = cell.task();
  assert.throws(() => q.add({ ...t, priority: 5000 }), /task.priority/);
  assert.throws(() => q.add({ ...t, limit: { ...t.limit, cpuMillis: -1 } }), /task.limit.cpuMillis/);
  assert.throws(() => q.add({ ...t, constraints: [{ key: 1, op: 1, values: [] }] }), /task.constraints\[0\].values/);
  assert.throws(() => q.add({ ...t, spread: { ...t.spread, maxPerRack: 1.5 } }), /task.spread.maxPerRack/);
  assert.equal(q.size, 0);
});

test('park takes an entry out of its owner ordering; unpark puts it back behind its user; another owner gets it back', () => {
  const cell = new TestCell();
  const q = new PendingQueue();
  const [a, b, c] = [cell.task({ user: 'alice' }), cell.task({ user: 'alice' }), cell.task({ user: 'alice' })];
  for (const t of [a, b, c]) q.add(t);
  const owner = {};
  const ids = (o?: object): number[] => q.orderedEntries(o).map((e) => e.task.id);
  const entry = q.orderedEntries(owner).find((e) => e.task.id === a.id);
  assert.ok(entry);
  q.park(entry, owner);
  assert.deepEqual(ids(owner), [b.id, c.id]);
  assert.deepEqual(ids(owner), [b.id, c.id], 'still out after the list dropped it');
  q.unpark(entry);
  assert.deepEqual(ids(owner), [b.id, c.id, a.id], 'back behind the others');
  q.park(entry, owner);
  assert.deepEqual(ids(), [b.id, c.id, a.id], 'an ordering for no owner puts parked entries back');
  q.park(entry, owner);
  q.remove(a.id);
  q.unpark(entry);
  assert.deepEqual(ids(owner), [b.id, c.id], 'a removed entry stays gone');
  assert.equal(q.size, 2);
});
