// Checkpoints: a 100,000-task cell round-trips exactly (timings printed; the figure to reach is under 3 s each,
// measured properly by `npm run bench -- state`), and corrupt checkpoints are refused, never half-restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState, snapshot, restore, CheckpointCorrupt } from './index';
import { bodies, command, jobSpec, machine } from './builders';
import { EventType, PriorityBand, Checkpoint } from '../../proto/index';
import { GiB, MiB } from '../../model/resources';

/** bigCell builds `jobs` jobs of `tasksPerJob` tasks on `machines` machines, most running, some failed. */
export function bigCell(jobs: number, tasksPerJob: number, machines: number): CellState {
  const s = new CellState('big');
  let i = 0;
  let t = 1_700_000_000_000;
  const apply = (body: Parameters<typeof command>[0]) => {
    const out = s.apply(command(body, { timeMs: (t += 7) }), ++i);
    assert.ok(out.result.ok, out.result.errorMessage);
    return out.result;
  };
  for (let m = 0; m < machines; m++) apply(bodies.registerMachine(machine(`m${m}`, { cpuMillis: 64_000, ramBytes: 256 * GiB, ports: 1000 }, { rack: `r${m % 50}` })));
  apply(bodies.setQuota('u', PriorityBand.PRODUCTION, { cpuMillis: 64_000 * machines, ramBytes: 256 * GiB * machines, diskBytes: 0, ports: 1000 * machines }));
  for (let j = 0; j < jobs; j++) {
    apply(bodies.createJob(jobSpec({ cell: 'big', user: 'u', name: `job${j}`, priority: 200, taskCount: tasksPerJob, task: { requirements: { cpuMillis: 100, ramBytes: 128 * MiB, diskBytes: 0, ports: 1 } } })));
    const list = [];
    for (let k = 0; k < tasksPerJob; k++) list.push({ taskId: `big/u/job${j}/${k}`, machine: `m${(j * tasksPerJob + k) % machines}` });
    const r = apply(bodies.transitions(list));
    assert.equal(r.rejected.length, 0, r.rejected[0]?.reason);
    apply(bodies.transitions([{ taskId: `big/u/job${j}/0`, event: EventType.FAIL, exitCode: 3 }]));
  }
  return s;
}

test('checkpoint round trip of a 100,000-task cell: identical bytes, invariants hold; timings printed', () => {
  const s = bigCell(100, 1000, 1000);
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
  const s = bigCell(2, 5, 2);
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
