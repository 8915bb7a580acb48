// `npm run bench -- paxos`: our 3-replica Multi-Paxos log (3 processes, loopback, fsync on) beside a 3-member etcd
// cluster (Debian's etcd 3.4, loopback, its defaults), driven by the same client process with the same load:
// 256-byte values, 1/16/64/256 concurrent writers for a fixed duration each (in --rounds rounds that interleave the
// two systems), then kill -9 of the leader under load, timed until the next successful commit, over --trials
// trials. It prints numbers and asserts nothing.
//
//   npm run bench -- paxos [--duration 5s] [--writers 1,16,64,256] [--rounds 5] [--trials 10]
//                          [--failover-writers 16] [--value-bytes 256] [--only ours|etcd] [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Benchmark } from '../main';
import { ReplicaCluster } from '../../borgmaster/paxos/replica_cluster';
import { parseDurationMs } from '../../model/units';
import { assert } from '../../model/assert';
import { EtcdCluster } from './etcd_cluster';

type SystemName = 'ours' | 'etcd';

/** System is what the load generator needs from either cluster. */
interface System {
  name: SystemName;
  /** putOnce is one write attempt, no retry; the next attempt goes where the failure pointed. */
  putOnce(key: string, value: Uint8Array, timeoutMs: number): Promise<unknown>;
  waitForLeader(): Promise<number>;
  /** kill sends SIGKILL to member id; restart brings it back and waits until it serves. */
  kill(id: number): Promise<void>;
  restart(id: number): Promise<void>;
  /** syncs is the leader's fsync count so far, when the system reports it (ours does). */
  syncs(leader: number): Promise<number | undefined>;
  /** pids of the server processes, for their CPU time. */
  pids(): number[];
  stop(): Promise<void>;
}

interface LoadResult {
  commits: number;
  errors: number;
  elapsedMs: number;
  latenciesMs: number[];
}

/** ATTEMPT_TIMEOUT_MS bounds one put attempt in both systems (a failover phase sees many of these). */
const ATTEMPT_TIMEOUT_MS = 250;
/** KEYS_PER_WRITER: writers cycle through their own keys, so state stays small however long the run. */
const KEYS_PER_WRITER = 64;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** cpuMs is the user + system CPU time a process has used, from /proc (clock ticks of 10 ms on Linux). */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0; // the process is gone
  }
}

function totalCpuMs(pids: number[]): number {
  return pids.reduce((a, p) => a + cpuMs(p), 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

async function load(sys: System, writers: number, durationMs: number, valueBytes: number, tag: string): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let commits = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const value = randomBytes(valueBytes);
      for (let seq = 0; performance.now() < end; seq++) {
        const t = performance.now();
        try {
          await sys.putOnce(`${tag}-${w}-${seq % KEYS_PER_WRITER}`, value, ATTEMPT_TIMEOUT_MS * 8);
          latenciesMs.push(performance.now() - t);
          commits += 1;
        } catch {
          errors += 1;
          await sleep(5);
        }
      }
    }),
  );
  return { commits, errors, elapsedMs: performance.now() - start, latenciesMs };
}

/**
 * failoverTrial runs writers against sys, kills the leader with SIGKILL, and returns the time from the kill to the
 * first successful commit of a put that was sent after the kill (so a write already chosen by the dead leader
 * cannot count). It restarts the killed member before returning.
 */
async function failoverTrial(sys: System, writers: number, valueBytes: number, trial: number): Promise<number> {
  const leader = await sys.waitForLeader();
  let killedAt = Number.POSITIVE_INFINITY;
  let firstAfterMs = Number.POSITIVE_INFINITY;
  let running = true;
  const loops = Array.from({ length: writers }, async (_, w) => {
    const value = randomBytes(valueBytes);
    for (let seq = 0; running; seq++) {
      const t = performance.now();
      try {
        await sys.putOnce(`f${trial}-${w}-${seq % KEYS_PER_WRITER}`, value, ATTEMPT_TIMEOUT_MS);
        const done = performance.now();
        if (t >= killedAt && done < firstAfterMs) firstAfterMs = done;
      } catch {
        await sleep(5);
      }
    }
  });
  await sleep(500);
  killedAt = performance.now();
  await sys.kill(leader);
  const giveUp = killedAt + 30_000;
  while (firstAfterMs === Number.POSITIVE_INFINITY && performance.now() < giveUp) await sleep(2);
  running = false;
  await Promise.all(loops);
  await sys.restart(leader);
  await sys.waitForLeader();
  await sleep(300); // let the restarted member catch up before the next trial
  return firstAfterMs - killedAt;
}

