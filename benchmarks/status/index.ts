// `npm run bench -- status`: the status page at scale (issue 8): a CellState with 10,000 machines and 100,000
// tasks built through real commands (machines registered, quotas set, jobs created, tasks placed by SCHEDULE
// transitions that apply() re-checks, some failed), served by a StatusServer on 127.0.0.1. Prints every page's
// server response time (p50/p99/max over --requests sequential GETs, measured by the client) and the cell
// page's first render in Debian's Chromium (first contentful paint and load event), plus the heat map's draw.
// Screenshots of the cell and machines pages at this scale: test-artifacts/status-bench/.
// Options: --machines N  --tasks N  --requests N  --browser-runs N  --no-browser  --json
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import type { Benchmark } from '../main';
import { GiB, MiB } from '../../model/resources';
import { EventType, MachineState, TaskState } from '../../proto/index';
import { MAX_TRANSITIONS_PER_COMMAND } from '../../cells/limits';
import { bodies, limitOf } from '../../borgmaster/state/index';
import { DrivenCell, serveStatus } from '../../test/support/status_cell';
import { launchBrowser, screenshot } from '../../test/support/browser';

interface Options {
  machines: number;
  tasks: number;
  requests: number;
  browserRuns: number;
  browser: boolean;
  json: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = { machines: 10_000, tasks: 100_000, requests: 30, browserRuns: 5, browser: true, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const n = (): number => {
      const s = args[++i];
      const x = Number(s);
      if (s === undefined || !Number.isInteger(x) || x < 1) throw new Error(`${a} needs a positive integer, got ${String(s)}`);
      return x;
    };
    switch (a) {
      case '--machines':
        o.machines = n();
        break;
      case '--tasks':
        o.tasks = n();
        break;
      case '--requests':
        o.requests = n();
        break;
      case '--browser-runs':
        o.browserRuns = n();
        break;
      case '--no-browser':
        o.browser = false;
        break;
      case '--json':
        o.json = true;
        break;
      default:
        throw new Error(`unknown option ${a}; options: --machines N --tasks N --requests N --browser-runs N --no-browser --json`);
    }
  }
  return o;
}

/** MAX_USERS: jobs go to users ten at a time (every user gets every priority), up to this many users. */
const MAX_USERS = 50;
const TASKS_PER_JOB = 100;
const PRIORITIES = [200, 200, 200, 200, 360, 100, 100, 100, 100, 0];

