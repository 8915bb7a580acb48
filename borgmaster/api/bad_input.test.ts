// Bad input over the wire: every BorgMaster call with missing, negative, oversized and malformed fields answers
// INVALID_ARGUMENT naming the field, and the cell's state is unchanged (same checkpoint bytes, nothing proposed).
// CellStatus and SaveCheckpoint take no fields. A table, one row per case. One limit: an integer beyond 2^53
// fails in the generated decoder before any handler sees it, so that row names `request`, not the field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { BorgError } from '../../model/errors';
import { MiB } from '../../model/resources';
import { Constraint_Op, PriorityBand, type BorgMasterClient, type JobSpec, type Quota } from '../../proto/index';
import { jobSpec, type JobSpecInput } from '../state/index';
import { call, startHandlerTestCell, TEST_CELL, type HandlerTestCell, type Identity } from './test_cell_for_handler_tests';

let cell: HandlerTestCell;
before(async () => {
  cell = await startHandlerTestCell();
  // A job to update, kill and read.
  const alice = cell.client('alice');
  await call(alice, alice.createJob, { requestId: 'setup-1', spec: good() });
});
after(() => cell.close());

function good(p: JobSpecInput = {}): JobSpec {
  return jobSpec({ cell: TEST_CELL, user: 'alice', name: 'web', task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1 } }, ...p });
}
function withTask(t: Partial<NonNullable<JobSpec['task']>>): JobSpec {
  const s = good();
  return { ...s, task: { ...(s.task as NonNullable<JobSpec['task']>), ...t } };
}
const req = (r: Partial<NonNullable<NonNullable<JobSpec['task']>['requirements']>>) => withTask({ requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1, ...r } });
const quota = (q: Partial<Quota>): Quota => ({ user: 'bob', band: PriorityBand.BEST_EFFORT, cell: '', limit: { cpuMillis: 1, ramBytes: 1, diskBytes: 0, ports: 0 }, used: undefined, ...q });
const plan = (p: object) => ({ requestId: 'plan-1', baseLogIndex: 0, assignments: [], pending: [], passSeconds: 0, ...p });
const asg = (a: object) => ({ taskId: 'test/alice/web/0', machine: 'm0', machineGeneration: 0, victimTaskIds: [], specVersion: 1, ...a });
const list = { user: '', job: '', machine: '', state: 0, pageSize: 0, pageToken: '' };
const events = { user: '', job: '', machine: '', taskId: '', types: [], sinceMs: 0, pageSize: 0, pageToken: '' };

