// `npm run bench -- compaction`: B15 §5.1 cell compaction on Google's 2011 trace (the cell at time 0) and the five
// §5 experiments (sharing, bucketing, reclamation, policies, smaller cells), trials in parallel worker threads.
// Options: --workload google-2011|FILE.jsonl  --trials N (11)  --experiments all|sharing,bucketing,...
//          --sample FRACTION (keep that share of machines and tasks, evenly spaced)  --workers N  --seed N
//          --resolution FRACTION (search stop, of the cell; 0.0025)  --pool FACTOR (largest cell, 2)
//          --reserve-cpu F --reserve-ram F (non-prod reservation model)  --feasible-limit N  --out DIR  --json
//          --render DIR/report.json (re-write a saved run's report from its jobs, no compaction)
//          --cold-start (every trial searches from its fluid bound instead of from trial 0's answer)
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Benchmark } from '../main';
import { MAX_MACHINES_PER_CELL } from '../../cells/limits';
import { InvalidArgument } from '../../model/errors';
import { readGoogle2011 } from '../workloads/google_2011';
import { readJsonlWorkload } from '../workloads/jsonl';
import type { Workload } from '../workloads/types';
import { DEFAULT_FEASIBLE_LIMIT } from './compact';
import { DEFAULT_RESERVATION_MODEL, EXPERIMENTS, experimentArms, parseExperiments, type Experiment, type ReservationModel, type Variant } from './experiments';
import type { Job, JobContext, JobResult } from './job';
import { markdown, summarize, writeReport, type RunInfo } from './report';
import type { WorkerReply } from './worker';

