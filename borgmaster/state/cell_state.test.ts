// The cell state machine: admission and quota, placement re-checks, the task lifecycle with restart back-off,
// rolling updates, idempotency, reservations, machines, and determinism (two replicas, same commands, same bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellState, snapshot, restore } from './index';
import { bodies, command, jobSpec, machine, type JobSpecInput } from './builders';
import { EventType, MachineState, PriorityBand, RestartPolicy_Kind, TaskState, type Command, type CommandResult, type TaskTransition } from '../../proto/index';
import { GiB, MiB } from '../../model/resources';
import { SeededRng } from '../../model/rng';
import { MAX_TRANSITIONS_PER_COMMAND } from '../../cells/limits';

/** Replica applies commands at increasing indexes with a stamped time, as the log would, and checks invariants. */
class Replica {
  state = new CellState('test');
  index = 0;
  timeMs = 1_000_000;
  run(body: Command['body'], opts: { requestId?: string; caller?: string } = {}): CommandResult {
    const cmd = command(body as NonNullable<Command['body']>, { ...opts, timeMs: this.timeMs });
    const out = this.state.apply(cmd, ++this.index);
    this.state.checkInvariants();
    return out.result;
  }
  ok(body: Command['body'], opts: { requestId?: string; caller?: string } = {}): CommandResult {
    const r = this.run(body, opts);
    assert.ok(r.ok, `expected ok, got ${r.errorCode}: ${r.errorMessage}`);
    return r;
  }
  task(id: string) {
    const t = this.state.lookupTask(id);
    assert.ok(t, `task ${id}`);
    return t;
  }
}

function cell(machines = 2, quota = { cpuMillis: 100_000, ramBytes: 1000 * GiB, diskBytes: 1000 * GiB, ports: 1000 }): Replica {
  const r = new Replica();
  for (let i = 0; i < machines; i++) r.ok(bodies.registerMachine(machine(`m${i}`)));
  r.ok(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: Math.min(quota.cpuMillis, machines * 4000), ramBytes: Math.min(quota.ramBytes, machines * 16 * GiB), diskBytes: Math.min(quota.diskBytes, machines * 100 * GiB), ports: Math.min(quota.ports, machines * 100) }));
  r.ok(bodies.setQuota('alice', PriorityBand.BEST_EFFORT, quota));
  return r;
}

function create(r: Replica, spec: JobSpecInput): CommandResult {
  return r.run(bodies.createJob(jobSpec(spec)));
}

test('CreateJob makes PENDING tasks with SUBMIT events; KillJob removes them', () => {
  const r = cell();
  r.ok(bodies.createJob(jobSpec({ taskCount: 3 })));
  const job = r.state.getJob('alice', 'web');
  assert.ok(job);
  assert.deepEqual([job.pending, job.running, job.dead], [3, 0, 0]);
  assert.equal(r.task('test/alice/web/2').state, TaskState.PENDING);
  assert.deepEqual(r.state.events.toArray().map((e) => [e.taskId, EventType[e.type]]), [
    ['test/alice/web/0', 'SUBMIT'],
    ['test/alice/web/1', 'SUBMIT'],
    ['test/alice/web/2', 'SUBMIT'],
  ]);
  const dup = create(r, { taskCount: 1 });
  assert.equal(dup.errorCode, 'already_exists');
  r.ok(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'm0' }]));
  r.ok(bodies.killJob('alice', 'web'));
  assert.equal(r.state.getJob('alice', 'web'), undefined);
  assert.equal(r.state.taskCount, 0);
  assert.equal(r.state.machines.get('m0')?.tasks.size, 0);
  assert.equal(r.run(bodies.killJob('alice', 'web')).errorCode, 'not_found');
});

