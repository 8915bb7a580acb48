// `npm run bench -- scheduler`: replays "the cell at time 0" of Google's 2011 trace (12,477 machines, ~144,000
// tasks submitted at time 0) through the scheduler from an empty cell, as Borg does when it schedules a whole
// cell from scratch (B15 §3.4), then runs online passes of newly submitted tasks on the loaded cell.
// Options: --policy worst|best|hybrid  --optimizations all|none|caching,classes,randomization
//          --workload google-2011|FILE.jsonl  --runs N  --machines N --tasks N (sample)  --feasible-limit N
//          --online-passes N  --online-tasks N  --seed N  --hot N  --refresh N
//          --room-index on|off  --sample-order best|random  --best-scan N  --warm-up on|off  --idle-gc on|off
//          --pass-gap MS  --loader compiled|tsx  --json
// --loader (default compiled) runs the measurement in a child process from the code compiled to JavaScript, as the
// scheduler daemon runs (cli/up/compiled.ts); tsx runs it here, under tsx's loader (~10% slower, scheduler/README.md).
// --warm-up (default on) runs scheduler/warm_up.ts once before the runs, untimed, as a scheduler process does at
// startup; its CPU time is reported. --idle-gc (default on) collects between passes, untimed, as the scheduler
// process does while it waits for its next pass (scheduler/idle_gc.ts): the young generation, and the whole heap
// once it grew by 64 MiB (the previous run's cell, left as garbage, is collected there rather than inside a pass);
// off, scavenges and a full collection land in some passes. --pass-gap MS (default 0: back to back) sleeps that long
// before each online pass, after the collection: new work reaching a scheduler process that had nothing to do for
// that long (it starts a pass ~20 ms after tasks arrive, scheduler/process): on this host a pass that follows a
// sleep runs slower than one that follows another pass (scheduler/README.md). Every online pass is timed, the
// first after the bulk pass included.
// Percentiles are nearest-rank: 5 runs (the default) give 100 online passes, whose p99 is the second slowest (of 60
// passes, 3 runs, it would be the slowest: a maximum, not a 99th percentile).
// Accounting: every task is charged a reservation equal to its limit (all tasks are new, B15 §5.5).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import type { Benchmark } from '../main';
import { COMPILED_NODE_FLAGS, compileEntry } from '../../cli/up/compiled';
import type { FitPolicy, SchedulerConfig } from '../../cells/config';
import { FIT_POLICIES } from '../../cells/config';
import { SeededRng } from '../../model/rng';
import { formatBytes } from '../../model/resources';
import type { Clock } from '../../model/clock';
import { HOT_MACHINES, PendingQueue, idleGc, warmUp, BEST_SCAN_MAX, BEST_SCAN_PER_TASK, SAMPLE_MIN, SAMPLE_PER_TASK, SAMPLE_ORDER, SAMPLE_REFRESH_PLACEMENTS, Scheduler, type SampleOrder, type SchedulerTuning, cellStats, type CellStats, type SchedTask, type Plan } from '../../scheduler/index';
import { sleepSync } from '../../borglet/cgroups/fsutil';
import { readGoogle2011 } from '../workloads/google_2011';
import { readJsonlWorkload } from '../workloads/jsonl';
import { loadWorkload } from '../workloads/scheduler_input';
import type { Workload } from '../workloads/types';

const here = fileURLToPath(new URL('.', import.meta.url));
const TRACE_DIR = `${here}../workloads/data/google-2011`;
const OPTIMIZATIONS = ['caching', 'classes', 'randomization'] as const;
type Optimization = (typeof OPTIMIZATIONS)[number];
/** DEFAULT_FEASIBLE_LIMIT: chosen from the trade-off table in scheduler/README.md. */
export const DEFAULT_FEASIBLE_LIMIT = 64;