/** build loads the cell through commands; about 2% of tasks stay pending (too big), a few hundred fail once. */
export function build(o: Options): { cell: DrivenCell; buildSeconds: number; pendingTask: string; runningTask: string; busyMachine: string; job: string } {
  const t0 = performance.now();
  const cell = new DrivenCell('bench');
  cell.publishHub = false;
  for (let i = 0; i < o.machines; i++) {
    const state = i % 100 === 7 ? MachineState.DRAINING : i % 100 === 13 ? MachineState.DOWN : MachineState.UP;
    cell.addMachine(`m${String(i).padStart(5, '0')}`, { cpuMillis: 16_000, ramBytes: 64 * GiB, diskBytes: 512 * GiB, ports: 200 }, { rack: `rack-${Math.floor(i / 40)}`, powerDomain: `power-${Math.floor(i / 400)}`, state });
  }
  const cap = cell.state.cellCapacity();
  const jobs = Math.ceil(o.tasks / TASKS_PER_JOB);
  const USERS = Math.max(1, Math.min(MAX_USERS, Math.floor(jobs / 10)));
  // Prod and monitoring quotas together stay within the cell's capacity, as admission requires.
  const share = (x: number, f: number) => Math.floor((x * f) / USERS);
  for (let u = 0; u < USERS; u++) {
    const user = `user${u}`;
    cell.quota(user, 200, { cpuMillis: share(cap.cpuMillis, 0.6), ramBytes: share(cap.ramBytes, 0.6), diskBytes: share(cap.diskBytes, 0.6), ports: share(cap.ports, 0.6) });
    cell.quota(user, 360, { cpuMillis: share(cap.cpuMillis, 0.35), ramBytes: share(cap.ramBytes, 0.35), diskBytes: share(cap.diskBytes, 0.35), ports: share(cap.ports, 0.35) });
    cell.quota(user, 100, { cpuMillis: cap.cpuMillis, ramBytes: cap.ramBytes, diskBytes: cap.diskBytes, ports: 10_000 });
  }
  for (let j = 0; j < jobs; j++) {
    const priority = PRIORITIES[j % PRIORITIES.length] as number;
    const tooBig = j % 50 === 49; // ~2% of tasks can never fit: they stay pending with a why.
    cell.createJob({
      name: `job${j}`,
      user: `user${Math.floor(j / 10) % USERS}`,
      priority,
      taskCount: Math.min(TASKS_PER_JOB, o.tasks - j * TASKS_PER_JOB),
      annotations: { team: `team-${j % 17}` },
      task: {
        args: ['--shard=%index%', '<b>not bold</b>'],
        env: { MODE: 'bench' },
        requirements: { cpuMillis: tooBig ? 32_000 : 200 + (j % 5) * 200, ramBytes: (256 + (j % 7) * 256) * MiB, diskBytes: 1 * GiB, ports: priority >= 200 ? 1 : 0 },
      },
    });
  }
  // Place tasks first-fit over a rotating machine cursor, checked by apply() like any scheduler's plan.
  const machines = [...cell.state.machines.values()].filter((m) => m.state === MachineState.UP);
  const free = new Map(machines.map((m) => [m, { cpu: m.capacity.cpuMillis, ram: m.capacity.ramBytes }]));
  let cursor = 0;
  let batch: { taskId: string; event: EventType; machine: string }[] = [];
  const flush = () => {
    if (batch.length > 0) cell.must(bodies.transitions(batch));
    batch = [];
  };
  for (const job of cell.state.jobs.values()) {
    for (const t of job.tasks) {
      const need = limitOf(t);
      for (let tries = 0; tries < 8; tries++) {
        const m = machines[cursor % machines.length];
        cursor++;
        const f = m === undefined ? undefined : free.get(m);
        if (m === undefined || f === undefined || f.cpu < need.cpuMillis || f.ram < need.ramBytes) continue;
        f.cpu -= need.cpuMillis;
        f.ram -= need.ramBytes;
        batch.push({ taskId: t.id, event: EventType.SCHEDULE, machine: m.name });
        break;
      }
      if (batch.length >= MAX_TRANSITIONS_PER_COMMAND) flush();
    }
  }
  flush();
  // Some failures, as Borglets report them: restarts and back-offs on the task pages, FAILs in the events.
  cell.timeMs += 600_000;
  let failed: { taskId: string; event: EventType; machine: string; exitCode: number; message: string }[] = [];
  for (const job of cell.state.jobs.values()) {
    const t = job.tasks[3];
    if (t !== undefined && t.state === TaskState.RUNNING && failed.length < 500) failed.push({ taskId: t.id, event: EventType.FAIL, machine: t.machine?.name ?? '', exitCode: 1, message: 'exit status 1' });
  }
  cell.must(bodies.transitions(failed));
  failed = [];
  for (const job of cell.state.jobs.values()) {
    for (const t of job.tasks) if (t.machine !== undefined) cell.usage.recordTask(t.id, { cpuMillis: Math.floor(limitOf(t).cpuMillis * 0.6), ramBytes: Math.floor(limitOf(t).ramBytes * 0.7), diskBytes: 0, ports: 0 }, cell.timeMs);
  }
  for (const m of cell.state.machines.values()) cell.usage.recordMachine(m.name, { cpuMillis: Math.floor(m.allocatedReservation.cpuMillis * 0.6), ramBytes: Math.floor(m.allocatedReservation.ramBytes * 0.7), diskBytes: 0, ports: 0 }, cell.timeMs);
  cell.publishHub = true;
  let pendingTask = '';
  let runningTask = '';
  for (const job of cell.state.jobs.values()) {
    for (const t of job.tasks) {
      if (pendingTask === '' && t.state === TaskState.PENDING && t.notBeforeMs === 0) pendingTask = `${job.user}/${job.name}/${t.index}`;
      if (runningTask === '' && t.state === TaskState.RUNNING) runningTask = `${job.user}/${job.name}/${t.index}`;
    }
  }
  const busy = [...cell.state.machines.values()].reduce((a, b) => (b.tasks.size > a.tasks.size ? b : a));
  const first = cell.state.jobs.values().next().value;
  return { cell, buildSeconds: (performance.now() - t0) / 1000, pendingTask, runningTask, busyMachine: busy.name, job: first === undefined ? '' : `${first.user}/${first.name}` };
}

