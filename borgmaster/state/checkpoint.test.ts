// Checkpoints: a 100,000-task cell round-trips exactly (timings printed; the figure to reach is under 3 s each,
// measured properly by `npm run bench -- state`), and corrupt checkpoints are refused, never half-restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshot, restore, CheckpointCorrupt } from './index';
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
    ['missing task', Checkpoint.encode({ ...cp, tasks: cp.tasks.slice(0, -1) }).finish()],
  ];
  for (const [what, bytes] of rows) assert.throws(() => restore(bytes), CheckpointCorrupt, what);
});
