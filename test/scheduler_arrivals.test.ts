// The scheduler daemon does not make new work wait out its pass interval (scheduler/process/scheduler_process.ts):
// on real daemons (3 replica processes, the scheduler process, simulated Borglets, mutual TLS) with a 60 s pass
// interval, a job submitted to the cell is placed and running within seconds, and so is a second one submitted
// after the cell went quiet. With passes only on the interval, neither would be placed for up to a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { SimCell, simJob, eventually } from '../sim/borglets/sim_cell';
import { invoke, RestartPolicy_Kind, TaskState } from '../proto/index';

const md = () => new Metadata();

test('new tasks start a scheduling pass without waiting out the pass interval', { timeout: 120_000 }, async (t) => {
  const cell = await SimCell.start({ name: `arr${process.pid % 10000}`, machines: 2, pollInterval: '200ms', passInterval: '60s' });
  t.after(() => cell.stop());
  const c = await cell.client('ubar');
  const name = cell.config.name;
  await cell.waitStatus((s) => s.machinesUp === 2, 30_000);

  const submitAndWait = async (job: string, tasks: number): Promise<number> => {
    const t0 = performance.now();
    await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: `arr-${job}`, spec: simJob(name, job, tasks) }, md(), 10_000));
    await eventually(
      `${job}: ${tasks} tasks RUNNING`,
      async () => {
        const r = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job }, md(), 5000));
        return r.tasks.filter((x) => x.state === TaskState.RUNNING).length === tasks ? true : undefined;
      },
      30_000,
      50,
    );
    return performance.now() - t0;
  };

  const first = await submitAndWait('first', 4);
  // The cell is quiet now: the next interval pass is most of a minute away.
  await new Promise((r) => setTimeout(r, 1000));
  const second = await submitAndWait('second', 3);
  t.diagnostic(`submitted to running: first ${first.toFixed(0)} ms, second ${second.toFixed(0)} ms`);
  for (const [job, ms] of [['first', first], ['second', second]] as const) {
    assert.ok(ms < 15_000, `${job} job running ${(ms / 1000).toFixed(1)} s after it was submitted, well inside the 60 s pass interval`);
  }

  // A task that fails goes back to pending in a 500 ms restart back-off: the scheduler holds it and times a pass
  // for when the back-off ends, rather than leaving it to the next interval pass a minute away; and the master
  // takes the plan although nothing was applied since the failure (its state's clock stood still there).
  const crashy = simJob(name, 'crashy', 1);
  crashy.task = { ...crashy.task!, env: { SIM_DURATION_MS: '300', SIM_EXIT_CODE: '1' }, restartPolicy: { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 0, backoffInitialMs: 500, backoffMaxMs: 500, resetAfterMs: 0 } };
  const t0 = performance.now();
  await cell.leader(c, (m) => invoke(m.createJob.bind(m), { requestId: 'arr-crashy', spec: crashy }, md(), 10_000));
  await eventually(
    'crashy: placed again after its failure',
    async () => {
      const r = await cell.leader(c, (m) => invoke(m.getJob.bind(m), { user: 'ubar', job: 'crashy' }, md(), 5000));
      return r.tasks[0] !== undefined && r.tasks[0].restarts >= 1 && r.tasks[0].state === TaskState.RUNNING ? true : undefined;
    },
    20_000,
    50,
  );
  const crashyMs = performance.now() - t0;
  t.diagnostic(`submitted, failed, placed again: ${crashyMs.toFixed(0)} ms`);
  assert.ok(crashyMs < 15_000, `placed again ${(crashyMs / 1000).toFixed(1)} s after it was submitted`);
});
