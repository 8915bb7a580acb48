// The real `borg` binary (node cli/borg.mjs) against real BorgMaster API servers: three replicas with real gRPC
// and mutual TLS over the API team's in-process log (test/support/api_cell.ts), replica 1 leading. Covers
// submit (applied once when run again or when the answer is lost), jobs --json, why, tasks, events, machines,
// cell, quota, update with its diff and rollout progress, drain/undrain, quota set, checkpoint save/inspect,
// kill through a follower's redirect, and the exit codes for bad input (2), refusals (3), unreachable (4).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineState, TaskLogsRequest_Stream, TaskState } from '../proto/index';
import type { TaskLogSource } from '../borgmaster/api/index';
import { ApiCell } from './support/api_cell';
import { runBorg, type CliResult } from './support/cli';

let cell: ApiCell;
let dir = '';
let cfg: string[] = [];

const WEB = (args: string, replicas = 2) => `job web = {
  priority = prod
  replicas = ${replicas}
  command = "/bin/sleep"
  args = [${args}]
  requirements = { cpu = 100m, ram = 64MiB }
  update_policy = { max_tasks_down = 1 }
}
`;

before(async () => {
  // The Borglets' side of TaskLogs: what a Borglet keeps of each task's output, cut to the tail asked for (the
  // master's wiring to real Borglets is replica.ts; here the CLI -> gRPC -> master path is what is under test).
  const taskLogs: TaskLogSource = {
    tail: async (req) => {
      const data = Buffer.from(req.stream === TaskLogsRequest_Stream.STDERR ? `warning from ${req.taskId} on ${req.machine}\n` : 'line 1\nline 2\nline 3\n');
      return { data: data.subarray(Math.max(0, data.length - req.tailBytes)), truncated: data.length > req.tailBytes };
    },
  };
  cell = await ApiCell.start({ cell: 'live', users: ['admin'], taskLogs });
  cfg = ['--cell', cell.configFile];
  dir = await mkdtemp(join(tmpdir(), 'borg-cli-live-'));
  await writeFile(join(dir, 'web.bcl'), WEB('"3600"'));
  await writeFile(join(dir, 'web2.bcl'), WEB('"7200"'));
  await writeFile(join(dir, 'bad.bcl'), 'let x = 1\njob a = {\n  replicas = }\n');
  await writeFile(join(dir, 'big.bcl'), 'job big = { priority = batch, replicas = 4, command = "/bin/true", requirements = { cpu = 1, ram = 64MiB } }\n');
});

after(async () => {
  await cell.close();
  await rm(dir, { recursive: true, force: true });
});