test('quota: rejection names the quota and the shortfall; FREE is unlimited; usage is released on kill', () => {
  const r = cell(2, { cpuMillis: 1000, ramBytes: 1 * GiB, diskBytes: 10 * GiB, ports: 10 });
  const res = create(r, { priority: 100, taskCount: 11, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } });
  assert.equal(res.ok, false);
  assert.equal(res.errorCode, 'resource_exhausted');
  assert.match(res.errorMessage, /quota of user alice in band batch \(priority 100\) of cell test exceeded: cpu: needs 1.1 cores, quota 1 core, short by 100m/);
  assert.equal(r.state.jobs.size, 0, 'a refused job leaves nothing behind');
  const noQuota = create(r, { user: 'bob', priority: 116, taskCount: 1 });
  assert.match(noQuota.errorMessage, /quota of user bob in band mid .* cpu: needs 100m, quota 0m, short by 100m; ram: needs 64MiB, quota 0B, short by 64MiB/);
  r.ok(bodies.createJob(jobSpec({ user: 'bob', name: 'free', priority: 0, taskCount: 1000, task: { requirements: { cpuMillis: 4000, ramBytes: 16 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.createJob(jobSpec({ priority: 100, taskCount: 10 })));
  assert.equal(create(r, { name: 'more', priority: 100, taskCount: 1 }).errorCode, 'resource_exhausted');
  r.ok(bodies.killJob('alice', 'web'));
  r.ok(bodies.createJob(jobSpec({ name: 'more', priority: 100, taskCount: 1 })));
});

test('SetQuota: prod quotas never exceed the cell capacity; FREE takes no quota', () => {
  const r = cell(1);
  const over = r.run(bodies.setQuota('bob', PriorityBand.PRODUCTION, { cpuMillis: 1, ramBytes: 0, diskBytes: 0, ports: 0 }));
  assert.equal(over.errorCode, 'failed_precondition');
  assert.match(over.errorMessage, /prod quotas of cell test would exceed its capacity.*cpu: needs 4.001 cores, capacity 4 cores, short by 1m/);
  assert.equal(r.run(bodies.setQuota('bob', PriorityBand.FREE, { cpuMillis: 1, ramBytes: 0, diskBytes: 0, ports: 0 })).errorField, 'quota.band');
  r.ok(bodies.setQuota('bob', PriorityBand.BEST_EFFORT, { cpuMillis: 10 ** 9, ramBytes: 0, diskBytes: 0, ports: 0 }));
});

test('placement: prod is charged limits, non-prod reservations; ports are never overcommitted', () => {
  const r = cell(2);
  // One prod task taking 3 of 4 cores.
  r.ok(bodies.createJob(jobSpec({ name: 'big', task: { requirements: { cpuMillis: 3000, ramBytes: 1 * GiB, diskBytes: 0, ports: 60 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/big/0', machine: 'm0' }]));
  const big = r.task('test/alice/big/0');
  assert.deepEqual(big.ports.slice(0, 3), [20000, 20001, 20002]);
  // A second prod task of 2 cores does not fit (limits charged).
  r.ok(bodies.createJob(jobSpec({ name: 'prod2', task: { requirements: { cpuMillis: 2000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  let res = r.ok(bodies.transitions([{ taskId: 'test/alice/prod2/0', machine: 'm0' }]));
  assert.deepEqual(res.rejected, [{ taskId: 'test/alice/prod2/0', reason: 'insufficient cpu' }]);
  // The Borglet estimates the big task needs 1 core: a non-prod task of 2 cores now fits in reclaimed resources.
  r.ok(bodies.reservations([{ taskId: 'test/alice/big/0', machine: 'm0', reservation: { cpuMillis: 990, ramBytes: 200 * MiB, diskBytes: 0, ports: 60 } }]));
  assert.deepEqual(big.reservation, { cpuMillis: 1000, ramBytes: 208 * MiB, diskBytes: 0, ports: 60 }, 'quantised up');
  r.ok(bodies.createJob(jobSpec({ name: 'batch', priority: 100, task: { requirements: { cpuMillis: 2000, ramBytes: 1 * GiB, diskBytes: 0, ports: 50 } } })));
  res = r.ok(bodies.transitions([{ taskId: 'test/alice/batch/0', machine: 'm0' }]));
  assert.deepEqual(res.rejected, [{ taskId: 'test/alice/batch/0', reason: 'insufficient ports (needs 50, 40 free)' }]);
  r.ok(bodies.updateJob(jobSpec({ name: 'batch', priority: 100, task: { requirements: { cpuMillis: 2000, ramBytes: 1 * GiB, diskBytes: 0, ports: 40 } } })));
  res = r.ok(bodies.transitions([{ taskId: 'test/alice/batch/0', machine: 'm0' }]));
  assert.deepEqual(res.acceptedTaskIds, ['test/alice/batch/0']);
  assert.deepEqual(r.state.machines.get('m0')?.allocatedReservation, { cpuMillis: 3000, ramBytes: 1 * GiB + 208 * MiB, diskBytes: 0, ports: 100 });
  // A small change of estimate quantises to the same reservation: nothing changes, the generation stays.
  const gen = r.state.machines.get('m0')?.generation;
  res = r.ok(bodies.reservations([{ taskId: 'test/alice/big/0', machine: 'm0', reservation: { cpuMillis: 960, ramBytes: 199 * MiB, diskBytes: 0, ports: 60 } }]));
  assert.deepEqual(res.acceptedTaskIds, []);
  assert.equal(r.state.machines.get('m0')?.generation, gen);
});

test('placement re-checks: pending, spec version, machine UP, victims present and preemptible (prod never preempts prod)', () => {
  const r = cell(2);
  r.ok(bodies.createJob(jobSpec({ name: 'p1', task: { requirements: { cpuMillis: 3000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.createJob(jobSpec({ name: 'p2', priority: 300, task: { requirements: { cpuMillis: 3000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.createJob(jobSpec({ name: 'b1', priority: 110, task: { requirements: { cpuMillis: 3000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.createJob(jobSpec({ name: 'b0', priority: 100, task: { requirements: { cpuMillis: 3000, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/p1/0', machine: 'm0' }, { taskId: 'test/alice/b0/0', machine: 'm1' }]));
  const rows: [string, Partial<{ machine: string; victimTaskIds: string[]; specVersion: number }>, string][] = [
    ['test/alice/p1/0', { machine: 'm1' }, 'task is not pending (RUNNING)'],
    ['test/alice/p2/0', { machine: 'm0', specVersion: 7 }, 'spec version changed (planned 7, now 1)'],
    ['test/alice/p2/0', { machine: 'm0', victimTaskIds: ['test/alice/p1/0'] }, 'victim cannot be preempted (test/alice/p1/0 at priority 200, preemptor at 300)'],
    ['test/alice/p2/0', { machine: 'm0', victimTaskIds: ['test/alice/b0/0'] }, 'victim is no longer running on the machine'],
    ['test/alice/p2/0', { machine: 'm0' }, 'insufficient cpu'],
    ['test/alice/p2/0', { machine: 'nope' }, 'machine not found'],
    ['test/alice/b1/0', { machine: 'm1' }, 'insufficient cpu'],
    ['test/alice/zz/0', { machine: 'm1' }, 'task not found'],
  ];
  for (const [taskId, a, reason] of rows) {
    const res = r.ok(bodies.transitions([{ taskId, ...a }]));
    assert.deepEqual(res.rejected, [{ taskId, reason }], `${taskId} ${JSON.stringify(a)}`);
  }
  // A hard constraint the machine no longer meets (re-registered with other attributes).
  r.ok(bodies.createJob(jobSpec({ name: 'arm', task: { constraints: [{ key: 'arch', op: 1, values: ['arm64'] }], requirements: { cpuMillis: 100, ramBytes: 1 * GiB, diskBytes: 0, ports: 0 } } })));
  r.ok(bodies.registerMachine(machine('m1', {}, { attributes: { arch: 'arm64' } })));
  r.ok(bodies.registerMachine(machine('m1', {}, { attributes: { arch: 'x86_64' } })));
  assert.deepEqual(r.ok(bodies.transitions([{ taskId: 'test/alice/arm/0', machine: 'm1' }])).rejected, [{ taskId: 'test/alice/arm/0', reason: 'constraint arch=arm64' }]);
  r.ok(bodies.setMachineState('m1', MachineState.DRAINING));
  assert.deepEqual(r.ok(bodies.transitions([{ taskId: 'test/alice/b1/0', machine: 'm1', victimTaskIds: ['test/alice/b0/0'] }])).rejected, [
    { taskId: 'test/alice/b1/0', reason: 'machine is not UP (DRAINING)' },
  ]);
  r.ok(bodies.setMachineState('m1', MachineState.UP));
  // b1 (110) preempts b0 (100): b0 is evicted and goes back to PENDING, never killed for good.
  const res = r.ok(bodies.transitions([{ taskId: 'test/alice/b1/0', machine: 'm1', victimTaskIds: ['test/alice/b0/0'] }]));
  assert.deepEqual(res.acceptedTaskIds, ['test/alice/b1/0']);
  const b0 = r.task('test/alice/b0/0');
  assert.equal(b0.state, TaskState.PENDING);
  assert.equal(b0.restarts, 1);
  assert.deepEqual(r.state.events.toArray().slice(-3).map((e) => `${e.taskId} ${EventType[e.type]} ${e.machine}`), [
    'test/alice/b0/0 EVICT m1',
    'test/alice/b0/0 SUBMIT ',
    'test/alice/b1/0 SCHEDULE m1',
  ]);
  // Prod p2 on m1 where only non-prod b1 runs: b1 is preemptible so prod is not charged for it.
  assert.deepEqual(r.ok(bodies.transitions([{ taskId: 'test/alice/p2/0', machine: 'm1' }])).acceptedTaskIds, ['test/alice/p2/0']);
});

test('restart policy: FAIL goes back to PENDING after a doubling back-off; max_restarts; NEVER; ALWAYS after FINISH, counted like a failure', () => {
  const r = cell(1);
  r.ok(bodies.createJob(jobSpec({ name: 'crashy', task: { restartPolicy: { kind: 0, maxRestarts: 3, backoffInitialMs: 1000, backoffMaxMs: 3000, resetAfterMs: 0 } } })));
  const id = 'test/alice/crashy/0';
  const t = r.task(id);
  const backoffs: number[] = [];
  for (let i = 0; i < 3; i++) {
    r.ok(bodies.transitions([{ taskId: id, machine: 'm0' }]));
    assert.equal(t.state, TaskState.RUNNING);
    r.ok(bodies.transitions([{ taskId: id, event: EventType.FAIL, machine: 'm0', exitCode: 1 }]));
    assert.equal(t.state, TaskState.PENDING);
    backoffs.push(t.notBeforeMs - r.timeMs);
    // Scheduling during the back-off is refused with the reason.
    const res = r.ok(bodies.transitions([{ taskId: id, machine: 'm0' }]));
    assert.deepEqual(res.rejected, [{ taskId: id, reason: `task is in restart back-off for ${backoffs[i]}ms more` }]);
    r.timeMs += backoffs[i] as number;
  }
  assert.deepEqual(backoffs, [1000, 2000, 3000], 'doubling, capped at backoffMaxMs');
  assert.equal(t.restarts, 3);
  r.ok(bodies.transitions([{ taskId: id, machine: 'm0' }]));
  r.ok(bodies.transitions([{ taskId: id, event: EventType.FAIL, machine: 'm0', exitCode: 2 }]));
  assert.equal(t.state, TaskState.DEAD, 'fourth failure exceeds max_restarts 3');
  assert.match(t.message, /restart limit 3 reached/);

  r.ok(bodies.createJob(jobSpec({ name: 'never', task: { restartPolicy: { kind: 3, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/never/0', machine: 'm0' }]));
  r.ok(bodies.transitions([{ taskId: 'test/alice/never/0', event: EventType.FAIL }]));
  assert.equal(r.task('test/alice/never/0').state, TaskState.DEAD);

  r.ok(bodies.createJob(jobSpec({ name: 'always', task: { restartPolicy: { kind: 1, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/always/0', machine: 'm0' }]));
  r.ok(bodies.transitions([{ taskId: 'test/alice/always/0', event: EventType.FINISH }]));
  assert.equal(r.task('test/alice/always/0').state, TaskState.PENDING);
  assert.equal(r.task('test/alice/always/0').notBeforeMs, r.timeMs + 1000, 'default initial back-off');
  assert.match(r.task('test/alice/always/0').message, /^restarting after FINISH 1 \(policy ALWAYS\); back-off 1000ms$/);

  // Under ALWAYS every end of a run counts, exit 0 as well as a failure, as the Borglet counts its restarts in
  // place: a service that keeps exiting 0 backs off and is bounded by max_restarts like one that keeps crashing.
  r.ok(bodies.createJob(jobSpec({ name: 'exits', task: { restartPolicy: { kind: 1, maxRestarts: 2, backoffInitialMs: 1000, backoffMaxMs: 8000, resetAfterMs: 0 } } })));
  const exits = r.task('test/alice/exits/0');
  const ends: number[] = [];
  for (const event of [EventType.FINISH, EventType.FAIL]) {
    r.ok(bodies.transitions([{ taskId: exits.id, machine: 'm0' }]));
    r.ok(bodies.transitions([{ taskId: exits.id, event, machine: 'm0', exitCode: event === EventType.FAIL ? 1 : 0 }]));
    assert.equal(exits.state, TaskState.PENDING);
    ends.push(exits.notBeforeMs - r.timeMs);
    r.timeMs = exits.notBeforeMs;
  }
  assert.deepEqual(ends, [1000, 2000], 'the back-off doubles across exits 0 and failures alike');
  r.ok(bodies.transitions([{ taskId: exits.id, machine: 'm0' }]));
  r.ok(bodies.transitions([{ taskId: exits.id, event: EventType.FINISH, machine: 'm0' }]));
  assert.equal(exits.state, TaskState.DEAD, 'a third end exceeds max_restarts 2');
  assert.equal(exits.message, 'ended 3 times; restart limit 2 reached');
  // LOST goes back at once; a stale report from another machine is refused.
  r.ok(bodies.createJob(jobSpec({ name: 'lost' })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/lost/0', machine: 'm0' }]));
  assert.deepEqual(r.ok(bodies.transitions([{ taskId: 'test/alice/lost/0', event: EventType.LOST, machine: 'm9' }])).rejected, [
    { taskId: 'test/alice/lost/0', reason: 'stale report: task is on m0, not m9' },
  ]);
  r.ok(bodies.transitions([{ taskId: 'test/alice/lost/0', event: EventType.LOST, machine: 'm0' }]));
  assert.equal(r.task('test/alice/lost/0').state, TaskState.PENDING);
  assert.equal(r.task('test/alice/lost/0').notBeforeMs, 0);
  assert.deepEqual(r.ok(bodies.transitions([{ taskId: 'test/alice/lost/0', event: EventType.FINISH }])).rejected, [
    { taskId: 'test/alice/lost/0', reason: 'FINISH is not allowed in state PENDING' },
  ]);
});

test('restart policy: a run that lasted reset_after forgives the failures before it (the Borglet\'s streak)', () => {
  const r = cell(2);
  r.ok(bodies.createJob(jobSpec({ name: 'svc', task: { restartPolicy: { kind: 2, maxRestarts: 3, backoffInitialMs: 1000, backoffMaxMs: 60_000, resetAfterMs: 0 } } })));
  const t = r.task('test/alice/svc/0');
  const end = (machine: string, over: { streak?: number; streakReset?: boolean }, task = t) => {
    r.ok(bodies.transitions([{ taskId: task.id, machine }]));
    r.ok(bodies.transitions([{ taskId: task.id, event: EventType.FAIL, machine, exitCode: 1, ...over }]));
    const backoff = task.notBeforeMs - r.timeMs;
    r.timeMs = Math.max(r.timeMs, task.notBeforeMs);
    return `${TaskState[task.state]} ${task.failures} ${backoff}`;
  };
  // m0's Borglet restarted it in place once and then gave up: both runs count (streak 2).
  assert.equal(end('m0', { streak: 2 }), 'PENDING 2 2000');
  // On m1 a run lasted reset_after, then failed: the failures before it (m0's included) are forgiven.
  assert.equal(end('m1', { streak: 1, streakReset: true }), 'PENDING 1 1000');
  // A short run after it counts on from there; three short ones in a row (one here, two in place) exceed 3.
  assert.equal(end('m0', { streak: 1 }), 'PENDING 2 2000');
  assert.equal(end('m1', { streak: 2 }).split(' ').slice(0, 2).join(' '), 'DEAD 4');
  assert.equal(t.message, 'failed 4 times; restart limit 3 reached');
  // An eviction or a lost machine is not the task's fault; one that ends a placement that ran reset_after
  // (the default, 10 minutes) with no restart in place forgives the failures before it too.
  r.ok(bodies.createJob(jobSpec({ name: 'moved', task: { restartPolicy: { kind: 2, maxRestarts: 0, backoffInitialMs: 1000, backoffMaxMs: 60_000, resetAfterMs: 0 } } })));
  const moved = r.task('test/alice/moved/0');
  assert.equal(end('m0', { streak: 2 }, moved), 'PENDING 2 2000');
  const lose = (after: number) => {
    r.ok(bodies.transitions([{ taskId: moved.id, machine: 'm1' }]));
    r.timeMs += after;
    r.ok(bodies.transitions([{ taskId: moved.id, event: EventType.LOST, machine: 'm1' }]));
    return moved.failures;
  };
  assert.equal(lose(599_999), 2, 'lost before reset_after: the failures stand');
  assert.equal(lose(600_000), 0);
  // A report without a streak (an older Borglet) counts every run ended on the machine, as before.
  r.ok(bodies.createJob(jobSpec({ name: 'old', task: { restartPolicy: { kind: 2, maxRestarts: 0, backoffInitialMs: 1000, backoffMaxMs: 60_000, resetAfterMs: 0 } } })));
  const old = r.task('test/alice/old/0');
  r.ok(bodies.transitions([{ taskId: old.id, machine: 'm0' }]));
  r.ok(bodies.transitions([{ taskId: old.id, event: EventType.RESTART, machine: 'm0', specVersion: 1, restarts: 2 }]));
  r.ok(bodies.transitions([{ taskId: old.id, event: EventType.FAIL, machine: 'm0', exitCode: 1 }]));
  assert.equal(old.failures, 3);
  // Streaks are checked: only ends carry one, it counts the run that ended, and a reset comes with a streak.
  const refused = (tr: Partial<TaskTransition>) => r.run(bodies.transitions([{ taskId: old.id, machine: 'm0', ...tr }])).errorMessage;
  assert.equal(refused({ event: EventType.EVICT, streak: 1 }), 'transitions[0].streak: only FAIL and FINISH carry a streak');
  assert.equal(refused({ event: EventType.FAIL, streak: 0 }), 'transitions[0].streak: counts the run that ended, so is at least 1');
  assert.equal(refused({ event: EventType.FAIL, streakReset: true }), 'transitions[0].streakReset: comes only with a streak');
});

function scheduleAll(r: Replica, job: string, n: number, machineName = 'm0'): void {
  const list = Array.from({ length: n }, (_, i) => ({ taskId: `test/alice/${job}/${i}`, machine: machineName }));
  r.ok(bodies.transitions(list));
}

test('rolling update: at most max_tasks_down tasks down at once; priority-only change restarts nothing', () => {
  const r = cell(2);
  const base = { name: 'svc', taskCount: 6, updatePolicy: { maxTasksDown: 2 } };
  r.ok(bodies.createJob(jobSpec(base)));
  scheduleAll(r, 'svc', 6);
  const job = r.state.getJob('alice', 'svc');
  assert.ok(job);
  // Priority-only change: no restart, tasks updated in place.
  const prio = r.ok(bodies.updateJob(jobSpec({ ...base, priority: 250 })));
  assert.deepEqual(prio.restartedTaskIds, []);
  assert.equal(job.running, 6);
  assert.ok(job.tasks.every((t) => t.specVersion === 2 && t.restarts === 0 && t.state === TaskState.RUNNING));
  // A new binary: all six restart, two at a time.
  const upd = r.ok(bodies.updateJob(jobSpec({ ...base, priority: 250, task: { args: ['7200'] } })));
  assert.equal(upd.specVersion, 3);
  assert.equal(upd.restartedTaskIds.length, 6);
  const maxDownSeen: number[] = [];
  const oldRunning = () => job.tasks.filter((t) => t.specVersion !== 3 && t.state === TaskState.RUNNING).length;
  for (let round = 0; round < 10 && job.tasks.some((t) => t.specVersion !== 3 || t.state !== TaskState.RUNNING || !t.healthy); round++) {
    const down = job.tasks.filter((t) => t.state !== TaskState.RUNNING || (t.specVersion === 3 && !t.healthy));
    maxDownSeen.push(down.length);
    // The scheduler places one of the down tasks per round; the rollout takes the next one down only when the
    // placed one's Borglet reports it healthy.
    const first = down[0];
    assert.ok(first);
    const before = oldRunning();
    if (first.state !== TaskState.RUNNING) r.ok(bodies.transitions([{ taskId: first.id, machine: 'm1' }]));
    assert.equal(oldRunning(), before, 'placed is not yet up: nothing more is taken down');
    r.ok(bodies.health([{ taskId: first.id, machine: 'm1', healthy: true }]));
  }
  assert.ok(maxDownSeen.every((n) => n <= 2), `down counts ${maxDownSeen.join(',')}`);
  assert.equal(maxDownSeen[0], 2);
  assert.ok(job.tasks.every((t) => t.specVersion === 3 && t.state === TaskState.RUNNING && t.healthy));
  assert.equal(job.specs.size, 1, 'old spec versions are dropped when no task runs them');
  // Scale down and up.
  r.ok(bodies.updateJob(jobSpec({ ...base, priority: 250, taskCount: 3, task: { args: ['7200'] } })));
  assert.equal(job.tasks.length, 3);
  r.ok(bodies.updateJob(jobSpec({ ...base, priority: 250, taskCount: 4, task: { args: ['7200'] } })));
  assert.equal(r.task('test/alice/svc/3').state, TaskState.PENDING);
  assert.equal(job.running, 3);
});

test('update in place: a new restart policy, health check, kill grace, limits the machine holds, or constraints it meets, restart nothing (B15 §2.3)', () => {
  const r = new Replica();
  r.ok(bodies.registerMachine(machine('m0', {}, { attributes: { os: 'linux', zone: 'a' } })));
  r.ok(bodies.registerMachine(machine('m1', {}, { attributes: { os: 'linux', zone: 'b' } })));
  r.ok(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 8000, ramBytes: 32 * GiB, diskBytes: 200 * GiB, ports: 200 }));
  const base = { name: 'svc', taskCount: 2, updatePolicy: { maxTasksDown: 2 } };
  const requirements = { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1 };
  r.ok(bodies.createJob(jobSpec({ ...base, task: { requirements } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/svc/0', machine: 'm0' }, { taskId: 'test/alice/svc/1', machine: 'm1' }]));
  const job = r.state.getJob('alice', 'svc');
  assert.ok(job);
  const update = (task: JobSpecInput['task']) => {
    const res = r.ok(bodies.updateJob(jobSpec({ ...base, task: { requirements, ...task } })));
    return { restarted: res.restartedTaskIds, states: job.tasks.map((t) => `${TaskState[t.state]}@${t.machine?.name ?? '-'} v${t.specVersion}`) };
  };
  const supervision = {
    restartPolicy: { kind: 1, maxRestarts: 5, backoffInitialMs: 500, backoffMaxMs: 5000, resetAfterMs: 60_000 },
    healthCheck: { httpPath: '/healthz', portIndex: 0, intervalMs: 1000, timeoutMs: 500, failuresBeforeRestart: 3 },
    killGraceMs: 3000,
  };
  assert.deepEqual(update(supervision), { restarted: [], states: ['RUNNING@m0 v2', 'RUNNING@m1 v2'] });
  assert.match(r.state.events.toArray().at(-1)?.message ?? '', /updated in place to version 2/);
  // Constraints both machines meet: in place. Constraints only m0 meets: m1's task is rolled (and rescheduled).
  const linux = [{ key: 'os', op: 1, values: ['linux'] }];
  assert.deepEqual(update({ ...supervision, constraints: linux }), { restarted: [], states: ['RUNNING@m0 v3', 'RUNNING@m1 v3'] });
  const zoneA = [{ key: 'zone', op: 1, values: ['a'] }];
  assert.deepEqual(update({ ...supervision, constraints: zoneA }), { restarted: ['test/alice/svc/1'], states: ['RUNNING@m0 v4', 'PENDING@- v4'] });
  r.ok(bodies.transitions([{ taskId: 'test/alice/svc/1', machine: 'm0' }]));
  // New limits that still fit the machine (4 cores, 16GiB): resized in place, the machine charged the new limits.
  const m0 = r.state.machines.get('m0');
  assert.ok(m0);
  const generation = m0.generation;
  const bigger = { cpuMillis: 1500, ramBytes: 6 * GiB, diskBytes: 0, ports: 1 };
  assert.deepEqual(update({ ...supervision, constraints: zoneA, requirements: bigger }), { restarted: [], states: ['RUNNING@m0 v5', 'RUNNING@m0 v5'] });
  assert.deepEqual([m0.prodLimit.cpuMillis, m0.prodLimit.ramBytes, m0.allocatedLimit.cpuMillis], [3000, 12 * GiB, 3000]);
  assert.ok(m0.generation > generation, 'the scheduler sees the machine changed');
  // Limits the machine holds for one of them, not both: the first is resized in place, the second rolled (placed
  // again where it fits). The preview says so too, counting the first's growth against the second.
  const tight = { ...supervision, constraints: zoneA, requirements: { ...bigger, cpuMillis: 2500 } };
  assert.deepEqual(r.state.previewUpdate(jobSpec({ ...base, task: tight })).restartedTaskIds, ['test/alice/svc/1']);
  assert.deepEqual(update(tight), { restarted: ['test/alice/svc/1'], states: ['RUNNING@m0 v6', 'PENDING@- v6'] });
  assert.deepEqual([m0.prodLimit.cpuMillis, m0.tasks.size], [2500, 1]);
  r.ok(bodies.transitions([{ taskId: 'test/alice/svc/1', machine: 'm0' }]));
  // A new binary restarts every running task.
  assert.deepEqual(update({ ...tight, args: ['new'] }).restarted, ['test/alice/svc/0']);
});

test('health (B15 §2.6): unhealthy from each placement and restart until a report; stale reports refused; a rolled task dead for good releases the rollout', () => {
  const r = cell(2);
  const base = { name: 'svc', taskCount: 2, updatePolicy: { maxTasksDown: 1 } };
  r.ok(bodies.createJob(jobSpec(base)));
  scheduleAll(r, 'svc', 2);
  const [t0, t1] = [r.task('test/alice/svc/0'), r.task('test/alice/svc/1')];
  assert.deepEqual([t0.healthy, t1.healthy], [false, false], 'placed, not yet reported');
  r.timeMs += 1000;
  const res = r.ok(bodies.health([{ taskId: t0.id, machine: 'm0', healthy: true }, { taskId: t1.id, machine: 'm1', healthy: true }]));
  assert.deepEqual(res.acceptedTaskIds, [t0.id]);
  assert.deepEqual(res.rejected, [{ taskId: t1.id, reason: 'task is not running on that machine' }]);
  assert.deepEqual([t0.healthy, t0.healthTimeMs, t1.healthy], [true, r.timeMs, false]);
  // The same report again changes nothing; a failing check, then passing again, each change stamped.
  const at = t0.healthTimeMs;
  r.timeMs += 1000;
  r.ok(bodies.health([{ taskId: t0.id, machine: 'm0', healthy: true }]));
  assert.equal(t0.healthTimeMs, at);
  r.ok(bodies.health([{ taskId: t0.id, machine: 'm0', healthy: false }]));
  assert.deepEqual([t0.healthy, t0.healthTimeMs], [false, r.timeMs]);
  r.ok(bodies.health([{ taskId: t0.id, machine: 'm0', healthy: true }]));
  // A restart on the machine is a new run: unhealthy until reported.
  r.ok(bodies.transitions([{ taskId: t0.id, machine: 'm0', event: EventType.RESTART, restarts: 1 }]));
  assert.equal(t0.healthy, false);
  r.ok(bodies.health([{ taskId: t0.id, machine: 'm0', healthy: true }, { taskId: t1.id, machine: 'm0', healthy: true }]));
  // Leaving RUNNING ends health (the view says so too).
  r.ok(bodies.transitions([{ taskId: t1.id, machine: 'm0', event: EventType.EVICT }]));
  assert.deepEqual([t1.state, t1.healthy], [TaskState.PENDING, false]);
  assert.equal(r.run(bodies.health([{ taskId: t1.id, machine: 'm0', healthy: true }])).rejected?.length, 1);
  r.ok(bodies.transitions([{ taskId: t1.id, machine: 'm1' }]));
  r.ok(bodies.health([{ taskId: t1.id, machine: 'm1', healthy: true }]));
  // A new binary, one task at a time: task 0 is rolled; task 1 waits while 0 is placed but not healthy. Task 0
  // then fails for good (NEVER restart): dead, it holds the rollout no longer, and task 1 is rolled.
  r.ok(bodies.updateJob(jobSpec({ ...base, task: { args: ['v2'], restartPolicy: { kind: RestartPolicy_Kind.NEVER, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } } })));
  assert.deepEqual([t0.state, t1.state], [TaskState.PENDING, TaskState.RUNNING]);
  r.ok(bodies.transitions([{ taskId: t0.id, machine: 'm0' }]));
  assert.deepEqual([t0.state, t1.state, t1.specVersion], [TaskState.RUNNING, TaskState.RUNNING, 1], 'waits for task 0 to be healthy');
  r.ok(bodies.transitions([{ taskId: t0.id, machine: 'm0', event: EventType.FAIL, exitCode: 2 }]));
  assert.deepEqual([t0.state, t1.state, t1.specVersion], [TaskState.DEAD, TaskState.PENDING, 2]);
  r.state.checkInvariants();
  const healthEvents = () => r.state.events.toArray().filter((e) => e.type === EventType.HEALTHY || e.type === EventType.UNHEALTHY);
  assert.deepEqual(healthEvents(), [], 'no health check: no health events (SCHEDULE and RESTART say it)');
  // With a health check, its passes and failures are events.
  r.ok(bodies.createJob(jobSpec({ name: 'probed', task: { healthCheck: { httpPath: '/healthz', portIndex: 0, intervalMs: 1000, timeoutMs: 500, failuresBeforeRestart: 3 }, requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/probed/0', machine: 'm1' }]));
  for (const healthy of [true, false, true]) r.ok(bodies.health([{ taskId: 'test/alice/probed/0', machine: 'm1', healthy }]));
  assert.deepEqual(healthEvents().map((e) => `${EventType[e.type]} ${e.machine}: ${e.message}`), [
    'HEALTHY m1: health check GET /healthz on port index 0 passing',
    'UNHEALTHY m1: health check GET /healthz on port index 0 not passing',
    'HEALTHY m1: health check GET /healthz on port index 0 passing',
  ]);
  assert.equal(r.task('test/alice/probed/0').state, TaskState.RUNNING);
});

test('idempotency: a duplicate request id is applied once; reuse for another request is refused', () => {
  const r = cell(1);
  const first = r.ok(bodies.createJob(jobSpec({ taskCount: 2 })), { requestId: 'req-1', caller: 'alice' });
  r.timeMs += 5000;
  const again = r.run(bodies.createJob(jobSpec({ taskCount: 2 })), { requestId: 'req-1', caller: 'alice' });
  assert.deepEqual(again, first, 'same result, including the original log index');
  assert.equal(r.state.taskCount, 2);
  assert.equal(r.state.events.size, 2, 'no second SUBMIT');
  const other = r.run(bodies.createJob(jobSpec({ name: 'other' })), { requestId: 'req-1', caller: 'alice' });
  assert.equal(other.errorField, 'requestId');
  assert.equal(r.state.getJob('alice', 'other'), undefined);
  // The same id from another caller is another request.
  assert.ok(r.run(bodies.createJob(jobSpec({ name: 'other' })), { requestId: 'req-1', caller: 'bob' }).ok);
  // A refused request is remembered too: its retry gets the same refusal even if it would now succeed.
  const refused = r.run(bodies.killJob('alice', 'nope'), { requestId: 'req-2', caller: 'alice' });
  assert.equal(refused.errorCode, 'not_found');
  assert.deepEqual(r.run(bodies.killJob('alice', 'nope'), { requestId: 'req-2', caller: 'alice' }), refused);
});

test('idempotency cache is bounded in entries and in remembered task ids: the oldest request is forgotten first', () => {
  const s = new CellState('test', { requestCapacity: 3, requestTaskIds: 5 });
  for (let i = 0; i < 5; i++) s.apply(command(bodies.noop(), { requestId: `r${i}`, caller: 'x' }), i + 1);
  assert.equal(s.requests.size, 3);
  assert.equal(s.requests.get('x\u0000r1'), undefined);
  assert.ok(s.requests.get('x\u0000r4'));
  // A result listing 4 rejected task ids, then another: together over 5 ids, so only the newest stays.
  const four = bodies.transitions(Array.from({ length: 4 }, (_, i) => ({ taskId: `test/a/j/${i}`, machine: 'm0' })));
  s.apply(command(four, { requestId: 'p1', caller: 'x' }), 10);
  assert.ok(s.requests.get('x\u0000p1'));
  s.apply(command(four, { requestId: 'p2', caller: 'x' }), 11);
  assert.equal(s.requests.get('x\u0000p1'), undefined);
  assert.ok(s.requests.get('x\u0000p2'));
  assert.equal(s.requests.size, 1, 'oldest first until the ids fit; the newest always stays');
});

test('machines: registration, state changes and generation bumps', () => {
  const r = cell(1);
  const m = r.state.machines.get('m0');
  assert.ok(m);
  const g0 = m.generation;
  r.ok(bodies.registerMachine(machine('m0')));
  assert.equal(m.generation, g0, 'identical re-registration changes nothing');
  r.ok(bodies.registerMachine(machine('m0', { cpuMillis: 8000 })));
  assert.equal(m.generation, g0 + 1);
  assert.equal(m.state, MachineState.UP, 're-registration keeps the state');
  r.ok(bodies.setMachineState('m0', MachineState.DOWN, 'missed 5 polls'));
  assert.equal(m.generation, g0 + 2);
  assert.equal(r.run(bodies.setMachineState('m9', MachineState.UP)).errorCode, 'not_found');
  assert.equal(r.run(bodies.setMachineState('m0', 9 as MachineState)).errorField, 'state');
});

test('bad commands are refused with the field and change nothing', () => {
  const r = cell(1);
  const before = Buffer.from(snapshot(r.state));
  const rows: [Command['body'], string][] = [
    [undefined, 'body'],
    [bodies.createJob(jobSpec({ cell: 'other' })), 'spec.cell'],
    [bodies.createJob(jobSpec({ taskCount: 0 })), 'spec.taskCount'],
    [bodies.createJob(jobSpec({ priority: -1 })), 'spec.priority'],
    [bodies.createJob(jobSpec({ task: { requirements: { cpuMillis: -5, ramBytes: 1, diskBytes: 0, ports: 0 } } })), 'spec.task.requirements.cpuMillis'],
    [bodies.transitions([{ taskId: 'test/alice/web/x' }]), 'transitions[0].taskId.index'],
    [bodies.transitions([{ taskId: 'test/alice/web/0', event: 99 as EventType }]), 'transitions[0].event'],
    [bodies.transitions([{ taskId: 'test/alice/web/0', machine: '' }]), 'transitions[0].machine'],
    [bodies.reservations([{ taskId: 'test/alice/web/0', machine: 'm0', reservation: { cpuMillis: 1.5, ramBytes: 0, diskBytes: 0, ports: 0 } }]), 'updates[0].reservation.cpuMillis'],
    [bodies.health([{ taskId: 'test/alice/web', machine: 'm0', healthy: true }]), 'updates[0].taskId'],
    [bodies.health([{ taskId: 'test/alice/web/0', machine: 'Bad Name', healthy: true }]), 'updates[0].machine'],
    [bodies.health(Array.from({ length: MAX_TRANSITIONS_PER_COMMAND + 1 }, () => ({ taskId: 'test/alice/web/0', machine: 'm0', healthy: true }))), 'updates'],
    [bodies.registerMachine(machine('Bad Name')), 'machine.name'],
    [bodies.setQuota('alice', 42, { cpuMillis: 1, ramBytes: 0, diskBytes: 0, ports: 0 }), 'quota.band'],
  ];
  for (const [body, field] of rows) {
    const res = r.run(body);
    assert.equal(res.errorCode, 'invalid_argument', `${field}: ${res.errorMessage}`);
    assert.equal(res.errorField, field, res.errorMessage);
  }
  // Only the applied index and time moved.
  const after = restore(snapshot(r.state));
  after.checkInvariants();
  const b = restore(before);
  assert.equal(after.jobs.size, b.jobs.size);
  assert.equal(after.events.size, b.events.size);
  // Undecodable bytes are refused, not a crash.
  const out = r.state.applyEncoded(new Uint8Array([0xff, 0xff, 0xff]), ++r.index);
  assert.equal(out.result.errorField, 'command');
});

/** randomCommands drives two replicas with the same seeded workload. */
function randomWorkload(seed: number, steps: number): Command[] {
  const rng = new SeededRng(seed);
  const cmds: Command[] = [];
  let t = 1_000_000;
  const jobs = ['a', 'b', 'c', 'd'];
  const add = (body: NonNullable<Command['body']>, requestId = '') => cmds.push(command(body, { timeMs: (t += rng.int(3000)), requestId, caller: 'alice' }));
  for (let i = 0; i < 4; i++) add(bodies.registerMachine(machine(`m${i}`, { cpuMillis: 2000, ports: 8 })));
  add(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 8000, ramBytes: 64 * GiB, diskBytes: 400 * GiB, ports: 32 }));
  add(bodies.setQuota('alice', PriorityBand.BEST_EFFORT, { cpuMillis: 100_000, ramBytes: 1000 * GiB, diskBytes: 1000 * GiB, ports: 1000 }));
  for (let i = 0; i < steps; i++) {
    const job = jobs[rng.int(jobs.length)] as string;
    const taskId = `test/alice/${job}/${rng.int(4)}`;
    const m = `m${rng.int(5)}`;
    switch (rng.int(10)) {
      case 0:
        add(bodies.createJob(jobSpec({ name: job, cell: 'test', priority: [0, 100, 110, 200][rng.int(4)] as number, taskCount: 1 + rng.int(4), task: { requirements: { cpuMillis: 100 + rng.int(1500), ramBytes: 64 * MiB, diskBytes: 0, ports: rng.int(3) } }, updatePolicy: { maxTasksDown: 1 + rng.int(2) } })), `r${rng.int(20)}`);
        break;
      case 1:
        add(bodies.updateJob(jobSpec({ name: job, cell: 'test', priority: [0, 100, 110, 200][rng.int(4)] as number, taskCount: 1 + rng.int(4), task: { args: [String(rng.int(3))], requirements: { cpuMillis: 100 + rng.int(1500), ramBytes: 64 * MiB, diskBytes: 0, ports: rng.int(3) } } })));
        break;
      case 2:
        add(bodies.killJob('alice', job));
        break;
      case 3:
      case 4:
        add(bodies.transitions([{ taskId, machine: m, victimTaskIds: rng.int(3) === 0 ? [`test/alice/${jobs[rng.int(4)]}/${rng.int(4)}`] : [] }]));
        break;
      case 5:
        add(bodies.transitions([{ taskId, event: [EventType.FAIL, EventType.FINISH, EventType.LOST, EventType.EVICT, EventType.KILL][rng.int(5)] as EventType, exitCode: rng.int(3) }]));
        break;
      case 6:
        add(bodies.reservations([{ taskId, machine: m, reservation: { cpuMillis: rng.int(2000), ramBytes: rng.int(100) * MiB, diskBytes: 0, ports: 0 } }]));
        break;
      case 7:
        add(bodies.setMachineState(m, [MachineState.UP, MachineState.DRAINING, MachineState.DOWN][rng.int(3)] as MachineState));
        break;
      case 8:
        add(bodies.health([{ taskId, machine: m, healthy: rng.int(3) !== 0 }]));
        break;
      default:
        add(bodies.noop());
    }
  }
  return cmds;
}

test('determinism: two replicas applying the same seeded workload agree byte for byte, with invariants after every step; checkpoints round-trip mid-way', () => {
  const seeds = process.env.BORG_STATE_SEEDS ? Number(process.env.BORG_STATE_SEEDS) : 20;
  for (let seed = 1; seed <= seeds; seed++) {
    const cmds = randomWorkload(seed, 300);
    const a = new CellState('test');
    let b = new CellState('test');
    cmds.forEach((cmd, i) => {
      const ra = a.apply(cmd, i + 1);
      const rb = b.apply(cmd, i + 1);
      a.checkInvariants();
      assert.deepEqual(ra.result, rb.result, `seed ${seed} step ${i}`);
      // Replica b restarts from its own checkpoint now and then.
      if (i % 97 === 0) b = restore(snapshot(b));
    });
    assert.ok(Buffer.from(snapshot(a)).equals(Buffer.from(snapshot(b))), `seed ${seed}: snapshots differ`);
    assert.ok(a.events.size > 0);
  }
});

test('ports come from the machine\'s own range: machines carved out of one host never hand out the same port', () => {
  const r = new Replica();
  r.ok(bodies.registerMachine(machine('h0', {}, { portBase: 30000 })));
  r.ok(bodies.registerMachine(machine('h1', {}, { portBase: 30100 })));
  r.ok(bodies.setQuota('alice', PriorityBand.PRODUCTION, { cpuMillis: 8000, ramBytes: 32 * GiB, diskBytes: 200 * GiB, ports: 200 }));
  r.ok(bodies.createJob(jobSpec({ taskCount: 2, task: { requirements: { cpuMillis: 100, ramBytes: MiB, diskBytes: 0, ports: 2 } } })));
  r.ok(bodies.transitions([{ taskId: 'test/alice/web/0', machine: 'h0' }, { taskId: 'test/alice/web/1', machine: 'h1' }]));
  assert.deepEqual([...r.task('test/alice/web/0').ports], [30000, 30001]);
  assert.deepEqual([...r.task('test/alice/web/1').ports], [30100, 30101]);
  assert.equal(r.run(bodies.registerMachine(machine('bad', { ports: 100 }, { portBase: 65500 }))).errorField, 'machine.portBase');
});

test('getTaskIfValid finds exactly the well-formed ids of this cell and agrees with lookupTask', () => {
  const r = cell();
  r.ok(bodies.createJob(jobSpec({ taskCount: 12 })));
  const rows: [string, string | undefined][] = [
    ['test/alice/web/0', 'test/alice/web/0'],
    ['test/alice/web/11', 'test/alice/web/11'],
    ['test/alice/web/12', undefined],
    ['test/alice/web/01', undefined],
    ['test/alice/web/1.0', undefined],
    ['test/alice/web/1e1', undefined],
    ['test/alice/web/-0', undefined],
    ['test/alice/web/ 1', undefined],
    ['test/alice/web/', undefined],
    ['test/alice/web', undefined],
    ['other/alice/web/0', undefined],
    ['test/bob/web/0', undefined],
    ['', undefined],
    ['/', undefined],
  ];
  for (const [id, want] of rows) {
    assert.equal(r.state.getTaskIfValid(id)?.id, want, id);
    let parsed: string | undefined;
    try {
      parsed = r.state.lookupTask(id)?.id;
    } catch {
      parsed = undefined;
    }
    assert.equal(parsed, want, `lookupTask agrees on ${JSON.stringify(id)}`);
  }
});