interface PageTiming {
  page: string;
  path: string;
  bytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** cpuMs: process CPU time per request (server and client share this process), mean; less sensitive to a busy machine than wall time. */
  cpuMs: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** timePage times GETs of one path; `before` runs before each request (e.g. apply a command to defeat caches). */
async function timePage(url: string, page: string, path: string, n: number, before: () => void = () => {}): Promise<PageTiming> {
  const times: number[] = [];
  let bytes = 0;
  let cpuMicros = 0;
  // One warm-up request (JIT, first allocation of the row arrays), not counted.
  for (let i = 0; i <= n; i++) {
    before();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await fetch(url + path);
    const body = await res.arrayBuffer();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (i > 0) cpuMicros += c.user + c.system;
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
    if (i > 0) times.push(ms);
    bytes = body.byteLength;
  }
  times.sort((a, b) => a - b);
  return { page, path, bytes, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), maxMs: times[times.length - 1] ?? Number.NaN, cpuMs: cpuMicros / 1000 / n };
}

interface BrowserTiming {
  runs: number;
  fcpP50Ms: number;
  fcpMaxMs: number;
  loadP50Ms: number;
  loadMaxMs: number;
  heatmapReadyMs: number;
  heatmapDrawMs: number;
}

async function timeBrowser(url: string, runs: number): Promise<BrowserTiming> {
  const browser = await launchBrowser();
  try {
    const fcp: number[] = [];
    const load: number[] = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.goto(url + '/', { waitUntil: 'load' });
      // First contentful paint may be recorded just after the load event: wait for it (buffered), briefly.
      const t = await page.evaluate(`new Promise((resolve) => {
        const n = performance.getEntriesByType('navigation')[0];
        const done = (p) => resolve({ fcp: p ? p.startTime : -1, load: n ? n.loadEventEnd : -1 });
        const now = performance.getEntriesByName('first-contentful-paint')[0];
        if (now) return done(now);
        new PerformanceObserver((l) => { const e = l.getEntriesByName('first-contentful-paint')[0]; if (e) done(e); }).observe({ type: 'paint', buffered: true });
        setTimeout(() => done(performance.getEntriesByName('first-contentful-paint')[0]), 5000);
      })`);
      const timing = t as { fcp: number; load: number };
      fcp.push(timing.fcp);
      load.push(timing.load);
      if (i === 0) await screenshot(page, 'status-bench', 'cell');
      await context.close();
    }
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(url + '/machines');
    await page.locator('#heatmap[data-drawn]').waitFor({ timeout: 30_000 });
    const heatmapReadyMs = performance.now() - t0;
    const heatmapDrawMs = (await page.evaluate('window.__borgStatus.heatmapMs')) as number;
    await screenshot(page, 'status-bench', 'machines');
    await context.close();
    fcp.sort((a, b) => a - b);
    load.sort((a, b) => a - b);
    return { runs, fcpP50Ms: quantile(fcp, 0.5), fcpMaxMs: fcp[fcp.length - 1] ?? -1, loadP50Ms: quantile(load, 0.5), loadMaxMs: load[load.length - 1] ?? -1, heatmapReadyMs, heatmapDrawMs };
  } finally {
    await browser.close();
  }
}

