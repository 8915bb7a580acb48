// Validation of ordered tasks: each bad field gets an error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDesiredTask } from './spec';
import { InvalidArgument } from '../model/errors';
import { RESTART_RESET_AFTER_MS_DEFAULT, RESTART_RESET_AFTER_MS_MAX } from '../cells/limits';
import { RestartPolicy_Kind, type DesiredTask, type TaskSpec } from '../proto/index';

const MiB = 1024 * 1024;
const capacity = { cpuMillis: 2000, ramBytes: 1024 * MiB, diskBytes: 10 * 1024 * MiB, ports: 100 };
function spec(o: Partial<TaskSpec> = {}): TaskSpec {
  return { command: '/bin/sleep', args: ['1'], env: {}, workingDir: '', requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 1 }, constraints: [], healthCheck: undefined, restartPolicy: undefined, latencySensitive: false, killGraceMs: 0, ...o };
}
function d(o: Partial<DesiredTask> = {}, s: Partial<TaskSpec> = {}): DesiredTask {
  return { taskId: 'c/u/j/0', specVersion: 1, spec: spec(s), priority: 100, bnsName: '', ports: [20001], ...o };
}

test('a good spec validates with defaults applied', () => {
  const v = validateDesiredTask(d(), capacity, 'tasks[0]');
  assert.equal(v.group, 'c.u.j.0');
  assert.equal(v.bnsName, '0.j.u.c.borg');
  assert.equal(v.killGraceMs, 10_000);
  assert.equal(v.restart.kind, 'on_failure');
  assert.equal(v.health, null);
  const h = validateDesiredTask(d({}, { healthCheck: { httpPath: '/healthz', portIndex: 0, intervalMs: 0, timeoutMs: 0, failuresBeforeRestart: 0 }, restartPolicy: { kind: RestartPolicy_Kind.ALWAYS, maxRestarts: 2, backoffInitialMs: 10, backoffMaxMs: 20, resetAfterMs: 0 } }), capacity, 't');
  assert.deepEqual(h.health, { path: '/healthz', port: 20001, intervalMs: 10_000, timeoutMs: 1_000, failuresBeforeRestart: 3 });
  assert.deepEqual(h.restart, { kind: 'always', maxRestarts: 2, backoffInitialMs: 10, backoffMaxMs: 20, resetAfterMs: RESTART_RESET_AFTER_MS_DEFAULT });
});

test('bad specs: one row per problem, each naming its field', () => {
  const res = (o: Record<string, number>) => ({ requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0, ...o } });
  const rows: { name: string; task: DesiredTask; field: string; msg: RegExp }[] = [
    { name: 'bad task id', task: d({ taskId: 'nope' }), field: 'tasks[0].taskId', msg: /cell\/user\/job\/index/ },
    { name: 'missing spec', task: { ...d(), spec: undefined }, field: 'tasks[0].spec', msg: /required/ },
    { name: 'empty command', task: d({}, { command: '' }), field: 'tasks[0].spec.command', msg: /required/ },
    { name: 'negative ram', task: d({}, res({ ramBytes: -5 })), field: 'tasks[0].spec.requirements.ramBytes', msg: /negative/ },
    { name: 'negative cpu', task: d({}, res({ cpuMillis: -1 })), field: 'tasks[0].spec.requirements.cpuMillis', msg: /negative/ },
    { name: 'absurd ram', task: d({}, res({ ramBytes: 2 ** 62 })), field: 'tasks[0].spec.requirements.ramBytes', msg: /too large|exceeds/ },
    { name: 'ram over machine', task: d({}, res({ ramBytes: 2048 * MiB })), field: 'tasks[0].spec.requirements.ramBytes', msg: /exceeds the machine's capacity of 1GiB/ },
    { name: 'cpu over machine', task: d({}, res({ cpuMillis: 64_000 })), field: 'tasks[0].spec.requirements.cpuMillis', msg: /exceeds/ },
    { name: 'tiny ram', task: d({}, res({ ramBytes: 1000 })), field: 'tasks[0].spec.requirements.ramBytes', msg: /at least 4MiB/ },
    { name: 'priority out of range', task: d({ priority: 5000 }), field: 'tasks[0].priority', msg: /\[0, 1000\]/ },
    { name: 'relative working dir', task: d({}, { workingDir: 'tmp' }), field: 'tasks[0].spec.workingDir', msg: /absolute/ },
    { name: 'reserved env', task: d({}, { env: { BORG_TASK_ID: 'x' } }), field: 'tasks[0].spec.env.BORG_TASK_ID', msg: /set by the Borglet/ },
    { name: 'bad env name', task: d({}, { env: { 'A=B': 'x' } }), field: 'tasks[0].spec.env', msg: /not a valid variable name/ },
    { name: 'fewer ports than asked', task: d({ ports: [] }, res({ ports: 2 })), field: 'tasks[0].ports', msg: /asks for 2 ports/ },
    { name: 'duplicate port', task: d({ ports: [5, 5] }), field: 'tasks[0].ports[1]', msg: /twice/ },
    { name: 'health port missing', task: d({}, { healthCheck: { httpPath: '/h', portIndex: 3, intervalMs: 0, timeoutMs: 0, failuresBeforeRestart: 0 } }), field: 'tasks[0].spec.healthCheck.portIndex', msg: /not one of/ },
    { name: 'grace too long', task: d({}, { killGraceMs: 10_000_000 }), field: 'tasks[0].spec.killGraceMs', msg: /at most/ },
    { name: 'reset_after too long', task: d({}, { restartPolicy: { kind: RestartPolicy_Kind.ALWAYS, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: RESTART_RESET_AFTER_MS_MAX + 1 } }), field: 'tasks[0].spec.restartPolicy.resetAfterMs', msg: /at most 2592000000/ },
    { name: 'arg with NUL', task: d({}, { args: ['a\0b'] }), field: 'tasks[0].spec.args[0]', msg: /NUL/ },
  ];
  for (const r of rows) {
    assert.throws(() => validateDesiredTask(r.task, capacity, 'tasks[0]'), (e: unknown) => {
      assert.ok(e instanceof InvalidArgument, `${r.name}: ${String(e)}`);
      assert.equal(e.field, r.field, r.name);
      assert.match(e.message, r.msg, r.name);
      return true;
    });
  }
});

test('runtime placeholders: ${port}, ${portN} and ${task_index} take the task\'s values; other ${...} are left alone', () => {
  const v = validateDesiredTask(
    d({ taskId: 'c/u/j/3', ports: [20001, 20002] }, { args: ['-m', 'http.server', '${port}', '--alt=${port1}', 'shard-${task_index}', '$HOME ${HOME}'], env: { ADDR: '127.0.0.1:${port}', N: '${task_index}' } }),
    capacity,
    'tasks[0]',
  );
  assert.deepEqual(v.spec.args, ['-m', 'http.server', '20001', '--alt=20002', 'shard-3', '$HOME ${HOME}']);
  assert.deepEqual(v.spec.env, { ADDR: '127.0.0.1:20001', N: '3' });
  assert.throws(
    () => validateDesiredTask(d({ ports: [20001] }, { args: ['${port2}'] }), capacity, 'tasks[0]'),
    (e: unknown) => e instanceof InvalidArgument && e.message === 'tasks[0].spec.args[0]: ${port2} names port 2, but the task has 1 port',
  );
});
