// The Borglet runs real processes: in their cgroups from the first instruction, as nobody, in their own PID
// namespace, with their BNS name and ports in the environment; logs via TaskLogs; SIGTERM then SIGKILL after the
// grace; restarts per policy with back-off; health checks; updates; bad specs refused with a clear error and
// nothing started. Real daemon, real gRPC, real cgroups (root).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RestartPolicy_Kind, TaskState, EventType } from '../proto/index';
import { detectCgroupDriver, sharesFromCpuMillis } from '../borglet/cgroups/index';
import { TestMachine, PollClient, spec, task, find, waitFor, alive, MiB, type Daemon } from './borglet_support';

const m = new TestMachine('runtime');
let d: Daemon;
let c: PollClient;
const ballot = { round: 1, replica: 1 };

before(async () => {
  d = await m.start(['--cpu', '1', '--ram', '1GiB', '--sample-interval', '100ms']);
  c = new PollClient(d.address);
});
after(async () => {
  c?.close();
  await m.cleanup();
});

test('a task runs in its cgroup, as nobody, in its own pid namespace, with its name and ports', async () => {
  const t = task(0, spec('/bin/sh', ['-c', 'echo "bns=$BORG_BNS_NAME port=$BORG_PORT ports=$BORG_PORTS"; id -u; echo "nspid=$$"; echo oops >&2; exec sleep 100']), { ports: [21001, 21002] });
  const r = await c.poll(ballot, [t]);
  const s = find(r, t.taskId);
  assert.equal(s.state, TaskState.RUNNING, s.message);
  assert.ok(s.pid > 0);
  const group = 'test.u.job.0';
  const cg = readFileSync(`/proc/${s.pid}/cgroup`, 'utf8');
  assert.match(cg, new RegExp(`memory:/borg/${m.name}/${group.replaceAll('.', '\\.')}`));
  assert.match(cg, new RegExp(`cpu:/borg/${m.name}/${group.replaceAll('.', '\\.')}`));
  assert.equal(readFileSync(`/sys/fs/cgroup/memory/borg/${m.name}/${group}/memory.limit_in_bytes`, 'utf8').trim(), String(32 * MiB));
  const out = await waitFor('the task output', async () => {
    const l = (await c.logs(t.taskId)).data.toString();
    return l.includes('nspid') ? l : undefined;
  });
  assert.match(out, /bns=0\.job\.u\.test\.borg port=21001 ports=21001,21002/);
  assert.match(out, /^65534$/m, 'runs as nobody');
  assert.match(out, /^nspid=1$/m, 'the task is pid 1 of its own pid namespace');
  assert.equal((await c.logs(t.taskId, true)).data.toString(), 'oops\n');
  await assert.rejects(c.logs('test/u/job/99'), /not found/);
  assert.equal(r.facts?.cgroupVersion, 'v1');
  assert.equal(r.facts?.capacity?.cpuMillis, 1000);
  assert.match(r.facts?.attributes['borglet.isolation'] ?? '', /user=nobody; namespaces=pid,mount/);
});

test('a task can open its working directory by path though the state dir is private; the sandbox goes with the task', async () => {
  // The test machine's state dir is a mktemp dir (mode 700): nobody cannot pass it.
  assert.equal(statSync(m.stateDir).mode & 0o777, 0o700);
  const t = task(21, spec('/bin/sh', ['-c', 'cd "$HOME" && echo hi > note && ls "$PWD" && echo "cwd=$(pwd)"; exec sleep 100']));
  const r = await c.poll(ballot, [t]);
  assert.equal(find(r, t.taskId).state, TaskState.RUNNING);
  const out = await waitFor('the output', async () => {
    const l = (await c.logs(t.taskId)).data.toString();
    return l.includes('cwd=') ? l : undefined;
  });
  assert.match(out, /^note\ncwd=(\/.*)$/m, `${out}${(await c.logs(t.taskId, true)).data.toString()}`);
  const cwd = /cwd=(.*)/.exec(out)?.[1] ?? '';
  assert.ok(!cwd.startsWith(m.stateDir), `the sandbox is outside the private state dir: ${cwd}`);
  assert.equal(readFileSync(join(cwd, 'note'), 'utf8'), 'hi\n');
  await c.poll(ballot, []);
  await waitFor('the forgotten task\'s sandbox removed', async () => (existsSync(cwd) ? undefined : true));
});