const bench: Benchmark = {
  summary: 'status page latency: every page p99 and Chromium first render with 10,000 machines and 100,000 tasks',
  async run(args: string[]): Promise<void> {
    const o = parseArgs(args);
    const b = build(o);
    const served = await serveStatus(b.cell);
    try {
      const [pu, pj, pi] = b.pendingTask.split('/');
      const pages: [string, string][] = [
        ['cell', '/'],
        ['machines', '/machines'],
        ['heat map json', '/machines.json'],
        ['machine', `/machine/${b.busyMachine}`],
        ['jobs', '/jobs'],
        ['jobs sorted', '/jobs?sort=running&dir=desc'],
        ['job', `/job/${b.job}`],
        ['tasks', '/tasks'],
        ['tasks sorted', '/tasks?sort=cpu&dir=desc'],
        ['tasks filtered', '/tasks?state=PENDING&band=prod'],
        ['tasks deep page', `/tasks?sort=machine&page=${Math.max(1, Math.floor((o.tasks / 100) * 0.9))}`],
        ['task (running)', `/task/${b.runningTask}`],
        ['task (pending)', `/task/${pu}/${pj}/${pi}`],
        ['events', '/events'],
        ['events filtered', '/events?user=user3&type=FAIL'],
        ['metrics', '/metrics'],
      ];
      const timings: PageTiming[] = [];
      for (const [page, path] of pages) timings.push(await timePage(served.url, page, path, o.requests));
      // The cell page and /metrics keep their summary for one applied index: time them after a command too.
      const change = () => {
        b.cell.timeMs += 1;
        b.cell.must(bodies.noop());
      };
      timings.splice(1, 0, await timePage(served.url, 'cell (new index)', '/', o.requests, change));
      timings.push(await timePage(served.url, 'metrics (new idx)', '/metrics', o.requests, change));
      const browser = o.browser ? await timeBrowser(served.url, o.browserRuns) : undefined;
      const s = served.source.summary();
      const result = {
        machines: b.cell.state.machines.size,
        tasks: b.cell.state.taskCount,
        running: s.tasks.RUNNING,
        pending: s.tasks.PENDING,
        events: b.cell.state.events.size,
        buildSeconds: Number(b.buildSeconds.toFixed(2)),
        requestsPerPage: o.requests,
        loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
        pages: timings.map((t) => ({ ...t, p50Ms: Number(t.p50Ms.toFixed(1)), p99Ms: Number(t.p99Ms.toFixed(1)), maxMs: Number(t.maxMs.toFixed(1)), cpuMs: Number(t.cpuMs.toFixed(1)) })),
        worstP99Ms: Number(Math.max(...timings.map((t) => t.p99Ms)).toFixed(1)),
        browser: browser === undefined ? null : Object.fromEntries(Object.entries(browser).map(([k, v]) => [k, Number(v.toFixed(1))])),
      };
      if (o.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      console.log(`status page: ${result.machines} machines, ${result.tasks} tasks (${result.running} running, ${result.pending} pending), ${result.events} events; built through commands in ${result.buildSeconds}s; load average ${result.loadAverage.join(' ')}`);
      console.log(`server response per page, ${o.requests} sequential requests each (client-measured, keep-alive):`);
      console.log(`  ${'page'.padEnd(18)}${'bytes'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}${'cpu ms'.padStart(10)}  path`);
      for (const t of result.pages) console.log(`  ${t.page.padEnd(18)}${String(t.bytes).padStart(10)}${t.p50Ms.toFixed(1).padStart(10)}${t.p99Ms.toFixed(1).padStart(10)}${t.maxMs.toFixed(1).padStart(10)}${t.cpuMs.toFixed(1).padStart(10)}  ${t.path}`);
      console.log(`  worst p99: ${result.worstP99Ms} ms (target < 200 ms); cpu ms = mean process CPU per request, client included`);
      if (browser !== undefined) {
        console.log(`Chromium, cell page, ${browser.runs} fresh loads: first contentful paint p50 ${browser.fcpP50Ms.toFixed(0)} ms, max ${browser.fcpMaxMs.toFixed(0)} ms; load event p50 ${browser.loadP50Ms.toFixed(0)} ms, max ${browser.loadMaxMs.toFixed(0)} ms (target < 1000 ms)`);
        console.log(`Chromium, machines page: heat map of ${result.machines} machines drawn ${browser.heatmapReadyMs.toFixed(0)} ms after navigation (canvas draw ${browser.heatmapDrawMs.toFixed(1)} ms)`);
      }
    } finally {
      await served.close();
    }
  },
};

export default bench;