const here = fileURLToPath(new URL('.', import.meta.url));
const TRACE_DIR = `${here}../workloads/data/google-2011`;
// A worker's entry module is loaded before the --import hooks apply there, so a small script registers tsx in the
// thread and then imports worker.ts.
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); });`;

interface Options {
  workload: string;
  trials: number;
  experiments: Experiment[];
  sample: number;
  workers: number;
  seed: number;
  resolution: number;
  pool: number;
  model: ReservationModel;
  feasibleLimit: number;
  out: string | undefined;
  json: boolean;
  /** render: re-write the report from a saved report.json (its jobs and its command) without compacting again. */
  render: string | undefined;
  /** warmStart: trials after the first start their search at trial 0's answer (scaled to their own fluid bound). */
  warmStart: boolean;
}

export function parseArgs(args: readonly string[]): Options {
  const o: Options = { workload: 'google-2011', trials: 11, experiments: [...EXPERIMENTS], sample: 1, workers: availableParallelism(), seed: 1, resolution: 0.0025, pool: 2, model: { ...DEFAULT_RESERVATION_MODEL }, feasibleLimit: DEFAULT_FEASIBLE_LIMIT, out: undefined, json: false, render: undefined, warmStart: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = (): string => {
      const x = args[++i];
      if (x === undefined) throw new InvalidArgument(a, 'needs a value');
      return x;
    };
    const int = (min: number): number => {
      const s = v();
      const x = Number(s);
      if (!Number.isSafeInteger(x) || x < min) throw new InvalidArgument(a, `${s} is not an integer >= ${min}`);
      return x;
    };
    const frac = (lo: number, hi: number): number => {
      const s = v();
      const x = Number(s);
      if (!Number.isFinite(x) || x <= lo || x > hi) throw new InvalidArgument(a, `${s} is not a number in (${lo}, ${hi}]`);
      return x;
    };
    switch (a) {
      case '--workload':
        o.workload = v();
        break;
      case '--trials':
        o.trials = int(1);
        break;
      case '--experiments':
        o.experiments = parseExperiments(v());
        break;
      case '--sample':
        o.sample = frac(0, 1);
        break;
      case '--workers':
        o.workers = int(1);
        break;
      case '--seed':
        o.seed = int(0);
        break;
      case '--resolution':
        o.resolution = frac(0, 0.5);
        break;
      case '--pool':
        o.pool = frac(0.999, 10);
        break;
      case '--reserve-cpu':
        o.model.cpuFraction = frac(0, 1);
        break;
      case '--reserve-ram':
        o.model.ramFraction = frac(0, 1);
        break;
      case '--feasible-limit':
        o.feasibleLimit = int(1);
        if (o.feasibleLimit > MAX_MACHINES_PER_CELL) throw new InvalidArgument(a, `at most ${MAX_MACHINES_PER_CELL} (cells/limits.ts MAX_MACHINES_PER_CELL)`);
        break;
      case '--out':
        o.out = v();
        break;
      case '--json':
        o.json = true;
        break;
      case '--render':
        o.render = v();
        break;
      case '--cold-start':
        o.warmStart = false;
        break;
      default:
        throw new InvalidArgument(a, 'unknown option');
    }
  }
  return o;
}

/** sampleWorkload keeps an evenly spaced share of machines and tasks, so a quick run keeps the cell's mix. */
function sampleWorkload(w: Workload, fraction: number): Workload {
  if (fraction >= 1) return w;
  const pick = <T>(xs: T[]): T[] => {
    const n = Math.max(1, Math.round(xs.length * fraction));
    const step = xs.length / n;
    return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)] as T);
  };
  return { ...w, machines: pick(w.machines), initial: pick(w.initial), later: [], notes: [...w.notes, `sampled: every ${(1 / fraction).toFixed(1)}th machine and task (fraction ${fraction})`] };
}

/**
 * jobsFor lists every (variant, trial, part) the chosen experiments need, each once: trial 0 of every variant
 * first (its answer is the other trials' starting point), then the rest; the costliest first within each.
 */
export function jobsFor(experiments: readonly Experiment[], trials: number, seed: number): Job[] {
  const variants = new Map<string, Variant>();
  for (const e of experiments) for (const arm of experimentArms(e)) for (const v of arm.variants) variants.set(v.id, v);
  const jobs: Job[] = [];
  for (const v of variants.values()) for (let t = 0; t < trials; t++) for (let p = 0; p < v.cells; p++) jobs.push({ variant: v, trial: t, part: p, seed: seed + t });
  const cost = (j: Job): number => (j.variant.accounting === 'limits' || j.variant.bucketed ? 1.3 : 1) / j.variant.cells / (j.variant.subset === 'all' ? 1 : 2);
  return jobs.sort((a, b) => (a.trial === 0 ? 0 : 1) - (b.trial === 0 ? 0 : 1) || cost(b) - cost(a));
}

/**
 * hintFrom: the starting point trials after the first get: the median over trial 0's parts of answer / fluid
 * bound (parts of a split cell are dealt at random, so part p of one trial has nothing to do with part p of
 * another; the median ratio of all of them is the best guess for any); null when a part did not fit.
 */
export function hintFrom(trial0: readonly JobResult[]): number | null {
  if (trial0.length === 0 || trial0.some((r) => !r.fits || r.lowerBoundMachines <= 0)) return null;
  const ratios = trial0.map((r) => r.machines / r.lowerBoundMachines).sort((a, b) => a - b);
  return ratios[Math.floor((ratios.length - 1) / 2)] as number;
}

/** Progress: a bar on a TTY stderr, otherwise one line per finished compaction. */
class Progress {
  private done = 0;
  private packings = 0;
  private readonly t0 = performance.now();
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly total: number) {}
  packing(): void {
    this.packings++;
    if (this.tty) this.draw('');
  }
  finished(r: JobResult): void {
    this.done++;
    const line = `${r.variantId} trial ${r.trial}${r.part > 0 || r.variantId.startsWith('cells-') ? ` cell ${r.part}` : ''}: ${r.machines} machines${r.fits ? '' : ' (did not fit)'}, ${r.packings} packings, ${r.wallSeconds.toFixed(1)} s`;
    if (this.tty) this.draw(line);
    else process.stderr.write(`[${this.done}/${this.total}] ${line}\n`);
  }
  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
  private draw(last: string): void {
    const width = 30;
    const filled = Math.round((width * this.done) / Math.max(1, this.total));
    const s = ((performance.now() - this.t0) / 1000).toFixed(0);
    const cols = process.stderr.columns ?? 120;
    process.stderr.write(`\r\x1b[K${`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} compactions, ${this.packings} packings, ${s} s  ${last}`.slice(0, cols - 1)}`);
  }
}

/**
 * runPool runs the jobs on `workers` worker threads, each holding the workload once. With warmStart, a job of a
 * later trial waits until trial 0 of its variant and part is done and starts its search at trial 0's answer
 * (as a multiple of the fluid bound); always trial 0's, whatever finished first, so a run is deterministic.
 */
async function runPool(ctx: JobContext, jobs: readonly Job[], workers: number, progress: Progress, warmStart: boolean): Promise<JobResult[]> {
  const results: JobResult[] = [];
  const remaining = [...jobs];
  // hint per variant, once every part of its trial 0 is done (hintFrom); null: start cold.
  const hints = new Map<string, number | null>();
  const trial0 = new Map<string, JobResult[]>();
  let waiters: (() => void)[] = [];
  const nextJob = async (): Promise<Job | undefined> => {
    for (;;) {
      if (remaining.length === 0) return undefined;
      const i = remaining.findIndex((j) => !warmStart || j.trial === 0 || hints.has(j.variant.id));
      if (i >= 0) {
        const job = remaining.splice(i, 1)[0] as Job;
        const h = warmStart && job.trial > 0 ? hints.get(job.variant.id) : undefined;
        return h === undefined || h === null ? job : { ...job, hintRatio: h };
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const n = Math.max(1, Math.min(workers, jobs.length));
  const threads: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: n }, async () => {
        const w = new Worker(WORKER_BOOT, { eval: true, workerData: ctx });
        threads.push(w);
        for (;;) {
          const job = await nextJob();
          if (job === undefined) break;
          const r = await new Promise<JobResult>((resolve, reject) => {
            const onMessage = (m: WorkerReply): void => {
              switch (m.kind) {
                case 'packing':
                  progress.packing();
                  return;
                case 'done':
                  w.off('message', onMessage);
                  w.off('error', reject);
                  resolve(m.result);
                  return;
                case 'error':
                  w.off('message', onMessage);
                  w.off('error', reject);
                  reject(new Error(`worker: ${m.message}`));
                  return;
              }
            };
            w.on('message', onMessage);
            w.once('error', reject);
            w.postMessage(job);
          });
          progress.finished(r);
          results.push(r);
          if (r.trial === 0) {
            const done = [...(trial0.get(r.variantId) ?? []), r];
            trial0.set(r.variantId, done);
            if (done.length === job.variant.cells) hints.set(r.variantId, hintFrom(done));
            const wake = waiters;
            waiters = [];
            for (const f of wake) f();
          }
        }
      }),
    );
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return results;
}

const COMMAND_PREFIX = 'npm run bench -- compaction';

interface SavedReport {
  command: string;
  run: Omit<RunInfo, 'jobs'>;
  jobs: JobResult[];
}

function isSavedReport(x: unknown): x is SavedReport {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r.command === 'string' && r.command.startsWith(COMMAND_PREFIX) && typeof r.run === 'object' && r.run !== null && Array.isArray(r.jobs);
}

/** rerender rebuilds the summary and report of a saved run from its jobs (the workload is read again for the fluid bounds). */
async function rerender(file: string, out: string | undefined): Promise<void> {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isSavedReport(parsed)) throw new InvalidArgument('--render', `${file} is not a compaction report.json`);
  const o = parseArgs(parsed.command.slice(COMMAND_PREFIX.length).trim().split(/\s+/).filter((x) => x !== ''));
  const w = sampleWorkload(await readWorkload(o.workload), o.sample);
  const info: RunInfo = { ...parsed.run, workloadNotes: [...parsed.run.workloadNotes, `report re-rendered from the saved jobs by \`${COMMAND_PREFIX} --render ${file}\` (no packing re-run)`], jobs: parsed.jobs };
  const summary = summarize(w.name, w.machines, w.initial, o.experiments, o.trials, o.model, parsed.jobs);
  const files = await writeReport(out ?? o.out ?? dirname(file), summary, info);
  process.stderr.write(`wrote ${files.join(', ')}\n`);
}