test('a task\'s logs outlive it: the last of each stream is kept once the master lets the task go', async () => {
  const t = task(22, spec('/bin/sh', ['-c', 'echo started; echo oops >&2; echo "bye from $BORG_TASK_ID"'], { restartPolicy: { kind: RestartPolicy_Kind.NEVER, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } }));
  await c.poll(ballot, [t]);
  await waitFor('the task to finish', async () => (find(await c.poll(ballot, [t]), t.taskId).state === TaskState.DEAD ? true : undefined));
  const r = await c.poll(ballot, []);
  assert.equal(r.tasks.find((x) => x.taskId === t.taskId), undefined, 'forgotten');
  assert.equal((await c.logs(t.taskId)).data.toString(), `started\nbye from ${t.taskId}\n`);
  assert.equal((await c.logs(t.taskId, true)).data.toString(), 'oops\n');
  assert.ok(!existsSync(join(m.stateDir, 'tasks', 'test.u.job.22')), 'its directory is gone');
  await assert.rejects(c.logs('test/u/job/999'), /not found/);
});

test('arguments and environment reach the task byte for byte, with default signal dispositions', async () => {
  const weird = ["it's", 'say "hi"', '$HOME', '`id`', 'two\nlines', ' spaced ', '\\', '*', ''];
  const t = task(20, spec('/bin/sh', ['-c', 'printf "%s|" "$@"; printf "\\n%s\\n" "$WEIRD"; grep -E "^SigIgn" /proc/self/status; exec sleep 100', 'sh', ...weird], { env: { WEIRD: "a'b\"c $x" } }));
  const r = await c.poll(ballot, [t]);
  assert.equal(find(r, t.taskId).state, TaskState.RUNNING);
  const out = await waitFor('the output', async () => {
    const l = (await c.logs(t.taskId)).data.toString();
    return l.includes('SigIgn') ? l : undefined;
  });
  assert.ok(out.startsWith(`${weird.join('|')}|\n`), JSON.stringify(out));
  assert.match(out, /\na'b"c \$x\n/);
  assert.match(out, /^SigIgn:\s+0+$/m, 'no signal is ignored by the task');
  await c.poll(ballot, []);
});

test('stop: SIGTERM first, SIGKILL after the grace for a task that does not leave', async () => {
  const polite = task(1, spec('/bin/sh', ['-c', 'trap "echo term; exit 0" TERM; while :; do sleep 0.05; done'], { killGraceMs: 5_000 }));
  const stubborn = task(2, spec('/bin/sh', ['-c', 'trap "echo ignoring" TERM; while :; do sleep 0.05; done'], { killGraceMs: 800 }));
  const r = await c.poll(ballot, [polite, stubborn]);
  const pids = [find(r, polite.taskId).pid, find(r, stubborn.taskId).pid];
  await new Promise((res) => setTimeout(res, 300));
  const t0 = Date.now();
  const r2 = await c.poll(ballot, []);
  assert.equal(find(r2, polite.taskId).lastEvent, EventType.KILL);
  await waitFor('the polite task to leave', () => !alive(pids[0] as number), 3_000, 20);
  const politeMs = Date.now() - t0;
  await waitFor('the stubborn task to be killed', () => !alive(pids[1] as number), 5_000, 20);
  const stubbornMs = Date.now() - t0;
  assert.ok(politeMs < 700, `the polite task left on SIGTERM (${politeMs}ms)`);
  assert.ok(stubbornMs >= 700, `the stubborn task got its grace (${stubbornMs}ms)`);
  await waitFor('both forgotten', async () => (await c.poll(ballot, [])).tasks.length === 0);
  await waitFor('their cgroups to be gone', () => detectCgroupDriver(m.name).list().length === 0, 2_000, 20);
});

test('restart policy: a failing task is restarted with back-off, then left dead', async () => {
  const t = task(3, spec('/bin/sh', ['-c', 'echo run; exit 3'], { restartPolicy: { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 2, backoffInitialMs: 100, backoffMaxMs: 200, resetAfterMs: 0 } }));
  const s = await waitFor('the task to give up', async () => {
    const x = find(await c.poll(ballot, [t]), t.taskId);
    return x.state === TaskState.DEAD ? x : undefined;
  });
  assert.equal(s.restarts, 2);
  assert.deepEqual([s.streak, s.streakReset], [3, false], 'three short runs in a row, the last included');
  assert.equal(s.message, 'exited with code 3');
  assert.equal(s.exitCode, 3);
  assert.equal(s.lastEvent, EventType.FAIL);
  assert.equal((await c.logs(t.taskId)).data.toString(), 'run\nrun\nrun\n');
  const ok = task(4, spec('/bin/sh', ['-c', 'exit 0'], { restartPolicy: { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 0, backoffInitialMs: 100, backoffMaxMs: 100, resetAfterMs: 0 } }));
  const f = await waitFor('the task to finish', async () => {
    const x = find(await c.poll(ballot, [t, ok]), ok.taskId);
    return x.state === TaskState.DEAD ? x : undefined;
  });
  assert.equal(f.lastEvent, EventType.FINISH);
  assert.equal(f.restarts, 0);
  await c.poll(ballot, []);
});

test('restart policy: a run that lasted reset_after forgives the failures before it, so max_restarts starts over', async () => {
  // Each run lasts 0.6 s, longer than reset_after (0.3 s): every failure is the first of its streak, so the task
  // outlives max_restarts = 1 and restarts at the initial back-off each time.
  const t = task(9, spec('/bin/sh', ['-c', 'echo run; sleep 0.6; exit 3'], { restartPolicy: { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 1, backoffInitialMs: 100, backoffMaxMs: 1000, resetAfterMs: 300 } }));
  const backoffs = new Set<string>();
  const s = await waitFor('a third restart, running', async () => {
    const x = find(await c.poll(ballot, [t]), t.taskId);
    const b = /restarting in (\d+ms)/.exec(x.message);
    if (b) backoffs.add(b[1] as string);
    return x.restarts >= 3 && x.state === TaskState.RUNNING && b === null ? x : undefined;
  }, 10_000, 50);
  assert.deepEqual([s.streak, s.streakReset], [1, true], 'the last failure started a new streak');
  assert.deepEqual([...backoffs], ['100ms'], 'the back-off starts over too');
  assert.equal(s.message, 'previous run: exited with code 3', 'a restarted run says why it is one');
  await c.poll(ballot, []);
  await waitFor('it to be forgotten', async () => (await c.poll(ballot, [])).tasks.length === 0);
});

test('health check: a task whose endpoint fails is restarted', async () => {
  const server = `require('http').createServer((q, s) => { s.writeHead(q.url === '/healthz' ? 500 : 200); s.end(); }).listen(Number(process.env.BORG_PORT), '127.0.0.1')`;
  const port = 21500 + (process.pid % 400);
  const t = task(5, spec('/usr/bin/node', ['-e', server], {
    ramBytes: 256 * MiB,
    requirements: { cpuMillis: 100, ramBytes: 256 * MiB, diskBytes: 0, ports: 1 },
    healthCheck: { httpPath: '/healthz', portIndex: 0, intervalMs: 200, timeoutMs: 200, failuresBeforeRestart: 2 },
    restartPolicy: { kind: RestartPolicy_Kind.ON_FAILURE, maxRestarts: 0, backoffInitialMs: 100, backoffMaxMs: 100, resetAfterMs: 0 },
  }), { ports: [port] });
  const s = await waitFor('a health restart', async () => {
    const x = find(await c.poll(ballot, [t]), t.taskId);
    return x.restarts >= 1 ? x : undefined;
  }, 20_000, 200);
  assert.equal(s.healthy, false);
  await c.poll(ballot, []);
});

test('update: a new spec version replaces the running process', async () => {
  const v1 = task(6, spec('/bin/sh', ['-c', 'echo v1; exec sleep 100'], { killGraceMs: 200 }));
  const p1 = find(await c.poll(ballot, [v1]), v1.taskId).pid;
  const v2 = { ...v1, specVersion: 2, spec: spec('/bin/sh', ['-c', 'echo v2; exec sleep 100']) };
  const s = await waitFor('version 2 to run', async () => {
    const x = find(await c.poll(ballot, [v2]), v2.taskId);
    return x.specVersion === 2 && x.state === TaskState.RUNNING && x.pid > 0 && x.pid !== p1 ? x : undefined;
  });
  assert.equal(alive(p1), false);
  assert.ok(s.pid > 0);
  // A new program is never updated in place by the master: it re-placed the task here, so no restart is counted.
  assert.deepEqual([s.restarts, s.streak ?? 0], [0, 0]);
  assert.doesNotMatch(s.message, /previous run/);
  await waitFor('v2 output', async () => (await c.logs(v2.taskId)).data.toString().includes('v2'));
  await c.poll(ballot, []);
});

test('update: a new version with the same spec (a priority change) keeps the process running', async () => {
  const v1 = task(7, spec('/bin/sh', ['-c', 'exec sleep 100'], { killGraceMs: 200 }), { priority: 200 });
  const p1 = await waitFor('version 1 to run', async () => {
    const x = find(await c.poll(ballot, [v1]), v1.taskId);
    return x.state === TaskState.RUNNING && x.pid > 0 ? x.pid : undefined;
  });
  const v2 = { ...v1, specVersion: 2, priority: 250 };
  const s = find(await c.poll(ballot, [v2]), v2.taskId);
  assert.equal(s.specVersion, 2);
  assert.equal(s.state, TaskState.RUNNING);
  assert.equal(s.pid, p1, 'the same process runs on under the new version');
  assert.equal(s.restarts, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(alive(p1));
  assert.equal(find(await c.poll(ballot, [v2]), v2.taskId).pid, p1);
  // A new restart policy, kill grace and constraints (B15 §2.3: the master decides the machine still meets them)
  // are taken in place too, and the new policy governs the run from then on: under NEVER a killed run stays dead.
  const v3 = { ...v2, specVersion: 3, spec: spec('/bin/sh', ['-c', 'exec sleep 100'], { killGraceMs: 1000, constraints: [{ key: 'os', op: 1, values: ['linux'] }], restartPolicy: { kind: RestartPolicy_Kind.NEVER, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 } }) };
  const s3 = find(await c.poll(ballot, [v3]), v3.taskId);
  assert.deepEqual([s3.specVersion, s3.pid], [3, p1], 'the same process runs on under version 3');
  // New limits are taken in place as well: the run's cgroup is resized, and its reservation starts at the new limit.
  const group = `/borg/${m.name}/test.u.job.7`;
  const shares = () => Number(readFileSync(`/sys/fs/cgroup/cpu${group}/cpu.shares`, 'utf8'));
  const v4 = { ...v3, specVersion: 4, spec: { ...v3.spec, requirements: { cpuMillis: 300, ramBytes: 48 * MiB, diskBytes: 0, ports: 0 } } };
  const s4 = find(await c.poll(ballot, [v4]), v4.taskId);
  assert.deepEqual([s4.specVersion, s4.pid, s4.reservation?.ramBytes], [4, p1, 48 * MiB], 'the same process runs on under version 4');
  assert.equal(readFileSync(`/sys/fs/cgroup/memory${group}/memory.limit_in_bytes`, 'utf8').trim(), String(48 * MiB));
  assert.equal(shares(), sharesFromCpuMillis(300), 'cpu weight follows the cpu limit');
  process.kill(p1, 'SIGKILL');
  const dead = await waitFor('the killed run to end', async () => {
    const x = find(await c.poll(ballot, [v4]), v4.taskId);
    return x.state === TaskState.DEAD ? x : undefined;
  });
  assert.deepEqual([dead.restarts, dead.lastEvent], [0, EventType.FAIL], 'not restarted: the policy is NEVER now');
  await c.poll(ballot, []);
});

test('update: a ram limit the kernel refuses in place (below the task\'s use) restarts the run under it', async () => {
  const hold = spec('/bin/sh', ['-c', 'x=$(head -c 30000000 /dev/zero | tr "\\0" a); echo held; sleep 600'], { ramBytes: 128 * MiB });
  const v1 = task(19, hold);
  const p1 = await waitFor('the task to hold its memory', async () => {
    const x = find(await c.poll(ballot, [v1]), v1.taskId);
    return x.state === TaskState.RUNNING && (await c.logs(v1.taskId)).data.toString().includes('held') ? x.pid : undefined;
  });
  const v2 = { ...v1, specVersion: 2, spec: { ...hold, requirements: { cpuMillis: 100, ramBytes: 8 * MiB, diskBytes: 0, ports: 0 } } };
  const s = await waitFor('the run to be replaced under the new limit', async () => {
    const x = find(await c.poll(ballot, [v2]), v2.taskId);
    return x.specVersion === 2 && x.pid !== p1 && !alive(p1) ? x : undefined;
  });
  assert.ok(s.pid > 0 || s.state === TaskState.DEAD);
  if (s.state === TaskState.RUNNING) assert.match(s.message, /^previous run: restarting at spec version 2: its cgroup could not be resized/);
  // The new run is held to 8MiB: it cannot build its 30MB string, and the kernel kills it (policy NEVER: dead).
  const dead = await waitFor('the new run to be OOM-killed', async () => {
    const x = find(await c.poll(ballot, [v2]), v2.taskId);
    return x.state === TaskState.DEAD ? x : undefined;
  });
  assert.equal(dead.oomKilled, true, dead.message);
  assert.equal(dead.restarts, 1, 'the replaced run counts as a restart on the machine, so the master records it');
  await c.poll(ballot, []);
});

test('the Borglet echoes the desired version of the last complete state it reconciled', async () => {
  const t = task(8, spec('/bin/sleep', ['100']));
  const full = await c.poll(ballot, [t], { desiredVersion: 4242 });
  assert.equal(full.desiredVersion, 4242);
  // A poll that is not authoritative changes nothing, whatever version it names.
  const quiet = await c.poll(ballot, [], { authoritative: false, desiredVersion: 4242 });
  assert.equal(quiet.desiredVersion, 4242);
  assert.equal(find(quiet, t.taskId).state, TaskState.RUNNING);
  const emptied = await c.poll(ballot, [], { desiredVersion: 7 });
  assert.equal(emptied.desiredVersion, 7);
});

test('bad specs get a clear error and start nothing', async () => {
  const good = task(10, spec('/bin/sleep', ['100']));
  const rows = [
    { t: task(11, spec('/nonexistent/bin/server', [])), msg: /spec\.command: "\/nonexistent\/bin\/server" does not exist/ },
    { t: task(12, spec('no-such-binary-anywhere', [])), msg: /not found in PATH/ },
    { t: task(13, spec('/bin/sleep', ['1'], { requirements: { cpuMillis: 100, ramBytes: -5, diskBytes: 0, ports: 0 } })), msg: /tasks\[3\]\.spec\.requirements\.ramBytes: must not be negative/ },
    { t: task(14, spec('/bin/sleep', ['1'], { requirements: { cpuMillis: -100, ramBytes: 32 * MiB, diskBytes: 0, ports: 0 } })), msg: /requirements\.cpuMillis: must not be negative/ },
    { t: task(15, spec('/bin/sleep', ['1'], { requirements: { cpuMillis: 100, ramBytes: 2 ** 52, diskBytes: 0, ports: 0 } })), msg: /ramBytes: 4096TiB exceeds the machine's capacity of 1GiB/ },
    { t: task(16, spec('/bin/sleep', ['1'], { workingDir: '/does/not/exist' })), msg: /workingDir: "\/does\/not\/exist" does not exist/ },
    { t: { ...task(17, spec('/bin/sleep', ['1'])), taskId: '..' }, msg: /taskId: "\.\." is not cell\/user\/job\/index/ },
    { t: { ...task(18, spec('/bin/sleep', ['1'])), taskId: 'a/../../b' }, msg: /taskId/ },
  ];
  const groupsBefore = detectCgroupDriver(m.name).list();
  const r = await c.poll(ballot, [good, ...rows.map((x) => x.t)]);
  // (Groups of earlier tests may still be going away; what matters is what this poll added.)
  assert.deepEqual(detectCgroupDriver(m.name).list().filter((g) => !groupsBefore.includes(g)), ['test.u.job.10'], 'only the good task got a cgroup');
  const driver = detectCgroupDriver(m.name);
  for (const row of rows) {
    const s = find(r, row.t.taskId);
    assert.equal(s.state, TaskState.DEAD, row.t.taskId);
    assert.equal(s.lastEvent, EventType.FAIL);
    assert.equal(s.pid, 0);
    assert.match(s.message, /^invalid task spec: /);
    assert.match(s.message, row.msg);
    if (!row.t.taskId.includes('..')) assert.equal(driver.exists(row.t.taskId.replaceAll('/', '.')), false, `no cgroup for ${row.t.taskId}`);
  }
  assert.equal(find(r, good.taskId).state, TaskState.RUNNING, 'a good neighbour in the same poll runs');
  // A malformed poll is refused as a whole with the field named, and changes nothing.
  await assert.rejects(c.poll(ballot, [good, good]), /tasks\[1\]\.taskId: test\/u\/job\/10 is listed twice/);
  await assert.rejects(c.poll(ballot, [good], { machine: 'someone-else' }), /machine: this Borglet serves/);
  assert.equal(find(await c.poll(ballot, [good]), good.taskId).pid, find(r, good.taskId).pid);
  await assert.rejects(c.logs('..'), /not found/);
  await c.poll(ballot, []);
  // Forgetting the refused orders touched nothing outside their (never made) directories.
  assert.ok(existsSync(join(m.stateDir, 'borglet.json')) && existsSync(join(m.stateDir, 'tasks')));
});
