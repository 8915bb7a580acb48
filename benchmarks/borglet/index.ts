// `npm run bench -- borglet [--starts N] [--tasks N] [--duration S] [--json]`: the real Borglet daemon on this
// host (real cgroups, real processes, real gRPC). Measures order-to-running latency (a poll that adds one task
// returns once the task's process is inside its cgroup, as the reply reports it RUNNING with its pid), and the
// Borglet's own CPU and RSS with N running tasks polled once a second (1 s reporting). Needs root and cgroups.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { Benchmark } from '../main';
import { BorgletClient, CHANNEL_OPTIONS, invoke, RestartPolicy_Kind, TaskState, type DesiredTask, type PollResponse } from '../../proto/index';
import { detectCgroupDriver } from '../../borglet/cgroups/index';
import { freePort } from '../../sim/ports';

const MiB = 1024 * 1024;

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

function desired(i: number): DesiredTask {
  return {
    taskId: `bench/u/sleepers/${i}`,
    specVersion: 1,
    priority: i % 2 === 0 ? 200 : 100,
    bnsName: '',
    ports: [],
    spec: {
      command: '/bin/sleep',
      args: ['100000'],
      env: {},
      workingDir: '',
      requirements: { cpuMillis: 10, ramBytes: 8 * MiB, diskBytes: 0, ports: 0 },
      constraints: [],
      healthCheck: undefined,
      restartPolicy: { kind: RestartPolicy_Kind.NEVER, maxRestarts: 0, backoffInitialMs: 0, backoffMaxMs: 0, resetAfterMs: 0 },
      latencySensitive: false,
      killGraceMs: 1_000,
    },
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** cpuTicks is utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m?.[1] ?? 0) * 1024;
}

const bench: Benchmark = {
  summary: 'real Borglet: order-to-running latency p50/p99, own CPU and RSS with N tasks at 1 s reporting',
  async run(args: string[]): Promise<void> {
    const starts = flag(args, 'starts', 100);
    const tasks = flag(args, 'tasks', 50);
    const durationS = flag(args, 'duration', 30);
    const json = args.includes('--json');
    const machine = `bench-${process.pid}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'borglet-bench-'));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'borglet/main.ts', '--machine', machine, '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--cpu', '2', '--ram', '4GiB'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // The daemon logs every start and exit; keep the tail for a failure message only.
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4_000)));
    const client = new BorgletClient(`127.0.0.1:${port}`, credentials.createInsecure(), CHANNEL_OPTIONS);
    let seq = 0;
    const poll = (list: DesiredTask[]): Promise<PollResponse> =>
      invoke(client.poll.bind(client), { cell: 'bench', machine, ballot: { round: 1, replica: 1 }, replica: 1, pollSeq: ++seq, authoritative: true, tasks: list }, new Metadata(), 30_000);
    try {
      const t0 = Date.now();
      while (!out.includes('listening on')) {
        if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`the Borglet did not start: ${out}${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // 1. Order-to-running: each poll adds one task to the desired set; latency is the poll's round trip, which
      // returns once the new process is in its cgroup. The set is cleared every `tasks` starts.
      const latencies: number[] = [];
      let list: DesiredTask[] = [];
      for (let i = 0; i < starts; i++) {
        if (list.length >= tasks) {
          await poll([]);
          while ((await poll([])).tasks.length > 0) await new Promise((r) => setTimeout(r, 50));
          list = [];
        }
        const t = desired(1000 + i);
        list = [...list, t];
        const a = process.hrtime.bigint();
        const r = await poll(list);
        const ms = Number(process.hrtime.bigint() - a) / 1e6;
        const s = r.tasks.find((x) => x.taskId === t.taskId);
        if (s?.state !== TaskState.RUNNING || s.pid <= 0) throw new Error(`task ${t.taskId} not running after its poll: ${s?.message ?? 'missing'}`);
        latencies.push(ms);
      }
      await poll([]);
      while ((await poll([])).tasks.length > 0) await new Promise((r) => setTimeout(r, 50));
      latencies.sort((x, y) => x - y);

      // 2. Steady state: `tasks` running, one poll a second, the Borglet sampling every second (its default).
      const steady = Array.from({ length: tasks }, (_, i) => desired(i));
      const r0 = await poll(steady);
      if (r0.tasks.filter((x) => x.state === TaskState.RUNNING).length !== tasks) throw new Error('not every task started');
      await new Promise((r) => setTimeout(r, 3_000));
      const pid = child.pid ?? 0;
      const ticks0 = cpuTicks(pid);
      const w0 = process.hrtime.bigint();
      const pollMs: number[] = [];
      for (let s = 0; s < durationS; s++) {
        const a = Date.now();
        await poll(steady);
        pollMs.push(Date.now() - a);
        await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - a))));
      }
      const wallS = Number(process.hrtime.bigint() - w0) / 1e9;
      const cpuPct = ((cpuTicks(pid) - ticks0) / 100 / wallS) * 100;
      const rss = rssBytes(pid);
      pollMs.sort((x, y) => x - y);
      const result = {
        starts,
        startLatencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1] ?? NaN },
        runningTasks: tasks,
        durationS: Number(wallS.toFixed(1)),
        borgletCpuPercentOfCore: Number(cpuPct.toFixed(2)),
        borgletRssMiB: Number((rss / MiB).toFixed(1)),
        pollMs: { p50: quantile(pollMs, 0.5), p99: quantile(pollMs, 0.99) },
        loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      };
      if (json) {
        console.log(JSON.stringify(result));
      } else {
        const rows: [string, string, string][] = [
          ['order-to-running p50', `${result.startLatencyMs.p50.toFixed(1)} ms`, 'target < 50 ms'],
          ['order-to-running p99', `${result.startLatencyMs.p99.toFixed(1)} ms`, 'target < 200 ms'],
          ['order-to-running max', `${result.startLatencyMs.max.toFixed(1)} ms`, `${starts} starts`],
          [`borglet CPU, ${tasks} tasks, 1 s polls`, `${result.borgletCpuPercentOfCore.toFixed(2)} % of a core`, 'target < 2 %'],
          ['borglet RSS', `${result.borgletRssMiB} MiB`, ''],
          ['poll round trip p50 / p99', `${result.pollMs.p50} / ${result.pollMs.p99} ms`, `${tasks} tasks per poll`],
          ['host load average', result.loadAverage, 'the host is shared: numbers are pessimistic'],
        ];
        for (const [a, b, c] of rows) console.log(`${a.padEnd(36)} ${b.padEnd(22)} ${c}`);
      }
      await poll([]);
      while ((await poll([])).tasks.length > 0) await new Promise((r) => setTimeout(r, 50));
    } catch (e: unknown) {
      console.error(`borglet stderr (tail):\n${err}`);
      throw e;
    } finally {
      client.close();
      child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      detectCgroupDriver(machine).destroyMachine();
      rmSync(stateDir, { recursive: true, force: true });
    }
  },
};

export default bench;