type Row = [string, Identity, (c: BorgMasterClient) => Promise<unknown>, string];
const rows: Row[] = [
  // CreateJob
  ['CreateJob requestId missing', 'alice', (c) => call(c, c.createJob, { requestId: '', spec: good() }), 'requestId'],
  ['CreateJob requestId oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r'.repeat(129), spec: good() }), 'requestId'],
  ['CreateJob requestId malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'has space', spec: good() }), 'requestId'],
  ['CreateJob spec missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: undefined }), 'spec'],
  ['CreateJob name malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ name: 'Web!' }) }), 'spec.name'],
  ['CreateJob name oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ name: 'a'.repeat(64) }) }), 'spec.name'],
  ['CreateJob user missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ user: '' }) }), 'spec.user'],
  ['CreateJob cell of another cell', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ cell: 'elsewhere' }) }), 'spec.cell'],
  ['CreateJob priority negative', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ priority: -1 }) }), 'spec.priority'],
  ['CreateJob priority oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ priority: 5000 }) }), 'spec.priority'],
  ['CreateJob taskCount missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ taskCount: 0 }) }), 'spec.taskCount'],
  ['CreateJob taskCount oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ taskCount: 1_000_000 }) }), 'spec.taskCount'],
  ['CreateJob task missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: { ...good(), task: undefined } }), 'spec.task'],
  ['CreateJob command missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ command: '' }) }), 'spec.task.command'],
  ['CreateJob command oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ command: 'x'.repeat(5000) }) }), 'spec.task.command'],
  ['CreateJob arg oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ args: ['y'.repeat(17 * 1024)] }) }), 'spec.task.args[0]'],
  ['CreateJob arg malformed (NUL)', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ args: ['a\0b'] }) }), 'spec.task.args[0]'],
  ['CreateJob requirements missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ requirements: undefined }) }), 'spec.task.requirements'],
  ['CreateJob ram negative', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: req({ ramBytes: -1 }) }), 'spec.task.requirements.ramBytes'],
  ['CreateJob cpu missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: req({ cpuMillis: 0 }) }), 'spec.task.requirements.cpuMillis'],
  ['CreateJob cpu oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: req({ cpuMillis: 10_000_000 }) }), 'spec.task.requirements.cpuMillis'],
  ['CreateJob disk oversized (beyond 2^53)', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: req({ diskBytes: 2 ** 60 }) }), 'request'],
  ['CreateJob ports oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: req({ ports: 65 }) }), 'spec.task.requirements.ports'],
  ['CreateJob env key malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ env: { '1BAD': 'x' } }) }), 'spec.task.env["1BAD"]'],
  ['CreateJob constraint op missing', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ constraints: [{ key: 'os', op: Constraint_Op.OP_UNSPECIFIED, values: ['linux'] }] }) }), 'spec.task.constraints[0].op'],
  ['CreateJob constraint values malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ constraints: [{ key: 'os', op: Constraint_Op.EQ, values: [] }] }) }), 'spec.task.constraints[0].values'],
  ['CreateJob health check port malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ healthCheck: { httpPath: '/h', portIndex: 3, intervalMs: 0, timeoutMs: 0, failuresBeforeRestart: 0 } }) }), 'spec.task.healthCheck.portIndex'],
  ['CreateJob back-off oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ restartPolicy: { kind: 0, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 10 ** 9, resetAfterMs: 0 } }) }), 'spec.task.restartPolicy.backoffMaxMs'],
  ['CreateJob reset_after oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: withTask({ restartPolicy: { kind: 0, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 4 * 10 ** 9 } }) }), 'spec.task.restartPolicy.resetAfterMs'],
  ['CreateJob override index oversized', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ overrides: [{ index: 5, spec: good().task }] }) }), 'spec.overrides[0].index'],
  ['CreateJob annotation key malformed', 'alice', (c) => call(c, c.createJob, { requestId: 'r1', spec: good({ annotations: { 'Bad Key': 'v' } }) }), 'spec.annotations["Bad Key"]'],
  // UpdateJob
  ['UpdateJob requestId missing', 'alice', (c) => call(c, c.updateJob, { requestId: '', spec: good(), dryRun: false }), 'requestId'],
  ['UpdateJob spec missing', 'alice', (c) => call(c, c.updateJob, { requestId: 'r1', spec: undefined, dryRun: false }), 'spec'],
  ['UpdateJob maxTasksDown oversized', 'alice', (c) => call(c, c.updateJob, { requestId: 'r1', spec: good({ updatePolicy: { maxTasksDown: 200_000 } }), dryRun: false }), 'spec.updatePolicy.maxTasksDown'],
  ['UpdateJob spread oversized', 'alice', (c) => call(c, c.updateJob, { requestId: 'r1', spec: good({ spread: { maxPerMachine: 0, maxPerRack: 200_000, maxPerPowerDomain: 0 } }), dryRun: true }), 'spec.spread.maxPerRack'],
  // KillJob
  ['KillJob requestId missing', 'alice', (c) => call(c, c.killJob, { requestId: '', user: 'alice', job: 'web' }), 'requestId'],
  ['KillJob user missing', 'alice', (c) => call(c, c.killJob, { requestId: 'r1', user: '', job: 'web' }), 'user'],
  ['KillJob job malformed', 'alice', (c) => call(c, c.killJob, { requestId: 'r1', user: 'alice', job: 'We b' }), 'job'],
  // GetJob, ListJobs
  ['GetJob user missing', 'alice', (c) => call(c, c.getJob, { user: '', job: 'web' }), 'user'],
  ['GetJob job malformed', 'alice', (c) => call(c, c.getJob, { user: 'alice', job: '9web' }), 'job'],
  ['ListJobs user malformed', 'alice', (c) => call(c, c.listJobs, { user: 'A', pageSize: 0, pageToken: '' }), 'user'],
  ['ListJobs pageSize oversized', 'alice', (c) => call(c, c.listJobs, { user: '', pageSize: 1_000_000, pageToken: '' }), 'pageSize'],
  ['ListJobs pageToken malformed', 'alice', (c) => call(c, c.listJobs, { user: '', pageSize: 0, pageToken: 'abc' }), 'pageToken'],
  // ListTasks, GetTask
  ['ListTasks job without user', 'alice', (c) => call(c, c.listTasks, { ...list, job: 'web' }), 'user'],
  ['ListTasks machine malformed', 'alice', (c) => call(c, c.listTasks, { ...list, machine: 'Bad Machine' }), 'machine'],
  ['ListTasks state oversized', 'alice', (c) => call(c, c.listTasks, { ...list, state: 9 }), 'state'],
  ['ListTasks pageToken negative', 'alice', (c) => call(c, c.listTasks, { ...list, pageToken: '-1' }), 'pageToken'],
  ['GetTask taskId missing', 'alice', (c) => call(c, c.getTask, { taskId: '' }), 'taskId'],
  ['GetTask taskId malformed', 'alice', (c) => call(c, c.getTask, { taskId: 'a/b' }), 'taskId'],
  ['GetTask index negative', 'alice', (c) => call(c, c.getTask, { taskId: 'test/alice/web/-1' }), 'taskId.index'],
  ['GetTask index oversized', 'alice', (c) => call(c, c.getTask, { taskId: 'test/alice/web/100000' }), 'taskId.index'],
  ['GetTask other cell', 'alice', (c) => call(c, c.getTask, { taskId: 'other/alice/web/0' }), 'taskId.cell'],
  // Machines
  ['ListMachines state oversized', 'alice', (c) => call(c, c.listMachines, { state: 9, pageSize: 0, pageToken: '' }), 'state'],
  ['ListMachines pageSize oversized', 'alice', (c) => call(c, c.listMachines, { state: 0, pageSize: 10_001, pageToken: '' }), 'pageSize'],
  ['DrainMachine requestId missing', 'root', (c) => call(c, c.drainMachine, { requestId: '', machine: 'm0' }), 'requestId'],
  ['DrainMachine machine missing', 'root', (c) => call(c, c.drainMachine, { requestId: 'r1', machine: '' }), 'machine'],
  ['DrainMachine machine malformed', 'root', (c) => call(c, c.drainMachine, { requestId: 'r1', machine: 'M/0' }), 'machine'],
  ['UndrainMachine machine oversized', 'root', (c) => call(c, c.undrainMachine, { requestId: 'r1', machine: 'm'.repeat(64) }), 'machine'],
  // Quotas
  ['SetQuota quota missing', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: undefined }), 'quota'],
  ['SetQuota user missing', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ user: '' }) }), 'quota.user'],
  ['SetQuota band missing', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ band: PriorityBand.PRIORITY_BAND_UNSPECIFIED }) }), 'quota.band'],
  ['SetQuota band oversized', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ band: 77 as PriorityBand }) }), 'quota.band'],
  ['SetQuota limit missing', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ limit: undefined }) }), 'quota.limit'],
  ['SetQuota limit negative', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ limit: { cpuMillis: -5, ramBytes: 0, diskBytes: 0, ports: 0 } }) }), 'quota.limit.cpuMillis'],
  ['SetQuota cell of another cell', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ cell: 'elsewhere' }) }), 'quota.cell'],
  ['SetQuota used given', 'root', (c) => call(c, c.setQuota, { requestId: 'r1', quota: quota({ used: { cpuMillis: 1, ramBytes: 0, diskBytes: 0, ports: 0 } }) }), 'quota.used'],
  ['SetQuota requestId missing', 'root', (c) => call(c, c.setQuota, { requestId: '', quota: quota({}) }), 'requestId'],
  ['ListQuotas user malformed', 'alice', (c) => call(c, c.listQuotas, { user: 'Alice' }), 'user'],
  // Events
  ['ListEvents type oversized', 'alice', (c) => call(c, c.listEvents, { ...events, types: [99] }), 'types[0]'],
  ['ListEvents sinceMs negative', 'alice', (c) => call(c, c.listEvents, { ...events, sinceMs: -1 }), 'sinceMs'],
  ['ListEvents taskId malformed', 'alice', (c) => call(c, c.listEvents, { ...events, taskId: 'test/alice/web' }), 'taskId'],
  ['ListEvents machine malformed', 'alice', (c) => call(c, c.listEvents, { ...events, machine: '-' + 'x'.repeat(70) }), 'machine'],
  // TaskLogs
  ['TaskLogs taskId missing', 'alice', (c) => call(c, c.taskLogs, { taskId: '', stream: 0, tailBytes: 0 }), 'taskId'],
  ['TaskLogs stream oversized', 'alice', (c) => call(c, c.taskLogs, { taskId: 'test/alice/web/0', stream: 7, tailBytes: 0 }), 'stream'],
  ['TaskLogs tailBytes oversized', 'alice', (c) => call(c, c.taskLogs, { taskId: 'test/alice/web/0', stream: 0, tailBytes: 2 ** 30 }), 'tailBytes'],
  // CommitPlan
  ['CommitPlan requestId missing', 'sched', (c) => call(c, c.commitPlan, plan({ requestId: '' })), 'requestId'],
  ['CommitPlan task malformed', 'sched', (c) => call(c, c.commitPlan, plan({ assignments: [asg({ taskId: 'web/0' })] })), 'assignments[0].taskId'],
  ['CommitPlan machine missing', 'sched', (c) => call(c, c.commitPlan, plan({ assignments: [asg({ machine: '' })] })), 'assignments[0].machine'],
  ['CommitPlan victims oversized', 'sched', (c) => call(c, c.commitPlan, plan({ assignments: [asg({ victimTaskIds: Array.from({ length: 65 }, (_, i) => `test/alice/web/${i}`) })] })), 'assignments[0].victimTaskIds'],
  ['CommitPlan pending why oversized', 'sched', (c) => call(c, c.commitPlan, plan({ pending: [{ taskId: 'test/alice/web/0', why: 'w'.repeat(2000) }] })), 'pending[0].why'],
  ['CommitPlan passSeconds negative', 'sched', (c) => call(c, c.commitPlan, plan({ passSeconds: -1 })), 'passSeconds'],
];

