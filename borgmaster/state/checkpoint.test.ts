// Checkpoints: a 100,000-task cell round-trips exactly (timings printed; the figure to reach is under 3 s each,
// measured properly by `npm run bench -- state`), and corrupt checkpoints are refused, never half-restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshot, restore, CheckpointCorrupt } from './index';
import { packEvents } from './checkpoint';
import { bodies, command, largeCell } from './builders';
import { Checkpoint } from '../../proto/index';

test('checkpoint round trip of a 100,000-task cell: identical bytes, invariants hold; timings printed', () => {
  const s = largeCell(100, 1000, 1000);
  assert.equal(s.taskCount, 100_000);
  const t0 = performance.now();
  const bytes = snapshot(s);
  const t1 = performance.now();
  const back = restore(bytes);
  const t2 = performance.now();
  const again = snapshot(back);
  assert.ok(Buffer.from(bytes).equals(Buffer.from(again)), 'restore then snapshot gives the same bytes');
  assert.equal(back.appliedIndex, s.appliedIndex);
  assert.equal(back.taskCount, 100_000);
  assert.equal(back.events.size, s.events.size);
  console.log(
    `checkpoint of 100,000 tasks (${(bytes.length / 2 ** 20).toFixed(1)} MiB): snapshot ${((t1 - t0) / 1000).toFixed(2)} s, restore ${((t2 - t1) / 1000).toFixed(2)} s (machine shared, under contention)`,
  );
  // A replica restored from the checkpoint keeps applying where the original left off, identically.
  const cmd = command(bodies.killJob('u', 'job7'), { timeMs: 1_800_000_000_000 });
  assert.deepEqual(back.apply(cmd, s.appliedIndex + 1).result, s.apply(cmd, s.appliedIndex + 1).result);
});

test('corrupt checkpoints are refused with CheckpointCorrupt', () => {
  const s = largeCell(2, 5, 2);
  const good = snapshot(s);
  const cp = Checkpoint.decode(good);
  const rows: [string, Uint8Array][] = [
    ['garbage', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f])],
    ['wrong format', Checkpoint.encode({ ...cp, format: 99 }).finish()],
    ['task on unknown machine', Checkpoint.encode({ ...cp, tasks: cp.tasks.map((t, i) => (i === 0 ? { ...t, machine: 77 } : t)) }).finish()],
    ['tasks out of order', Checkpoint.encode({ ...cp, tasks: [...cp.tasks].reverse() }).finish()],
    ['running task without machine', Checkpoint.encode({ ...cp, tasks: cp.tasks.map((t) => ({ ...t, machine: -1 })) }).finish()],
    ['healthy task not running', Checkpoint.encode({ ...cp, tasks: cp.tasks.map((t) => ({ ...t, state: 1, machine: -1, healthy: true })) }).finish()],
    ['missing task', Checkpoint.encode({ ...cp, tasks: cp.tasks.slice(0, -1) }).finish()],
    ['packed event naming a string outside the table', Checkpoint.encode({ ...cp, packedEvents: cp.packedEvents && { ...cp.packedEvents, taskId: cp.packedEvents.taskId.map((x, i) => (i === 0 ? 9999 : x)) } }).finish()],
    ['packed event columns of different lengths', Checkpoint.encode({ ...cp, packedEvents: cp.packedEvents && { ...cp.packedEvents, type: cp.packedEvents.type.slice(1) } }).finish()],
    ['format 2 with events in the format 1 field', Checkpoint.encode({ ...cp, events: [{ timeMs: 1, logIndex: 1, taskId: 'big/u/job0/0', type: 0, machine: '', user: 'u', job: 'job0', priority: 200, message: '' }] }).finish()],
  ];
  for (const [what, bytes] of rows) assert.throws(() => restore(bytes), CheckpointCorrupt, what);
});

test('a format 1 checkpoint (one message per event) still restores, to the same state', () => {
  const s = largeCell(3, 10, 4);
  const cp = Checkpoint.decode(snapshot(s));
  assert.equal(cp.format, 2);
  assert.ok(cp.packedEvents !== undefined && cp.events.length === 0, 'format 2 packs the events');
  const events = s.events.toArray();
  assert.equal(packEvents(events).strings.length < events.length, true, 'strings are interned');
  const v1 = Checkpoint.encode({ ...cp, format: 1, events, packedEvents: undefined }).finish();
  const back = restore(v1);
  assert.deepEqual(back.events.toArray(), events);
  assert.ok(Buffer.from(snapshot(back)).equals(Buffer.from(snapshot(s))), 'restored from format 1, saved as format 2: identical to the original');
});