interface Options {
  policy: FitPolicy;
  optimizations: Optimization[];
  workload: string;
  runs: number;
  machines: number;
  tasks: number;
  feasibleLimit: number;
  onlinePasses: number;
  onlineTasks: number;
  seed: number;
  hot: number;
  refresh: number;
  roomIndex: boolean;
  sampleOrder: SampleOrder;
  bestScan: number;
  warmUp: boolean;
  idleGc: boolean;
  passGapMs: number;
  loader: 'compiled' | 'tsx';
  json: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = { policy: 'hybrid', optimizations: [...OPTIMIZATIONS], workload: 'google-2011', runs: 5, machines: 0, tasks: 0, feasibleLimit: DEFAULT_FEASIBLE_LIMIT, onlinePasses: 20, onlineTasks: 1000, seed: 1, hot: HOT_MACHINES, refresh: SAMPLE_REFRESH_PLACEMENTS, roomIndex: true, sampleOrder: SAMPLE_ORDER, bestScan: BEST_SCAN_MAX, warmUp: true, idleGc: true, passGapMs: 0, loader: 'compiled', json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = (): string => {
      const x = args[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const n = (): number => {
      const s = v();
      const x = Number(s);
      if (!Number.isInteger(x) || x < 0) throw new Error(`${a}: ${s} is not a non-negative integer`);
      return x;
    };
    switch (a) {
      case '--policy': {
        const p = v();
        if (!FIT_POLICIES.includes(p as FitPolicy)) throw new Error(`--policy must be one of ${FIT_POLICIES.join(', ')}`);
        o.policy = p as FitPolicy;
        break;
      }
      case '--optimizations': {
        const s = v();
        if (s === 'all') o.optimizations = [...OPTIMIZATIONS];
        else if (s === 'none') o.optimizations = [];
        else {
          o.optimizations = s.split(',').map((x) => {
            if (!OPTIMIZATIONS.includes(x as Optimization)) throw new Error(`--optimizations: unknown ${JSON.stringify(x)}; use all, none or a list of ${OPTIMIZATIONS.join(',')}`);
            return x as Optimization;
          });
        }
        break;
      }
      case '--workload':
        o.workload = v();
        break;
      case '--runs':
        o.runs = Math.max(1, n());
        break;
      case '--machines':
        o.machines = n();
        break;
      case '--tasks':
        o.tasks = n();
        break;
      case '--feasible-limit':
        o.feasibleLimit = Math.max(1, n());
        break;
      case '--online-passes':
        o.onlinePasses = n();
        break;
      case '--online-tasks':
        o.onlineTasks = Math.max(1, n());
        break;
      case '--seed':
        o.seed = n();
        break;
      case '--hot':
        o.hot = n();
        break;
      case '--refresh':
        o.refresh = Math.max(1, n());
        break;
      case '--room-index': {
        const x = v();
        if (x !== 'on' && x !== 'off') throw new Error('--room-index must be on or off');
        o.roomIndex = x === 'on';
        break;
      }
      case '--sample-order': {
        const x = v();
        if (x !== 'best' && x !== 'random') throw new Error('--sample-order must be best or random');
        o.sampleOrder = x;
        break;
      }
      case '--warm-up': {
        const x = v();
        if (x !== 'on' && x !== 'off') throw new Error('--warm-up must be on or off');
        o.warmUp = x === 'on';
        break;
      }
      case '--loader': {
        const x = v();
        if (x !== 'compiled' && x !== 'tsx') throw new Error('--loader must be compiled or tsx');
        o.loader = x;
        break;
      }
      case '--pass-gap':
        o.passGapMs = n();
        break;
      case '--idle-gc': {
        const x = v();
        if (x !== 'on' && x !== 'off') throw new Error('--idle-gc must be on or off');
        o.idleGc = x === 'on';
        break;
      }
      case '--best-scan':
        o.bestScan = Math.max(1, n());
        break;
      case '--json':
        o.json = true;
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

/** sample keeps every k-th machine and task so a smaller cell keeps the workload's mix (for --optimizations none). */
function sample(w: Workload, machines: number, tasks: number): Workload {
  const pick = <T>(xs: T[], n: number): T[] => {
    if (n <= 0 || n >= xs.length) return xs;
    const step = xs.length / n;
    return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)] as T);
  };
  const initial = pick(w.initial, tasks > 0 ? tasks : machines > 0 ? Math.round((w.initial.length * machines) / w.machines.length) : 0);
  return { ...w, machines: pick(w.machines, machines), initial, notes: [...w.notes, `sampled: ${machines || w.machines.length} machines, ${initial.length} tasks`] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
}
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
}

const wallClock: Clock = { nowMs: () => performance.now() };

interface RunResult {
  placed: number;
  pending: number;
  preemptions: number;
  passes: number;
  wallSeconds: number;
  cpuSeconds: number;
  decisionsPerSecond: number;
  decisionsPerCpuSecond: number;
  evaluations: number;
  cacheHits: number;
  stats: CellStats;
  why: Map<string, number>;
  onlinePassMs: number[];
  /** onlinePassStartMs: when each online pass started (performance.now()), to place collections in passes. */
  onlinePassStartMs: number[];
  onlineCpuMs: number[];
  /** onlinePlacements, onlineEvictions: per online pass, what it placed and evicted (the work behind its time). */
  onlinePlacements: number[];
  onlineEvictions: number[];
  onlinePlaced: number;
  onlinePreemptions: number;
}

function schedulerConfig(o: Options, seed: number): SchedulerConfig {
  return {
    policy: o.policy,
    scoreCaching: o.optimizations.includes('caching'),
    equivalenceClasses: o.optimizations.includes('classes'),
    relaxedRandomization: o.optimizations.includes('randomization'),
    feasibleLimit: o.feasibleLimit,
    passIntervalMs: 0,
    seed,
  };
}

function tuning(o: Options): Partial<SchedulerTuning> {
  return { hotMachines: o.hot, sampleRefreshPlacements: o.refresh, roomIndex: o.roomIndex, sampleOrder: o.sampleOrder, bestScanMax: o.bestScan };
}

function runOnce(w: Workload, o: Options, seed: number, typicalCpu: number, typicalRam: number): RunResult {
  const loaded = loadWorkload(w);
  const { snap } = loaded;
  const sched = new Scheduler(schedulerConfig(o, seed), new SeededRng(seed), wallClock, tuning(o));
  const queue = new PendingQueue();
  for (const t of loaded.initial) queue.add(t);

  // The whole cell: passes until one ends without hitting the plan bound (every task placed or given a verdict).
  let placed = 0;
  let preemptions = 0;
  let passes = 0;
  let evaluations = 0;
  let cacheHits = 0;
  let wallMs = 0;
  let cpuMicros = 0;
  let lastPlan: Plan | undefined;
  for (;;) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const plan = sched.schedulePass(snap, queue);
    const cu = process.cpuUsage(c0);
    wallMs += performance.now() - t0;
    cpuMicros += cu.user + cu.system;
    passes++;
    placed += plan.assignments.length;
    evaluations += plan.stats.evaluations;
    cacheHits += plan.stats.cacheHits;
    for (const a of plan.assignments) preemptions += a.victims.length;
    lastPlan = plan;
    if (plan.stats.decisions === 0 || plan.assignments.length < 20_000) break;
    if (o.idleGc) idleGc();
  }
  if (o.idleGc) idleGc();
  const pending = queue.size;
  const stats = cellStats(snap, typicalCpu, typicalRam);
  const why = new Map<string, number>();
  for (const v of lastPlan?.verdicts ?? []) why.set(v.why, (why.get(v.why) ?? 0) + 1);
  for (const b of lastPlan?.parked ?? []) why.set(b.why, (why.get(b.why) ?? 0) + b.taskIds.length);

  // Online: batches of newly submitted tasks on the loaded cell (with the leftover pending still queued).
  const onlinePassMs: number[] = [];
  const onlinePassStartMs: number[] = [];
  const onlineCpuMs: number[] = [];
  const onlinePlacements: number[] = [];
  const onlineEvictions: number[] = [];
  let onlinePlaced = 0;
  let onlinePreemptions = 0;
  const later: SchedTask[] = loaded.later;
  for (let p = 0; p < o.onlinePasses; p++) {
    const batch = later.slice(p * o.onlineTasks, (p + 1) * o.onlineTasks);
    if (batch.length === 0) break;
    // A scheduler process idle for --pass-gap ms, then new tasks arrive.
    if (o.passGapMs > 0) sleepSync(o.passGapMs);
    for (const t of batch) queue.add(t);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const plan = sched.schedulePass(snap, queue);
    const cu = process.cpuUsage(c0);
    onlinePassMs.push(performance.now() - t0);
    onlinePassStartMs.push(t0);
    onlineCpuMs.push((cu.user + cu.system) / 1000);
    let evicted = 0;
    for (const a of plan.assignments) evicted += a.victims.length;
    onlinePlacements.push(plan.assignments.length);
    onlineEvictions.push(evicted);
    onlinePlaced += plan.assignments.length;
    onlinePreemptions += evicted;
    // The scheduler process collects its young generation while it waits for the next pass (untimed here too).
    if (o.idleGc) idleGc();
  }
  const wallSeconds = wallMs / 1000;
  const cpuSeconds = cpuMicros / 1e6;
  return { placed, pending, preemptions, passes, wallSeconds, cpuSeconds, decisionsPerSecond: (placed + pending) / wallSeconds, decisionsPerCpuSecond: (placed + pending) / cpuSeconds, evaluations, cacheHits, stats, why, onlinePassMs, onlinePassStartMs, onlineCpuMs, onlinePlacements, onlineEvictions, onlinePlaced, onlinePreemptions };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** COMPILED_CHILD marks the child process that runs the compiled measurement. */
const COMPILED_CHILD = 'BORG_SCHEDULER_BENCH_COMPILED';

async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  if (o.loader === 'compiled' && process.env[COMPILED_CHILD] !== '1') {
    const bundle = await compileEntry(join(here, 'compiled_entry.ts'));
    const r = spawnSync(process.execPath, [...COMPILED_NODE_FLAGS, bundle, ...args], { stdio: 'inherit', env: { ...process.env, [COMPILED_CHILD]: '1' } });
    process.exitCode = r.status ?? 1;
    return;
  }
  const t0 = performance.now();
  let w: Workload;
  if (o.workload === 'google-2011') w = await readGoogle2011(TRACE_DIR);
  else {
    const errors: string[] = [];
    w = await readJsonlWorkload(o.workload, errors);
    for (const e of errors) console.error(`${o.workload}: ${e}`);
  }
  w = sample(w, o.machines, o.tasks);
  const readSeconds = (performance.now() - t0) / 1000;
  const cpus = w.initial.map((t) => t.limit.cpuMillis).sort((a, b) => a - b);
  const rams = w.initial.map((t) => t.limit.ramBytes).sort((a, b) => a - b);
  const typicalCpu = cpus[Math.floor(cpus.length / 2)] ?? 0;
  const typicalRam = rams[Math.floor(rams.length / 2)] ?? 0;

  // Startup: the scheduler process warms the compiler up once (scheduler/warm_up.ts); untimed like the trace read.
  let warmUpCpuSeconds = 0;
  if (o.warmUp) {
    const c0 = process.cpuUsage();
    warmUp(schedulerConfig(o, o.seed), tuning(o));
    const cu = process.cpuUsage(c0);
    warmUpCpuSeconds = (cu.user + cu.system) / 1e6;
  }
  // Collections (V8's 'gc' performance entries): each is placed in the online pass it started in.
  const collections: { startMs: number; ms: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) collections.push({ startMs: e.startTime, ms: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const runs: RunResult[] = [];
  for (let r = 0; r < o.runs; r++) runs.push(runOnce(w, o, o.seed + r, typicalCpu, typicalRam));
  // Node delivers them on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 100));
  gcObserver.disconnect();
  const gcMsIn = (startMs: number, ms: number): number => collections.filter((g) => g.startMs >= startMs && g.startMs < startMs + ms).reduce((sum, g) => sum + g.ms, 0);
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const mid = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds)[Math.floor((runs.length - 1) / 2)] as RunResult;
  const online = runs.flatMap((r) => r.onlinePassMs);
  const onlineCpu = runs.flatMap((r) => r.onlineCpuMs);
  const onlinePlacements = runs.flatMap((r) => r.onlinePlacements);
  const onlineEvictions = runs.flatMap((r) => r.onlineEvictions);
  // The slowest online pass, found run by run (a run may hold fewer passes than asked when the trace runs out).
  let slowestPass = { ms: 0, run: 0, pass: 0, placements: 0, evictions: 0, gcMs: 0 };
  let gcPasses = 0;
  let gcMsInPasses = 0;
  runs.forEach((r, run) =>
    r.onlinePassMs.forEach((ms, pass) => {
      const gcMs = gcMsIn(r.onlinePassStartMs[pass] ?? 0, ms);
      if (gcMs > 0) gcPasses++;
      gcMsInPasses += gcMs;
      if (ms > slowestPass.ms) slowestPass = { ms, run, pass, placements: r.onlinePlacements[pass] ?? 0, evictions: r.onlineEvictions[pass] ?? 0, gcMs };
    }),
  );
  const optimizations = o.optimizations.length === OPTIMIZATIONS.length ? 'all' : o.optimizations.length === 0 ? 'none' : o.optimizations.join(',');
  const result = {
    workload: w.name,
    tasks: w.initial.length,
    machines: w.machines.length,
    policy: o.policy,
    optimizations,
    feasibleLimit: o.feasibleLimit,
    hotMachines: o.hot,
    sampleRefreshPlacements: o.refresh,
   
    roomIndex: o.roomIndex,
    sampleOrder: o.sampleOrder,
    bestScanMax: o.bestScan,
    bestScanPerTask: BEST_SCAN_PER_TASK,
    samplePerTask: SAMPLE_PER_TASK,
    sampleMin: SAMPLE_MIN,
    runs: o.runs,
    placed: mid.placed,
    pending: mid.pending,
    preemptions: mid.preemptions,
    passes: mid.passes,
    decisionsPerSecond: median(runs.map((r) => r.decisionsPerSecond)),
    wallSeconds: median(runs.map((r) => r.wallSeconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    decisionsPerCpuSecond: median(runs.map((r) => r.decisionsPerCpuSecond)),
    loadAverage: loadavg()[0] ?? 0,
    peakRssBytes,
    strandedCpuFraction: mid.stats.strandedCpuFraction,
    strandedRamFraction: mid.stats.strandedRamFraction,
    reservedCpuFraction: mid.stats.reservedCpuMillis / mid.stats.capacityCpuMillis,
    reservedRamFraction: mid.stats.reservedRamBytes / mid.stats.capacityRamBytes,
    evaluations: mid.evaluations,
    cacheHits: mid.cacheHits,
    bands: mid.stats.bands,
    whyPending: [...mid.why.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([why, tasks]) => ({ tasks, why })),
    online: {
      passes: online.length,
      tasksPerPass: o.onlineTasks,
      /** passGapMs: the sleep before each online pass (0: back to back). */
      passGapMs: o.passGapMs,
      passMsP50: percentile(online, 50),
      passMsP99: percentile(online, 99),
      passMsMax: percentile(online, 100),
      cpuMsP50: percentile(onlineCpu, 50),
      cpuMsP99: percentile(onlineCpu, 99),
      cpuMsMax: percentile(onlineCpu, 100),
      /** firstPassCpuMs: the first online pass after the bulk pass, per run (included in the percentiles). */
      firstPassCpuMs: runs.map((r) => r.onlineCpuMs[0] ?? 0),
      /**
       * perRun: each run's online p50 and p99 beside its bulk pass's wall time, the same work every run: on a shared
       * host a slow spell moves a whole run, which the bulk time shows.
       */
      perRun: runs.map((r) => ({ passMsP50: percentile(r.onlinePassMs, 50), passMsP99: percentile(r.onlinePassMs, 99), bulkWallSeconds: r.wallSeconds })),
      /** placementsPerPassP50 / evictionsPerPassP50: the work of a typical pass; slowestPass: the work of the slowest. */
      placementsPerPassP50: percentile(onlinePlacements, 50),
      evictionsPerPassP50: percentile(onlineEvictions, 50),
      slowestPass,
      /** gcPasses, gcMsInPasses: online passes with a collection inside, and the collections' total time in them. */
      gcPasses,
      gcMsInPasses,
      placed: mid.onlinePlaced,
      preemptions: mid.onlinePreemptions,
    },
    readSeconds,
    warmUp: o.warmUp,
    idleGc: o.idleGc,
    loader: o.loader,
    warmUpCpuSeconds,
    skipped: w.skipped,
    notes: [...w.notes, 'accounting: reservations = limits (every task is new); typical task for stranding = median request', `stranding threshold: ${typicalCpu} millicores / ${formatBytes(typicalRam)}`],
  };
  if (o.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const rows: [string, string][] = [
    ['workload', `${result.workload}: ${result.machines} machines, ${result.tasks} tasks (read in ${readSeconds.toFixed(1)} s)`],
    ['configuration', `policy ${result.policy}, optimizations ${optimizations}, feasible limit ${o.feasibleLimit}, hot ${o.hot}, refresh ${o.refresh}, ${o.roomIndex ? `room index, ${o.sampleOrder} samples${o.sampleOrder === 'best' ? ` (scan ${BEST_SCAN_PER_TASK} per task left up to ${o.bestScan}, ${SAMPLE_PER_TASK} evaluated per task left, at least ${SAMPLE_MIN})` : ''}` : 'no room index'}, ${o.runs} run(s), warm-up ${o.warmUp ? `on (${warmUpCpuSeconds.toFixed(2)} s CPU at startup, untimed)` : 'off'}, idle-time GC ${o.idleGc ? 'on' : 'off'}, ${o.loader === 'compiled' ? 'compiled JavaScript' : 'under tsx'}`],
    ['placed / pending', `${result.placed} / ${result.pending} (${result.passes} passes of at most 20000 assignments)`],
    ['preemptions', `${result.preemptions}`],
    ['decisions per second', `${Math.round(result.decisionsPerSecond)} (median; per CPU second ${Math.round(result.decisionsPerCpuSecond)})`],
    ['wall time', `${result.wallSeconds.toFixed(3)} s (median; CPU ${result.cpuSeconds.toFixed(3)} s; load average ${result.loadAverage.toFixed(1)})`],
    ['peak RSS', formatBytes(peakRssBytes)],
    ['evaluations', `${result.evaluations} (cache hits ${result.cacheHits})`],
    ['reserved', `cpu ${pct(result.reservedCpuFraction)}, ram ${pct(result.reservedRamFraction)} of capacity`],
    ['stranded', `cpu ${pct(result.strandedCpuFraction)}, ram ${pct(result.strandedRamFraction)} of capacity`],
    ['online passes', `${online.length} x ${o.onlineTasks} new tasks${o.passGapMs > 0 ? `, each after a ${o.passGapMs} ms sleep` : ''}: p50 ${result.online.passMsP50.toFixed(1)} ms, p99 ${result.online.passMsP99.toFixed(1)} ms, max ${result.online.passMsMax.toFixed(1)} ms (CPU p50 ${result.online.cpuMsP50.toFixed(1)}, p99 ${result.online.cpuMsP99.toFixed(1)}, max ${result.online.cpuMsMax.toFixed(1)} ms; first pass after the bulk pass ${result.online.firstPassCpuMs.map((x) => x.toFixed(1)).join(' / ')} ms CPU); placed ${mid.onlinePlaced}, preemptions ${mid.onlinePreemptions}`],
    ['online pass work', `p50 ${result.online.placementsPerPassP50} placements, ${result.online.evictionsPerPassP50} evictions; slowest pass (run ${result.online.slowestPass.run + 1}, pass ${result.online.slowestPass.pass + 1}) ${result.online.slowestPass.ms.toFixed(1)} ms: ${result.online.slowestPass.placements} placements, ${result.online.slowestPass.evictions} evictions, ${result.online.slowestPass.gcMs.toFixed(1)} ms collecting`],
    ['online collections', `${gcPasses} of ${online.length} passes had a collection inside (${gcMsInPasses.toFixed(1)} ms in all)`],
    ['online per run', result.online.perRun.map((r, i) => `run ${i + 1}: p50 ${r.passMsP50.toFixed(1)} ms, p99 ${r.passMsP99.toFixed(1)} ms (bulk pass ${r.bulkWallSeconds.toFixed(3)} s)`).join('; ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log('\nallocated per priority band (limits):');
  for (const b of result.bands) console.log(`  ${b.band.padEnd(10)} ${String(b.tasks).padStart(7)} tasks  cpu ${(b.cpuMillis / 1000).toFixed(0).padStart(8)} cores  ram ${formatBytes(b.ramBytes).padStart(10)}`);
  console.log('\nwhy pending (leftover, top 10):');
  for (const { tasks, why } of result.whyPending) console.log(`  ${String(tasks).padStart(6)}  ${why}`);
  if (Object.keys(w.skipped).length > 0) console.log(`\nskipped input: ${Object.entries(w.skipped).map(([k, v]) => `${v} ${k}`).join('; ')}`);
  console.log(`\n${result.notes.map((n) => `note: ${n}`).join('\n')}`);
}

const bench: Benchmark = {
  summary: 'scheduler: Google 2011 cell at time 0 from scratch, then online passes (decisions/s, quality, stranding)',
  run,
};
export default bench;