function borg(...args: string[]): Promise<CliResult> {
  return runBorg([...args, ...cfg], { env: { BORG_USER: undefined } });
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

test('bad input exits 2, an unreachable master exits 4, both with a precise message', async () => {
  const [missing, syntax, unknown, unreachable, badMaster] = await Promise.all([
    borg('submit', 'no/such/file.bcl'),
    borg('submit', join(dir, 'bad.bcl')),
    borg('jobs', '--frobnicate'),
    borg('jobs', '--master', '127.0.0.1:1', '--timeout', '1s'),
    borg('kill', 'web', '--master', 'nowhere'),
  ]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'borg submit: no/such/file.bcl: cannot read: no such file\n');
  assert.equal(syntax.code, 2);
  assert.equal(syntax.stderr, `borg submit: ${join(dir, 'bad.bcl')}:3:14: expected an expression, found "}"\n 3 |   replicas = }\n   |              ^\n`);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--frobnicate: unknown option/);
  assert.equal(unreachable.code, 4, unreachable.stderr);
  // The first command to connect issued ubar's certificate from the cell CA (a local cell's CA key is readable).
  assert.match(unreachable.stderr, /^borg: issued a certificate for ubar from cell live's CA\nborg jobs: cell live did not answer ListJobs within 1000ms; replicas tried:\n {2}127\.0\.0\.1:1: /);
  assert.equal(badMaster.code, 2);
  assert.match(badMaster.stderr, /--master: "nowhere" is not host:port/);
  assert.equal(missing.stdout + syntax.stdout + unreachable.stdout, '');
});

test('submit creates each job once: a lost answer is retried with the same request id, and a second run changes nothing', async () => {
  const before = cell.proposals;
  cell.loseAnswers = 1;
  const r = ok(await borg('submit', join(dir, 'web.bcl')), 'submit');
  assert.match(r.stdout, /^JOB {12}TASKS {2}PRIORITY {2}LOG INDEX\nlive\/ubar\/web {6}2 {7}200 /);
  assert.equal(r.stderr, '');
  assert.equal(cell.proposals - before, 1);
  ok(await borg('submit', join(dir, 'web.bcl')), 'submit again');
  assert.equal(cell.proposals - before, 1, 'the second submit was answered from the request cache');
  assert.equal(cell.leader.state.jobs.size, 1);

  const jobs = ok(await borg('jobs', '--json'), 'jobs --json');
  const parsed = JSON.parse(jobs.stdout) as { id: string; state: string; counts: Record<string, number> }[];
  assert.deepEqual(parsed.map((j) => [j.id, j.state, j.counts]), [['live/ubar/web', 'PENDING', { PENDING: 2 }]]);
  assert.equal(jobs.stdout.split('\n').filter((l) => /running/i.test(l)).length, 0, 'grep -i running finds nothing while nothing runs');
});

test('why shows the scheduler verdicts for a job and a task', async () => {
  await cell.leader.commitPlan(
    {
      requestId: 'plan-1',
      baseLogIndex: cell.log.lastIndex,
      assignments: [],
      pending: [0, 1].map((i) => ({ taskId: `live/ubar/web/${i}`, why: '0/2 machines feasible: 2 insufficient ram' })),
      passSeconds: 0.01,
    },
    { commonName: 'scheduler', roles: ['scheduler'] },
  );
  const [job, task, notATask, logsPending, noJob, noneRunning] = await Promise.all([borg('why', 'web'), borg('why', 'web/1', '--json'), borg('why', 'web/9'), borg('logs', 'web/0'), borg('tasks', 'wbe'), borg('tasks', 'web', '--state', 'running')]);
  assert.equal(noJob.code, 2, 'tasks of a job that does not exist');
  assert.match(noJob.stderr, /job live\/ubar\/wbe not found/);
  assert.equal(ok(noneRunning, 'tasks --state running').stderr, 'no tasks\n', 'a job with no task in the state asked for');
  assert.equal(logsPending.code, 3, logsPending.stderr);
  assert.match(logsPending.stderr, /task live\/ubar\/web\/0 is not on a machine \(PENDING\)/);
  ok(job, 'why web');
  assert.equal(job.stdout, 'live/ubar/web: 2 of 2 tasks pending\n  2 tasks (0-1): 0/2 machines feasible: 2 insufficient ram\n');
  ok(task, 'why web/1');
  const t = JSON.parse(task.stdout) as { task: string; pending: boolean; why: string };
  assert.deepEqual([t.task, t.pending, t.why], ['live/ubar/web/1', true, '0/2 machines feasible: 2 insufficient ram']);
  assert.equal(notATask.code, 2);
  assert.match(notATask.stderr, /task live\/ubar\/web\/9 not found/);
});

test('once tasks run: jobs, tasks, events, machines, cell and quota show them', async () => {
  assert.equal(cell.stepScheduler(), 2);
  const [jobs, tasks, events, machines, status, quota, stdout, stderr] = await Promise.all([
    borg('jobs', '--json'),
    borg('tasks', 'web'),
    borg('events', '--job', 'web', '--type', 'schedule'),
    borg('machines', '--json'),
    borg('cell'),
    borg('quota', 'ubar'),
    borg('logs', 'web/0', '--tail', '2'),
    borg('logs', '1.web.ubar.live.borg', '--stderr', '--bytes', '9'),
  ]);
  assert.equal(ok(stdout, 'logs').stdout, 'line 2\nline 3\n');
  assert.equal(ok(stderr, 'logs --stderr').stdout, '/1 on m0\n', 'the last 9 bytes of the stderr of task 1, placed first-fit on m0');
  assert.match(stderr.stderr, /only the last 9 bytes/);
  const running = ok(jobs, 'jobs').stdout.split('\n').filter((l) => /running/i.test(l));
  assert.equal(running.length, 1);
  assert.match(running[0] as string, /"id":"live\/ubar\/web".*"state":"RUNNING","counts":\{"RUNNING":2\}/);
  const rows = ok(tasks, 'tasks').stdout.trim().split('\n');
  assert.match(rows[0] as string, /^TASK +STATE +HEALTHY +MACHINE +PORTS +CPU +RAM +RESTARTS +VERSION +SINCE +INFO$/);
  // No Borglet reports here: each task's use is not known yet, beside its limits, nor is it healthy.
  assert.deepEqual(rows.slice(1).map((l) => [...l.split(/ +/).slice(0, 3), ...l.split(/ +/).slice(5, 7)]), [['ubar/web/0', 'RUNNING', 'no', '-/100m', '-/64MiB'], ['ubar/web/1', 'RUNNING', 'no', '-/100m', '-/64MiB']]);
  const ev = ok(events, 'events').stdout.trim().split('\n');
  assert.equal(ev.length, 3, events.stdout);
  assert.ok(ev.slice(1).every((l) => / SCHEDULE +live\/ubar\/web\/[01] +m[01] /.test(l)), events.stdout);
  const ms = JSON.parse(ok(machines, 'machines').stdout) as { name: string; state: string }[];
  assert.deepEqual(ms.map((m) => `${m.name}:${m.state}`), ['m0:UP', 'm1:UP']);
  const st = ok(status, 'cell').stdout;
  assert.match(st, /^cell live: elected master: replica 1 at 127\.0\.0\.1:\d+ \(ballot 1\.1\)\nmachines: 2 up, 0 draining, 0 down; jobs: 1; tasks: 2 running, 0 pending\n/);
  assert.equal(st.split('\n').filter((l) => / (leader|follower) /.test(l)).length, 3);
  assert.match(ok(quota, 'quota').stdout, /^USER +BAND +CPU +RAM +DISK +PORTS\nubar +batch +0\/2 .*\nubar +prod +200m\/2 +128MiB\/4GiB /);
});

test('update shows the diff first, --dry-run changes nothing, then the rolling update is followed to the end', async () => {
  const dry = ok(await borg('update', join(dir, 'web2.bcl'), '--dry-run'), 'update --dry-run');
  assert.equal(dry.stdout, 'live/ubar/web: version 1 -> 2 (task spec changed; 2 task(s) restart)\n  ~ task.args: ["3600"] -> ["7200"]\n  restarts 2 running tasks: 0, 1\n');
  assert.equal(cell.leader.state.getJob('ubar', 'web')?.current.version, 1);
  const stop = cell.run(50);
  try {
    const up = ok(await borg('update', join(dir, 'web2.bcl'), '--poll', '100ms', '--wait-timeout', '30s'), 'update');
    assert.match(up.stdout, /live\/ubar\/web: updated to version 2 at log index \d+\n$/);
    assert.match(up.stderr, /live\/ubar\/web: \d\/2 tasks at version 2, \d running, \d healthy \(2 ran before\)/);
    assert.match(up.stderr, /live\/ubar\/web: rolling update done\n$/);
  } finally {
    stop();
  }
  const job = cell.leader.state.getJob('ubar', 'web');
  assert.equal(job?.current.version, 2);
  assert.deepEqual(job?.tasks.map((t) => [t.state, t.specVersion]), [[TaskState.RUNNING, 2], [TaskState.RUNNING, 2]]);
  const again = ok(await borg('update', join(dir, 'web2.bcl'), '--json'), 'update again');
  assert.deepEqual((JSON.parse(again.stdout) as { changed: boolean; applied: boolean }[]).map((p) => [p.changed, p.applied]), [[false, false]]);
});

test('admin operations are refused (3) to users and done for admins: drain, undrain, quota set, checkpoint', async () => {
  const ckpt = join(dir, 'cell.ckpt');
  const [drainUser, quotaUser, ckptUser] = await Promise.all([borg('drain', 'm1'), borg('quota', 'set', 'ubar', 'batch', 'cpu=1'), borg('checkpoint', 'save', ckpt)]);
  for (const r of [drainUser, quotaUser, ckptUser]) {
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /needs the admin role; ubar does not have it\n  \(act as one of the cell's admins, listed under `admins` in its config: --user NAME\)\n$/);
  }
  const drain = ok(await borg('drain', 'm1', '--user', 'admin'), 'drain');
  assert.match(drain.stdout, /^machine m1 is DRAINING \(was UP\) at log index \d+; \d+ task\(s\) still on it\n$/);
  assert.equal(cell.leader.state.machines.get('m1')?.state, MachineState.DRAINING);
  ok(await borg('undrain', 'm1', '--user', 'admin'), 'undrain');
  assert.equal(cell.leader.state.machines.get('m1')?.state, MachineState.UP);
  const missing = await borg('drain', 'm9', '--user', 'admin');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /machine m9 not found/);

  ok(await borg('quota', 'set', 'ubar', 'batch', 'cpu=1', '--user', 'admin'), 'quota set');
  const refused = await borg('submit', join(dir, 'big.bcl'));
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /quota/i);

  ok(await borg('checkpoint', 'save', ckpt, '--user', 'admin'), 'checkpoint save');
  const [inspect, corrupt] = await Promise.all([borg('checkpoint', 'inspect', ckpt, '--json'), (async () => {
    await writeFile(join(dir, 'bad.ckpt'), 'not a checkpoint');
    return borg('checkpoint', 'inspect', join(dir, 'bad.ckpt'));
  })()]);
  const sum = JSON.parse(ok(inspect, 'inspect').stdout) as { cell: string; jobs: number; tasks: Record<string, number>; machines: Record<string, number> };
  assert.deepEqual([sum.cell, sum.jobs, sum.tasks, sum.machines], ['live', 1, { total: 2, RUNNING: 2 }, { total: 2, UP: 2 }]);
  assert.equal(corrupt.code, 2);
  assert.match(corrupt.stderr, /bad\.ckpt: /);
});

test('kill through a follower: the write follows the redirect; killing again is not found (2)', async () => {
  const follower = cell.addresses[2] as string;
  const k = ok(await runBorg(['kill', 'web', '--cell', cell.configFile, '--master', follower]), 'kill');
  assert.match(k.stdout, /^killed live\/ubar\/web \(2 tasks\) at log index \d+\n$/);
  assert.equal(cell.leader.state.jobs.size, 0);
  const again = await borg('kill', 'web');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /job live\/ubar\/web not found/);
});
