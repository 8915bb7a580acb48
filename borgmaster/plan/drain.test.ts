// Drain planning against a real CellState: only DRAINING machines give up tasks, at most maxTasks per call, never
// more of a job down at once than its max_tasks_down (pending tasks count as down), and an applied eviction puts
// the task back to PENDING, off the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState, bodies, command, jobSpec, machine } from '../state/index';
import { planDrainEvictions, drainProgress } from './drain';
import { EventType, MachineState, PriorityBand, TaskState } from '../../proto/index';
import { GiB, MiB } from '../../model/resources';

function setup() {
  const s = new CellState('test');
  let index = 0;
  const apply = (body: Parameters<typeof command>[0]) => {
    const out = s.apply(command(body, { timeMs: 1_000_000 + index }), ++index);
    assert.ok(out.result.ok && out.result.rejected.length === 0, out.result.errorMessage || out.result.rejected[0]?.reason);
    return out.result;
  };
  for (const m of ['m0', 'm1', 'm2']) apply(bodies.registerMachine(machine(m, { cpuMillis: 16_000, ramBytes: 64 * GiB })));
  apply(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 48_000, ramBytes: 192 * GiB, diskBytes: 0, ports: 0 }));
  const req = { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 };
  // web: 6 tasks, 3 may be down at once; db: 4 tasks, 1 at a time. Every even index on m0, odd on m1.
  apply(bodies.createJob(jobSpec({ name: 'web', taskCount: 6, updatePolicy: { maxTasksDown: 3 }, task: { requirements: req } })));
  apply(bodies.createJob(jobSpec({ name: 'db', taskCount: 4, updatePolicy: { maxTasksDown: 0 }, task: { requirements: req } })));
  const place = (job: string, n: number) => apply(bodies.transitions(Array.from({ length: n }, (_, i) => ({ taskId: `test/alice/${job}/${i}`, machine: i % 2 === 0 ? 'm0' : 'm1', specVersion: 1 }))));
  place('web', 6);
  place('db', 4);
  return { s, apply };
}

test('planDrainEvictions: only DRAINING machines, bounded per call and per job', () => {
  const { s, apply } = setup();
  assert.deepEqual(planDrainEvictions(s, 100), [], 'nothing is draining');
  apply(bodies.setMachineState('m0', MachineState.DRAINING, 'test'));
  assert.deepEqual(drainProgress(s), { machines: 1, tasksLeft: 5 });
  const rows: [string, number, string[]][] = [
    ['budget of 2', 2, ['test/alice/web/0', 'test/alice/web/2']],
    ['per job: web 3 at once, db 1 at once', 100, ['test/alice/web/0', 'test/alice/web/2', 'test/alice/web/4', 'test/alice/db/0']],
    ['a budget of 0 evicts nothing', 0, []],
  ];
  for (const [name, max, want] of rows) {
    const got = planDrainEvictions(s, max);
    assert.deepEqual(got.map((t) => t.taskId).sort(), [...want].sort(), name);
    assert.ok(got.every((t) => t.event === EventType.EVICT && t.machine === 'm0' && t.specVersion === 1), name);
  }

  // Applied: the evicted tasks are pending, off m0; the jobs' budgets are now spent until they run again.
  apply(bodies.transitions(planDrainEvictions(s, 100)));
  for (const id of ['web/0', 'web/2', 'web/4', 'db/0']) {
    const t = s.lookupTask(`test/alice/${id}`);
    assert.equal(t?.state, TaskState.PENDING, id);
    assert.equal(t?.machine, undefined, id);
  }
  assert.deepEqual(drainProgress(s), { machines: 1, tasksLeft: 1 });
  assert.deepEqual(planDrainEvictions(s, 100), [], 'db/2 waits: db/0 is still down');
  // db/0 runs again elsewhere: the next db task may go.
  apply(bodies.transitions([{ taskId: 'test/alice/db/0', machine: 'm2', specVersion: 1 }]));
  assert.deepEqual(planDrainEvictions(s, 100).map((t) => t.taskId), ['test/alice/db/2']);
  s.checkInvariants();
});