test('bad input: every call answers INVALID_ARGUMENT naming the field; the state is unchanged', async () => {
  const before = Buffer.from(cell.leader.snapshot());
  const indexBefore = cell.log.lastIndex;
  const clients = new Map<Identity, BorgMasterClient>();
  const failures: string[] = [];
  for (const [name, who, f, field] of rows) {
    const c = clients.get(who) ?? cell.client(who);
    clients.set(who, c);
    try {
      await f(c);
      failures.push(`${name}: succeeded`);
    } catch (e: unknown) {
      if (!(e instanceof BorgError) || e.code !== 'invalid_argument' || !e.message.startsWith(`${field}: `)) {
        failures.push(`${name}: expected invalid_argument on ${field}, got ${e instanceof BorgError ? `${e.code} ${e.message}` : String(e)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(cell.log.lastIndex, indexBefore, 'nothing was proposed');
  assert.ok(Buffer.from(cell.leader.snapshot()).equals(before), 'the leader state is byte-for-byte unchanged');
  assert.ok(Buffer.from(cell.follower.snapshot()).equals(before), 'and so is the follower');
});

test('bad input on the Watch stream: fromLogIndex beyond 2^53 is INVALID_ARGUMENT', async () => {
  const c = cell.client('alice');
  const err = await new Promise<ServiceError>((resolve) => {
    const s = c.watch({ fromLogIndex: 2 ** 60 });
    s.on('data', () => {});
    s.on('error', resolve);
  });
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /^request: does not decode/);
});