async function readWorkload(name: string): Promise<Workload> {
  if (name === 'google-2011') return readGoogle2011(TRACE_DIR, undefined, { laterLimit: 0 });
  const errors: string[] = [];
  const w = await readJsonlWorkload(name, errors);
  for (const e of errors) console.error(`${name}: ${e}`);
  return w;
}

async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  if (o.render !== undefined) return rerender(o.render, o.out);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const loadAverageStart = loadavg()[0] ?? 0;
  let w: Workload;
  w = sampleWorkload(await readWorkload(o.workload), o.sample);
  const ctx: JobContext = { machines: w.machines, tasks: w.initial, model: o.model, poolFactor: o.pool, resolutionFraction: o.resolution, feasibleLimit: o.feasibleLimit };
  const jobs = jobsFor(o.experiments, o.trials, o.seed);
  process.stderr.write(`compaction: ${w.name}, ${w.machines.length} machines, ${w.initial.length} tasks; ${jobs.length} compactions on ${Math.min(o.workers, jobs.length)} workers\n`);
  const progress = new Progress(jobs.length);
  const results = await runPool(ctx, jobs, o.workers, progress, o.warmStart);
  progress.end();
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const summary = summarize(w.name, w.machines, w.initial, o.experiments, o.trials, o.model, results);
  const info: RunInfo = {
    command: `npm run bench -- compaction ${args.join(' ')}`.trim(),
    workloadNotes: [...w.notes, ...Object.entries(w.skipped).map(([k, v]) => `skipped: ${v} ${k}`)],
    sample: o.sample,
    poolFactor: o.pool,
    resolutionFraction: o.resolution,
    feasibleLimit: o.feasibleLimit,
    workers: Math.min(o.workers, jobs.length),
    wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    loadAverage: loadavg()[0] ?? 0,
    loadAverageStart,
    jobs: results,
  };
  if (o.out !== undefined) {
    const files = await writeReport(o.out, summary, info);
    process.stderr.write(`wrote ${files.join(', ')}\n`);
  }
  if (o.json) {
    console.log(JSON.stringify({ ...summary, run: { ...info, jobs: undefined }, jobs: results }, null, 2));
    return;
  }
  console.log(markdown(summary, info));
}

const bench: Benchmark = {
  summary: 'compaction: B15 §5.1 smallest cell for the Google 2011 time-0 workload; sharing, bucketing, reclamation, policies, smaller cells',
  run,
};
export default bench;
