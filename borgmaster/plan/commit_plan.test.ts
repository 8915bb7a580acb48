// CommitPlan against a real CellState: stale assignments are refused with reasons, two that only fit one at a
// time are caught when applied, victims are checked, verdicts are kept for GetTask, and a retry is answered once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState, bodies, command, jobSpec, machine } from '../state/index';
import { commitPlan, precheckPlan, WhyPendingStore, REASON_DUPLICATE_IN_PLAN, type ProposeCommand } from './index';
import { CommandResult, EventType, PriorityBand, TaskState, type Assignment, type CommitPlanRequest } from '../../proto/index';
import { InvalidArgument } from '../../model/errors';
import { GiB } from '../../model/resources';

function setup() {
  const state = new CellState('test');
  let index = 0;
  const timeMs = 5_000_000;
  const apply = (body: Parameters<typeof command>[0], requestId = '') => {
    const out = state.apply(command(body, { timeMs, requestId, caller: 'scheduler' }), ++index);
    assert.ok(out.result.ok, out.result.errorMessage);
    return out.result;
  };
  apply(bodies.registerMachine(machine('m0', { cpuMillis: 2000, ramBytes: 8 * GiB })));
  apply(bodies.registerMachine(machine('m1', { cpuMillis: 2000, ramBytes: 8 * GiB })));
  apply(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 0, ports: 0 }));
  apply(bodies.setQuota('alice', PriorityBand.BEST_EFFORT, { cpuMillis: 10_000, ramBytes: 16 * GiB, diskBytes: 0, ports: 0 }));
  apply(bodies.createJob(jobSpec({ name: 'web', taskCount: 3, task: { requirements: { cpuMillis: 1200, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  apply(bodies.createJob(jobSpec({ name: 'batch', priority: 100, taskCount: 2, task: { requirements: { cpuMillis: 1500, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  let proposals = 0;
  // The log of this test applies each proposal straight to the one state, as a single replica would.
  const propose: ProposeCommand = async (body, requestId) => {
    proposals++;
    const out = state.apply(command(body, { timeMs, requestId, caller: 'scheduler' }), ++index);
    return CommandResult.fromPartial(out.result);
  };
  return { state, propose, apply, proposals: () => proposals };
}

function a(taskId: string, machineName: string, extra: Partial<Assignment> = {}): Assignment {
  return { taskId: `test/alice/${taskId}`, machine: machineName, machineGeneration: 0, victimTaskIds: [], specVersion: 1, ...extra };
}

function plan(requestId: string, assignments: Assignment[], pending: { taskId: string; why: string }[] = []): CommitPlanRequest {
  return { requestId, baseLogIndex: 1, assignments, pending, passSeconds: 0.01 };
}

test('CommitPlan commits what still fits and returns the rest with reasons', async () => {
  const { state, propose, proposals } = setup();
  const why = new WhyPendingStore();
  const res = await commitPlan(
    state,
    why,
    plan('p1', [a('web/0', 'm0'), a('web/1', 'm0'), a('web/1', 'm1'), a('web/2', 'gone'), a('batch/0', 'm1', { specVersion: 9 })], [
      { taskId: 'test/alice/batch/1', why: '0/2 machines feasible: 2 insufficient cpu' },
    ]),
    propose,
  );
  assert.deepEqual(res.acceptedTaskIds, ['test/alice/web/0']);
  assert.deepEqual(res.rejected, [
    { taskId: 'test/alice/web/1', reason: REASON_DUPLICATE_IN_PLAN },
    { taskId: 'test/alice/web/2', reason: 'machine not found' },
    { taskId: 'test/alice/batch/0', reason: 'spec version changed (planned 9, now 1)' },
    // web/1 on m0 passed the pre-check alone, but after web/0 took m0 it no longer fits: caught at apply.
    { taskId: 'test/alice/web/1', reason: 'insufficient cpu' },
  ]);
  assert.equal(proposals(), 1, 'one command for the whole plan');
  assert.equal(state.lookupTask('test/alice/web/0')?.state, TaskState.RUNNING);
  assert.equal(why.get('test/alice/batch/1'), '0/2 machines feasible: 2 insufficient cpu');
  assert.equal(why.get('test/alice/web/2'), 'plan rejected by the master: machine not found');
  assert.equal(why.get('test/alice/web/0'), undefined);
  // Retried as is (the scheduler did not hear back): nothing is applied twice.
  const again = await commitPlan(state, why, plan('p1', [a('web/0', 'm0'), a('web/1', 'm0')]), propose);
  assert.deepEqual(again.acceptedTaskIds, []);
  assert.deepEqual(again.rejected.map((r) => r.reason), ['task is not pending (RUNNING)', 'insufficient cpu']);
  assert.equal(state.machines.get('m0')?.tasks.size, 1);
});

test('CommitPlan checks victims: present, on the machine and preemptible', async () => {
  const { state, propose } = setup();
  const why = new WhyPendingStore();
  await commitPlan(state, why, plan('p1', [a('batch/0', 'm1'), a('web/0', 'm0')]), propose);
  const res = await commitPlan(state, why, plan('p2', [a('web/1', 'm0', { victimTaskIds: ['test/alice/web/0'] }), a('web/2', 'm1', { victimTaskIds: ['test/alice/batch/0'] })]), propose);
  assert.deepEqual(res.acceptedTaskIds, ['test/alice/web/2']);
  assert.deepEqual(res.rejected, [{ taskId: 'test/alice/web/1', reason: 'victim cannot be preempted (test/alice/web/0 at priority 200, preemptor at 200)' }]);
  assert.equal(state.lookupTask('test/alice/batch/0')?.state, TaskState.PENDING, 'the victim went back to pending');
});

test('CommitPlan refuses malformed plans naming the field, before anything is proposed', async () => {
  const { state, propose, proposals } = setup();
  const why = new WhyPendingStore();
  const rows: [CommitPlanRequest, string][] = [
    [plan('', [a('web/0', 'm0')]), 'requestId'],
    [plan('p', [{ ...a('web/0', 'm0'), taskId: 'nope' }]), 'assignments[0].taskId'],
    [plan('p', [a('web/0', 'M 0')]), 'assignments[0].machine'],
    [plan('p', [a('web/0', 'm0', { specVersion: -1 })]), 'assignments[0].specVersion'],
    [plan('p', [a('web/0', 'm0', { victimTaskIds: Array.from({ length: 65 }, (_, i) => `test/alice/web/${i}`) })]), 'assignments[0].victimTaskIds'],
    [plan('p', [], [{ taskId: 'test/alice/web/0', why: 'x'.repeat(2000) }]), 'pending[0].why'],
    [{ ...plan('p', []), passSeconds: Number.NaN }, 'passSeconds'],
  ];
  for (const [req, field] of rows) {
    await assert.rejects(commitPlan(state, why, req, propose), (e: unknown) => e instanceof InvalidArgument && e.field === field, field);
  }
  assert.equal(proposals(), 0);
  assert.equal(why.size, 0);
});

test('the pre-check judges a restart back-off by the time the command will carry, not by the state\'s last command', () => {
  const { state, apply } = setup();
  apply(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'm0' }]));
  apply(bodies.transitions([{ taskId: 'test/alice/web/0', event: EventType.FAIL, machine: 'm0', exitCode: 1 }]));
  const task = state.lookupTask('test/alice/web/0');
  assert.equal(task?.state, TaskState.PENDING);
  const until = task?.notBeforeMs ?? 0;
  assert.ok(until > state.timeMs, 'in back-off');
  // Nothing was applied since: the state's clock still reads the failure's time.
  const stale = precheckPlan(state, plan('p', [a('web/0', 'm1')]));
  assert.match(stale.rejected[0]?.reason ?? '', /restart back-off/);
  const now = precheckPlan(state, plan('p', [a('web/0', 'm1')]), until);
  assert.deepEqual([now.transitions.length, now.rejected], [1, []]);
});
