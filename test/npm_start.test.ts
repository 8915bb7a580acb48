// `npm start` as a user runs it: the local cell of cells/local.yaml comes up and runs the example jobs; the real
// `borg` binary then submits, explains, updates, resolves, reads logs and kills against it; Chromium follows the
// status page from cell to job to task to machine, sees a task change state live and a hostile env value shown
// as text; Ctrl-C stops everything with no process or cgroup left. Screenshots: test-artifacts/local-cell/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBorg, REPO_ROOT } from './support/cli';
import { collectPageErrors, screenshot, withBrowser } from './support/browser';
import { loadCellConfig } from '../cells/config';

const HOSTILE = '<img src=x onerror=alert(1)>';
const SHOTS = 'local-cell';

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function groupProcesses(pgid: number): string[] {
  return execFileSync('ps', ['-eo', 'pgid=,pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${pgid} `));
}

test('npm start: example jobs run; the borg CLI and the status page work against the real cell; Ctrl-C leaves nothing', { timeout: 420_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'borg-npm-start-'));
  let out = '';
  const start = spawn('npm', ['start', '--', '--fresh'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  start.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  start.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const pgid = start.pid as number;
  let stopped = false;
  t.after(() => {
    if (!stopped) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  const url = await eventually('the status page URL', async () => /Status page: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 150_000).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${out}`);
  });
  const borg = (...args: string[]) => runBorg(args, { timeoutMs: 60_000 });

  // The examples run: `borg jobs --json` shows the web service RUNNING.
  await eventually('web RUNNING', async () => {
    const r = await borg('jobs', '--json');
    return r.code === 0 && r.stdout.split('\n').some((l) => l.includes('"web"') && /RUNNING/.test(l)) ? true : undefined;
  });

  // A second `npm start` (even with --fresh) refuses before it starts or removes anything; the running cell's tasks
  // are untouched (it used to stop "its" machines on the way out: the running cell's cgroups and tasks).
  const webBefore = JSON.parse((await borg('tasks', 'web', '--json')).stdout) as { state: string; machine: string; restarts?: number; startTimeMs?: number }[];
  const second = await borg('up', '--fresh');
  assert.equal(second.code, 3, second.stderr);
  assert.match(second.stderr, /cell local looks up already: 127\.0\.0\.1:\d+ \(replica \d\) answers\. Stop it first .*nothing was started or removed/);
  const webAfter = JSON.parse((await borg('tasks', 'web', '--json')).stdout) as typeof webBefore;
  assert.deepEqual(webAfter.map((t) => [t.state, t.restarts ?? 0, t.startTimeMs]), webBefore.map((t) => [t.state, t.restarts ?? 0, t.startTimeMs]));
  const machine = webBefore[0]?.machine ?? '';
  assert.ok(existsSync(join(REPO_ROOT, '.borg/local/borglets', machine, 'borglet.json')), 'the running Borglet\'s state is still there');
  assert.ok(readdirSync(`/sys/fs/cgroup/memory/borg/${machine}`).includes('local.ubar.web.0'), 'and its task\'s cgroup');

  // submit: a job with a hostile env value, and a job no machine can take.
  const file = join(tmp, 'jobs.bcl');
  writeFileSync(
    file,
    `job sleeper = {
  user = "ubar"
  priority = batch
  replicas = 1
  command = "/bin/sh"
  args = ["-c", "echo hello from sleeper; exec sleep 600"]
  env = { HOSTILE = "${HOSTILE}", MODE = "alpha" }
  requirements = { cpu = 50m, ram = 32MiB }
}

job flaky = {
  user = "ubar"
  priority = batch
  replicas = 1
  command = "/bin/sh"
  args = ["-c", "echo flaky run; sleep 0.2; exit 3"]
  requirements = { cpu = 50m, ram = 32MiB }
  restart_policy = { kind = "on_failure", max_restarts = 2, backoff_initial = 200ms, backoff_max = 400ms }
}

job quitter = {
  user = "ubar"
  priority = batch
  replicas = 1
  command = "/bin/sh"
  args = ["-c", "sleep 0.2; exit 0"]
  requirements = { cpu = 50m, ram = 32MiB }
  restart_policy = { kind = "always", max_restarts = 1, backoff_initial = 200ms, backoff_max = 400ms }
}

job picky = {
  user = "ubar"
  priority = batch
  replicas = 1
  command = "/bin/true"
  requirements = { cpu = 50m, ram = 32MiB }
  constraints = [ attr("os") == "plan9" ]
}

job sickly = {
  user = "ubar"
  priority = batch
  replicas = 1
  command = "/usr/bin/python3"
  args = ["-m", "http.server", port, "--bind", "127.0.0.1"]
  requirements = { cpu = 50m, ram = 48MiB, ports = 1 }
  health_check = { path = "/no-such-page", interval = 1s, timeout = 500ms, failures = 1000 }
}
`,
  );
  const submitted = await borg('submit', file);
  assert.equal(submitted.code, 0, submitted.stderr);
  // canary: two healthy replicas, for a rolling update to a version that never comes up healthy (below).
  const canaryFile = join(tmp, 'canary.bcl');
  const canary = (version: number, path: string) => `job canary = {
  user = "ubar"
  priority = batch
  replicas = 2
  command = "/usr/bin/python3"
  args = ["-m", "http.server", port, "--bind", "127.0.0.1"]
  env = { VERSION = "${version}" }
  requirements = { cpu = 50m, ram = 48MiB, ports = 1 }
  health_check = { path = "${path}", interval = 500ms, timeout = 400ms, failures = 1000 }
  update_policy = { max_tasks_down = 1 }
}
`;
  writeFileSync(canaryFile, canary(1, '/'));
  const canarySubmitted = await borg('submit', canaryFile);
  assert.equal(canarySubmitted.code, 0, canarySubmitted.stderr);
  await eventually('sleeper RUNNING', async () => ((await borg('tasks', 'sleeper', '--json')).stdout.includes('RUNNING') ? true : undefined));

  // A task its Borglet restarts in place (exit 3, on_failure, max_restarts 2) shows its restarts and RESTART
  // events, and once the Borglet gives up it stays dead: max_restarts is one budget, not one per placement.
  await eventually('flaky dead', async () => {
    const r = await borg('tasks', 'flaky', '--json');
    const ts = JSON.parse(r.stdout) as { state: string; restarts?: number }[];
    return r.code === 0 && ts[0]?.state === 'DEAD' ? true : undefined;
  });
  const events = await borg('events', '--job', 'flaky');
  assert.match(events.stdout, /RESTART +local\/ubar\/flaky\/0 +local-[a-d] +restarted on the machine, \d time\(s\) since placed/, events.stdout);
  assert.equal(events.stdout.split('\n').filter((l) => / SCHEDULE /.test(l)).length, 1, `placed once, not again after the Borglet gave up:\n${events.stdout}`);
  assert.equal((JSON.parse((await borg('tasks', 'flaky', '--json')).stdout) as { restarts?: number }[])[0]?.restarts, 2);
  // Under ALWAYS a service that keeps exiting 0 is bounded by max_restarts too (it was placed again without end).
  const quitter = await eventually('quitter dead', async () => {
    const r = await borg('tasks', 'quitter', '--json');
    const ts = JSON.parse(r.stdout) as { state: string; message?: string }[];
    return r.code === 0 && ts[0]?.state === 'DEAD' ? ts[0] : undefined;
  });
  assert.equal(quitter.message, 'ended 2 times; restart limit 1 reached');
  assert.equal((await borg('events', '--job', 'quitter')).stdout.split('\n').filter((l) => / SCHEDULE /.test(l)).length, 1, 'placed once');

  // machines: each machine's last poll and usage, from whichever replica's link shard polls it.
  const machines = await eventually('every machine polled, with its usage', async () => {
    const r = await borg('machines', '--json');
    if (r.code !== 0) return undefined;
    const ms = JSON.parse(r.stdout) as { name: string; lastPollMs?: number; usage?: { ramBytes?: number } }[];
    return ms.length === 4 && ms.every((m) => m.usage !== undefined && Date.now() - Number(m.lastPollMs ?? 0) < 30_000) ? ms : undefined;
  });
  assert.ok(machines.some((m) => Number(m.usage?.ramBytes ?? 0) > 0), 'a machine running tasks reports the memory they use');
  const table = await borg('machines');
  assert.match(table.stdout, /LAST POLL\n/);
  assert.doesNotMatch(table.stdout, / never\n/, 'no machine shows as never polled');
  // tasks: a running task's use of its limits, as its Borglet last reported it (the web service: python's memory).
  const web = await eventually('the web tasks\' usage', async () => {
    const r = await borg('tasks', 'web');
    const rows = r.stdout.trim().split('\n').slice(1);
    return r.code === 0 && rows.length === 2 && rows.every((l) => /RUNNING .* \d[\d.]*[KM]iB\/64MiB /.test(l)) ? r.stdout : undefined;
  });
  assert.match(web, /^TASK +STATE +HEALTHY +MACHINE +PORTS +CPU +RAM +RESTARTS/);
  // Every replica's status page covers every machine's usage: the replicas share their link shards' samples (each
  // page showed only the machines its own replica polls).
  for (const port of [7201, 7202, 7203]) {
    const coverage = await eventually(`replica page :${port} covers every machine`, async () => {
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      const m = /the latest samples of ([\d,]+) of [\d,]+ running tasks, on 4 of 4 machines up/.exec(page);
      return m !== null && Number((m[1] as string).replace(/,/g, '')) > 0 ? m[0] : undefined;
    });
    assert.match(coverage, /on 4 of 4 machines up/);
  }

  // why: the picky job's verdict names the constraint.
  const why = await eventually('a why-pending verdict', async () => {
    const r = await borg('why', 'picky');
    return r.code === 0 && /machines feasible/.test(r.stdout) ? r.stdout : undefined;
  });
  assert.match(why, /0\/4 machines feasible: .*os/);
  assert.match(why, /\n    guidance: no machine is up that meets its constraints\n/);

  // logs: the sleeper's stdout.
  const logs = await eventually('the sleeper\'s log', async () => {
    const r = await borg('logs', 'sleeper/0');
    return r.code === 0 && r.stdout.includes('hello from sleeper') ? r.stdout : undefined;
  });
  assert.match(logs, /hello from sleeper/);

  // update in place (B15 §2.3): a new restart policy, kill grace and limits restart nothing, on the master (0 tasks
  // down, the same start time) and on the Borglet (the same process: one "hello" in the log several polls later).
  const before = JSON.parse((await borg('tasks', 'sleeper', '--json')).stdout) as { startTimeMs: number; machine: string }[];
  const sleeperLimits = 'MODE = "alpha" }\n  requirements = { cpu = 50m, ram = 32MiB }';
  assert.ok(readFileSync(file, 'utf8').includes(sleeperLimits));
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('  env = { HOSTILE', '  restart_policy = { kind = "always", reset_after = 1h }\n  kill_grace = 2s\n  env = { HOSTILE')
      .replace(sleeperLimits, 'MODE = "alpha" }\n  requirements = { cpu = 60m, ram = 40MiB }'),
  );
  const inPlace = await borg('update', file, '--no-wait');
  assert.equal(inPlace.code, 0, inPlace.stderr);
  assert.match(inPlace.stdout, /local\/ubar\/sleeper: version 1 -> 2 \(task spec changed; 0 task\(s\) restart\)/);
  await new Promise((r) => setTimeout(r, 3_500));
  const after = JSON.parse((await borg('tasks', 'sleeper', '--json')).stdout) as { state: string; specVersion: number; startTimeMs: number; machine: string; limit: { ramBytes: number } }[];
  assert.deepEqual(after.map((x) => [x.state, x.specVersion, x.startTimeMs, x.machine, x.limit.ramBytes]), [['RUNNING', 2, before[0]?.startTimeMs, before[0]?.machine, 40 * 1024 * 1024]]);
  assert.equal((await borg('logs', 'sleeper/0')).stdout.split('hello from sleeper').length - 1, 1, 'the Borglet kept the run');

  // logs of a task that finished: the example batch stage's output, kept by the Borglet it ran on.
  const ended = await eventually('the finished extract stage\'s log', async () => {
    const r = await borg('logs', 'extract/0');
    return r.code === 0 && r.stdout.includes('extract done') ? r.stdout : undefined;
  });
  assert.match(ended, /^extract step 1\n(.*\n)*extract done\n$/);

  // resolve: BNS has both web tasks (Redis is installed here and in CI).
  const config = loadCellConfig(join(REPO_ROOT, 'cells/local.yaml'), REPO_ROOT);
  // Health (B15 §2.6): the web tasks pass their health check, so BNS lists both as healthy (the Borglets probe,
  // report through the link shards, the master commits it and publishes it); the sickly task answers 404 to its
  // check: running, named in BNS, marked unhealthy, and left out when a client asks for healthy tasks only.
  const resolved = await eventually('BNS', async () => {
    const r = await borg('resolve', 'web.ubar.local.borg', '--healthy');
    return r.code === 0 && r.stdout.trim().split('\n').length === 2 ? r.stdout : undefined;
  });
  for (const line of resolved.trim().split('\n')) assert.match(line, /^\d\t127\.0\.0\.1:20[0-3]\d\d\tlocal-[a-d]\tlocal\/ubar\/web\/\d\thealthy$/);
  const sickly = await eventually('the sickly task in BNS', async () => {
    const r = await borg('resolve', 'sickly.ubar.local.borg');
    return r.code === 0 ? r.stdout : undefined;
  });
  assert.match(sickly, /^0\t127\.0\.0\.1:\d+\tlocal-[a-d]\tlocal\/ubar\/sickly\/0\tunhealthy\n$/);
  const noneHealthy = await borg('resolve', 'sickly.ubar.local.borg', '--healthy');
  assert.equal(noneHealthy.code, 2, noneHealthy.stderr);
  assert.match(noneHealthy.stderr, /BNS name sickly\.ubar\.local\.borg: 1 task\(s\), 1 running, 0 healthy/);
  assert.match((await borg('resolve', 'web.ubar.local.borg')).stderr, /^web\.ubar\.local\.borg: 2 task\(s\), 2 running, 2 healthy\n$/, 'BNS has the job\'s size too');
  const health = (await borg('tasks', 'sickly')).stdout + (await borg('tasks', 'web')).stdout;
  assert.match(health, /ubar\/sickly\/0 +RUNNING +no /);
  assert.match(health, /ubar\/web\/0 +RUNNING +yes /);
  assert.match((await borg('jobs')).stdout, /ubar\/web +200 +2 +2 +2 /, 'JOB PRIORITY TASKS RUNNING HEALTHY');
  // A rolling update waits for health: the canary's new version (a new environment, so a restart, and a health
  // check its server fails) restarts task 0 and goes no further, so task 1 keeps serving the old version; following it runs out of time (exit 4).
  await eventually('both canary tasks healthy', async () => ((await borg('resolve', 'canary.ubar.local.borg', '--healthy')).stdout.trim().split('\n').length === 2 ? true : undefined));
  writeFileSync(canaryFile, canary(2, '/no-such-page'));
  const stuck = await borg('update', canaryFile, '--poll', '500ms', '--wait-timeout', '4s');
  assert.equal(stuck.code, 4, `${stuck.stdout}\n${stuck.stderr}`);
  assert.match(stuck.stderr, /local\/ubar\/canary: 1\/2 tasks at version 2, 1 running, 0 healthy \(2 ran before\)/);
  assert.match(stuck.stderr, /Waiting on:\n  local\/ubar\/canary: task 0 runs on local-[a-d] but its Borglet does not report it healthy\n/);
  const rolled = JSON.parse((await borg('tasks', 'canary', '--json')).stdout) as { index?: number; state: string; specVersion: number; healthy?: boolean; restarts?: number }[];
  assert.deepEqual(rolled.map((t) => [t.index ?? 0, t.state, t.specVersion, t.healthy === true]), [[0, 'RUNNING', 2, false], [1, 'RUNNING', 1, true]]);
  assert.match((await borg('why', 'canary')).stdout, /^local\/ubar\/canary has no pending tasks \(2 running, 1 healthy, 0 dead of 2; the rolling update waits on 1 restarted task\(s\) to run healthy\)\n$/);
  assert.match((await borg('why', 'canary/0')).stdout, /^local\/ubar\/canary\/0 is not pending: it is RUNNING on local-[a-d], not healthy since \S+/);
  // Replaced by the rollout (placed again, maybe on the same machine): not a restart of task 0.
  assert.deepEqual(rolled.map((t) => t.restarts ?? 0), [0, 0]);
  assert.equal((await borg('events', '--job', 'canary', '--type', 'restart')).stdout.trim().split('\n').length, 1, 'no RESTART event, only the header');
  assert.match((await borg('resolve', 'canary.ubar.local.borg', '--healthy')).stdout, /^1\t.*\tlocal\/ubar\/canary\/1\thealthy\n$/);
  // Where the rollout stands, for the platform team and the SRE: borg jobs, and the job's status page.
  assert.match((await borg('jobs')).stdout, /ubar\/canary .* 1\/2 at v2, waiting on 1 to run healthy\n/);
  const canaryPage = await (await fetch(`${url}/job/ubar/canary`)).text();
  assert.match(canaryPage, /1 of 2 tasks at version 2; waiting for task <a href="\/task\/ubar\/canary\/0">0<\/a> to run healthy/);
  // The health history: each canary task passed its check once at version 1 (task 0's new run never has).
  const healthEvents = (await borg('events', '--job', 'canary', '--type', 'healthy,unhealthy')).stdout.trim().split('\n').slice(1);
  assert.equal(healthEvents.length, 2, healthEvents.join('\n'));
  for (const e of healthEvents) assert.match(e, / HEALTHY +local\/ubar\/canary\/[01] +local-[a-d] +health check GET \/ on port index 0 passing$/);
  // The web service answers at those addresses, as its health check asks (GET /: Python's http.server lists its
  // working directory, which it opens by path as nobody wherever the repository was cloned).
  for (const line of resolved.trim().split('\n')) {
    const r = await fetch(`http://${line.split('\t')[1]}/`);
    assert.equal(r.status, 200, `GET / on web task ${line}: ${await r.text()}`);
  }
  void config;

  // The status page in Chromium.
  await withBrowser(async (page) => {
    const problems = collectPageErrors(page);
    await page.goto(`${url}/`);
    await page.getByText('Cell local').first().waitFor();
    await screenshot(page, SHOTS, 'cell');
    await page.goto(`${url}/jobs`);
    await page.locator('a[href="/job/ubar/sleeper"]').first().click();
    await page.waitForURL(/\/job\/ubar\/sleeper$/);
    await page.locator('a[href="/task/ubar/sleeper/0"]').first().click();
    await page.waitForURL(/\/task\/ubar\/sleeper\/0$/);
    await page.getByText(HOSTILE).first().waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'the hostile env value is text, not an element');
    await screenshot(page, SHOTS, 'task');
    // update (the diff first, then the rollout) while the task page is open: it changes live, without a reload.
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });
    writeFileSync(file, readFileSync(file, 'utf8').replace('MODE = "alpha"', 'MODE = "omega"'));
    const update = await borg('update', file, '--no-wait');
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout + update.stderr, /MODE: "alpha" -> "omega"/);
    await page.getByText('omega').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'no reload');
    await screenshot(page, SHOTS, 'task-updated');
    // The pending task's verdict on its page, and a machine page from the web job.
    await page.goto(`${url}/task/ubar/picky/0`);
    await page.getByText(/machines feasible/).first().waitFor();
    await page.goto(`${url}/job/ubar/web`);
    await page.locator('a[href^="/machine/local-"]').first().click();
    await page.waitForURL(/\/machine\/local-[a-d]$/);
    await screenshot(page, SHOTS, 'machine');
    assert.deepEqual(problems.dialogs, [], 'no injected script ran');
    assert.deepEqual(problems.errors, [], 'no script errors');
  });

  // kill: the job goes away.
  const killed = await borg('kill', 'sleeper');
  assert.equal(killed.code, 0, killed.stderr);
  await eventually('the sleeper to be gone', async () => ((await borg('jobs', '--json')).stdout.includes('"sleeper"') ? undefined : true));

  // Ctrl-C: everything stops; no process of the group, no task, no cgroup is left.
  const exited = new Promise<void>((r) => start.once('exit', () => r()));
  process.kill(-pgid, 'SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
  await eventually('the process group to empty', async () => (groupProcesses(pgid).length === 0 ? true : undefined), 15_000);
  stopped = true;
  assert.match(out, /borg up: stopped/);
  for (const m of ['local-a', 'local-b', 'local-c', 'local-d']) assert.equal(existsSync(`/sys/fs/cgroup/memory/borg/${m}`), false, `cgroups of ${m} removed`);
  const left = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('http.server') || l.includes('sleep 600'));
  assert.deepEqual(left, [], 'no task process left');
});
