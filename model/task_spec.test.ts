import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Constraint_Op, RestartPolicy_Kind, type TaskSpec } from '../proto/index';
import { sameRunSpec } from './task_spec';

const base: TaskSpec = {
  command: '/bin/server',
  args: ['--port', '${port}'],
  env: { MODE: 'prod' },
  workingDir: '',
  requirements: { cpuMillis: 500, ramBytes: 256 << 20, diskBytes: 0, ports: 1 },
  constraints: [],
  healthCheck: undefined,
  restartPolicy: undefined,
  latencySensitive: false,
  killGraceMs: 0,
};

test('sameRunSpec: supervision, limits and placement fields are taken in place; the program, its environment and ports need a new run', () => {
  const rows: [string, Partial<TaskSpec>, boolean][] = [
    ['nothing changed', {}, true],
    ['restart policy', { restartPolicy: { kind: RestartPolicy_Kind.ALWAYS, maxRestarts: 3, backoffInitialMs: 100, backoffMaxMs: 1000, resetAfterMs: 60_000 } }, true],
    ['health check', { healthCheck: { httpPath: '/healthz', portIndex: 0, intervalMs: 1000, timeoutMs: 500, failuresBeforeRestart: 3 } }, true],
    ['kill grace', { killGraceMs: 30_000 }, true],
    ['constraints', { constraints: [{ key: 'os', op: Constraint_Op.EQ, values: ['linux'] }] }, true],
    ['command', { command: '/bin/server2' }, false],
    ['args', { args: ['--port', '8080'] }, false],
    ['env', { env: { MODE: 'canary' } }, false],
    ['working dir', { workingDir: '/srv' }, false],
    ['cpu, ram and disk (the cgroup limits)', { requirements: { cpuMillis: 600, ramBytes: 512 << 20, diskBytes: 1 << 30, ports: 1 } }, true],
    ['latency sensitivity (the cgroup cpu shares)', { latencySensitive: true }, true],
    ['the number of ports (assigned at placement)', { requirements: { cpuMillis: 500, ramBytes: 256 << 20, diskBytes: 0, ports: 2 } }, false],
  ];
  for (const [name, change, same] of rows) assert.equal(sameRunSpec(base, { ...base, ...change }), same, name);
});