async function startOurs(dir: string): Promise<System> {
  const c = await ReplicaCluster.start({ size: 3, dir: join(dir, 'ours') });
  return {
    name: 'ours',
    putOnce: (k, v, t) => c.putOnce(k, v, t),
    waitForLeader: () => c.waitForLeader(30_000),
    kill: (id) => c.kill(id),
    restart: (id) => c.restart(id),
    syncs: async (leader) => Number((await c.status(leader)).syncs),
    pids: () => c.ids.map((id) => c.pid(id)).filter((p): p is number => p !== undefined),
    stop: () => c.stop(),
  };
}

async function startEtcd(dir: string): Promise<System> {
  const c = await EtcdCluster.start(join(dir, 'etcd'), 3);
  return {
    name: 'etcd',
    putOnce: (k, v, t) => c.putOnce(k, v, t),
    waitForLeader: () => c.waitForLeader(30_000),
    kill: (i) => c.kill(i),
    restart: (i) => c.restart(i),
    syncs: async () => undefined,
    pids: () => [0, 1, 2].map((i) => c.pid(i)).filter((p): p is number => p !== undefined),
    stop: () => c.stop(),
  };
}

/** Accumulated is one system's results over the rounds of one concurrency level. */
interface Accumulated {
  cps: number[];
  latenciesMs: number[];
  errors: number;
  commits: number;
  serverCpuMs: number;
  clientCpuMs: number;
  syncs: number;
  syncedCommits: number;
}

interface LevelRow {
  writers: number;
  /** loadAverage1m: the machine's 1-minute load average at the start of each system's round (other work included). */
  loadAverage1m?: number[];
  /** throughput of each round (median reported above), in round order. */
  oursCommitsPerSecondRounds?: number[];
  etcdCommitsPerSecondRounds?: number[];
  oursCommitsPerSecond?: number;
  etcdCommitsPerSecond?: number;
  oursP50Ms?: number;
  etcdP50Ms?: number;
  oursP99Ms?: number;
  etcdP99Ms?: number;
  oursErrors?: number;
  etcdErrors?: number;
  oursCommitsPerSync?: number;
  /** CPU time of all three server processes per commit (user + system), a measure that contention distorts less. */
  oursServerCpuMsPerCommit?: number;
  etcdServerCpuMsPerCommit?: number;
  /** CPU time of the load-generating client process per commit (the same process drives both systems). */
  oursClientCpuMsPerCommit?: number;
  etcdClientCpuMsPerCommit?: number;
  /** throughputRatio: ours / etcd commits per second (>= 1 means ours is at least as fast). */
  throughputRatio?: number;
  /** p99Ratio: ours / etcd p99 latency (<= 1 means ours is no worse). */
  p99Ratio?: number;
}

const round1 = (x: number | undefined): number | undefined => (x === undefined || !Number.isFinite(x) ? x : Math.round(x * 10) / 10);
const round3 = (x: number | undefined): number | undefined => (x === undefined || !Number.isFinite(x) ? x : Math.round(x * 1000) / 1000);
const round2 = (x: number | undefined): number | undefined => (x === undefined || !Number.isFinite(x) ? x : Math.round(x * 100) / 100);

const bench: Benchmark = {
  summary: 'our 3-replica Paxos log vs a 3-member etcd: throughput, p50/p99 at 1-256 writers, kill -9 failover',
  async run(args: string[]): Promise<void> {
    const { values } = parseArgs({
      args,
      options: {
        duration: { type: 'string', default: '5s' },
        writers: { type: 'string', default: '1,16,64,256' },
        trials: { type: 'string', default: '10' },
        rounds: { type: 'string', default: '5' },
        'failover-writers': { type: 'string', default: '16' },
        'value-bytes': { type: 'string', default: '256' },
        only: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const durationMs = parseDurationMs(values.duration, '--duration');
    const levels = values.writers.split(',').map((s) => Number(s));
    const trials = Number(values.trials);
    const rounds = Number(values.rounds);
    const failoverWriters = Number(values['failover-writers']);
    const valueBytes = Number(values['value-bytes']);
    const only = values.only;
    if (levels.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--writers: a comma-separated list of positive integers');
    if (!Number.isInteger(trials) || trials < 0) throw new Error('--trials: a non-negative integer');
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a positive integer');
    if (only !== undefined && only !== 'ours' && only !== 'etcd') throw new Error('--only: ours or etcd');
    const log = (s: string): void => {
      if (!values.json) console.error(s);
    };

    const dir = mkdtempSync(join(tmpdir(), 'bench-paxos-'));
    const systems: System[] = [];
    try {
      if (only !== 'etcd') systems.push(await startOurs(dir));
      if (only !== 'ours') systems.push(await startEtcd(dir));
      for (const s of systems) await s.waitForLeader();

      const rows: LevelRow[] = [];
      for (const writers of levels) {
        const row: LevelRow = { writers, loadAverage1m: [] };
        const acc = new Map<SystemName, Accumulated>(systems.map((sys) => [sys.name, { cps: [], latenciesMs: [], errors: 0, commits: 0, serverCpuMs: 0, clientCpuMs: 0, syncs: 0, syncedCommits: 0 }]));
        // Rounds interleave the systems (ours, etcd, etcd, ours, ...), so a change in the machine's load from other
        // work hits both alike; throughput is the median round, latency percentiles are over every round's writes.
        for (let round = 0; round < rounds; round++) {
          const order = (round + rows.length) % 2 === 0 ? systems : [...systems].reverse();
          for (const sys of order) {
            const a = acc.get(sys.name);
            assert(a !== undefined, 'accumulator per system');
            row.loadAverage1m?.push(round2(loadavg()[0]) ?? 0);
            const leader = await sys.waitForLeader();
            await load(sys, writers, Math.min(1_000, durationMs / 4), valueBytes, `warm${writers}`);
            const syncsBefore = await sys.syncs(leader);
            const cpuBefore = totalCpuMs(sys.pids());
            const clientBefore = process.cpuUsage();
            const r = await load(sys, writers, durationMs, valueBytes, `w${writers}`);
            const clientUsed = process.cpuUsage(clientBefore);
            const serverCpuMs = totalCpuMs(sys.pids()) - cpuBefore;
            const syncsAfter = await sys.syncs(leader);
            const cps = (r.commits * 1000) / r.elapsedMs;
            a.cps.push(cps);
            for (const l of r.latenciesMs) a.latenciesMs.push(l);
            a.errors += r.errors;
            a.commits += r.commits;
            a.serverCpuMs += serverCpuMs;
            a.clientCpuMs += (clientUsed.user + clientUsed.system) / 1000;
            if (syncsBefore !== undefined && syncsAfter !== undefined && syncsAfter > syncsBefore) {
              a.syncs += syncsAfter - syncsBefore;
              a.syncedCommits += r.commits;
            }
            const sorted = [...r.latenciesMs].sort((x, y) => x - y);
            log(
              `${sys.name} ${writers} writers, round ${round + 1}/${rounds}: ${cps.toFixed(0)} commits/s, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, ${r.errors} errors, cpu ms/commit servers ${(serverCpuMs / Math.max(1, r.commits)).toFixed(3)} client ${((clientUsed.user + clientUsed.system) / 1000 / Math.max(1, r.commits)).toFixed(3)}, load ${loadavg()[0]?.toFixed(1)}`,
            );
          }
        }
        for (const [name, a] of acc) {
          const sorted = a.latenciesMs.sort((x, y) => x - y);
          const perCommit = (ms: number): number | undefined => (a.commits > 0 ? round3(ms / a.commits) : undefined);
          if (name === 'ours') {
            row.oursCommitsPerSecond = round1(median(a.cps));
            row.oursCommitsPerSecondRounds = a.cps.map((x) => Math.round(x));
            row.oursP50Ms = round2(percentile(sorted, 50));
            row.oursP99Ms = round2(percentile(sorted, 99));
            row.oursErrors = a.errors;
            row.oursServerCpuMsPerCommit = perCommit(a.serverCpuMs);
            row.oursClientCpuMsPerCommit = perCommit(a.clientCpuMs);
            if (a.syncs > 0) row.oursCommitsPerSync = round1(a.syncedCommits / a.syncs);
          } else {
            row.etcdCommitsPerSecond = round1(median(a.cps));
            row.etcdCommitsPerSecondRounds = a.cps.map((x) => Math.round(x));
            row.etcdP50Ms = round2(percentile(sorted, 50));
            row.etcdP99Ms = round2(percentile(sorted, 99));
            row.etcdErrors = a.errors;
            row.etcdServerCpuMsPerCommit = perCommit(a.serverCpuMs);
            row.etcdClientCpuMsPerCommit = perCommit(a.clientCpuMs);
          }
        }
        if (row.oursCommitsPerSecond && row.etcdCommitsPerSecond) row.throughputRatio = round2(row.oursCommitsPerSecond / row.etcdCommitsPerSecond);
        if (row.oursP99Ms && row.etcdP99Ms) row.p99Ratio = round2(row.oursP99Ms / row.etcdP99Ms);
        rows.push(row);
      }

      const failover: Record<string, number | number[]> = {};
      for (const sys of systems) {
        const times: number[] = [];
        for (let t = 0; t < trials; t++) {
          const ms = await failoverTrial(sys, failoverWriters, valueBytes, t);
          times.push(Math.round(ms));
          log(`${sys.name} failover trial ${t + 1}/${trials}: ${ms.toFixed(0)} ms`);
        }
        if (times.length > 0) {
          failover[`${sys.name}FailoverMsMedian`] = median(times);
          failover[`${sys.name}FailoverMsMax`] = Math.max(...times);
          failover[`${sys.name}FailoverMs`] = times;
        }
      }

      const result = {
        valueBytes,
        durationMs,
        attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
        failoverWriters,
        rounds,
        trials,
        loadAverageAtEnd: loadavg().map((x) => round2(x)),
        concurrency: Object.fromEntries(rows.map((r) => [String(r.writers), r])),
        failover,
      };
      if (values.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      const fmt = (x: number | undefined, w: number): string => (x === undefined ? '-' : String(x)).padStart(w);
      console.log(`\nPaxos log vs etcd, 3 replicas each on loopback, ${valueBytes}-byte values, ${rounds} interleaved rounds of ${durationMs} ms per level`);
      console.log('(commits/s: median round; p50/p99: over every round; load: 1-minute load average during the level)\n');
      console.log('writers  ours c/s  etcd c/s  ratio  ours p50  etcd p50  ours p99  etcd p99  p99 ratio  commits/fsync  server cpu ms/commit ours  etcd  client ours  etcd  load');
      for (const r of rows) {
        console.log(
          `${fmt(r.writers, 7)}  ${fmt(r.oursCommitsPerSecond, 8)}  ${fmt(r.etcdCommitsPerSecond, 8)}  ${fmt(r.throughputRatio, 5)}  ${fmt(r.oursP50Ms, 8)}  ${fmt(r.etcdP50Ms, 8)}  ${fmt(r.oursP99Ms, 8)}  ${fmt(r.etcdP99Ms, 8)}  ${fmt(r.p99Ratio, 9)}  ${fmt(r.oursCommitsPerSync, 13)}  ${fmt(r.oursServerCpuMsPerCommit, 25)}  ${fmt(r.etcdServerCpuMsPerCommit, 5)}  ${fmt(r.oursClientCpuMsPerCommit, 11)}  ${fmt(r.etcdClientCpuMsPerCommit, 5)}  ${fmt(round1(median(r.loadAverage1m ?? [])), 4)}`,
        );
      }
      if (trials > 0) {
        console.log(`\nfailover after kill -9 of the leader (${trials} trials, ${failoverWriters} writers): time to the next commit of a write sent after the kill`);
        for (const sys of systems) {
          const times = failover[`${sys.name}FailoverMs`];
          if (Array.isArray(times)) console.log(`  ${sys.name.padEnd(5)} median ${failover[`${sys.name}FailoverMsMedian`]} ms, max ${failover[`${sys.name}FailoverMsMax`]} ms  [${times.join(', ')}]`);
        }
      }
    } finally {
      for (const s of systems) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
