// `npm run sim -- fauxmaster`: load a cell (a trace workload or a checkpoint) into the Fauxmaster and run one
// operation on it: schedule, what-if (update, drain, lose) or step through virtual time. Output is a table for
// people, or JSON with --json. Bad input is an InvalidArgument naming the option (exit 2).
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { FitPolicy } from '../../cells/config';
import { BorgError, InvalidArgument } from '../../model/errors';
import { evaluateFile } from '../../bcl/index';
import { readGoogle2011, DEFAULT_TRACE_SCALE } from '../../benchmarks/workloads/google_2011';
import { readJsonlWorkload } from '../../benchmarks/workloads/jsonl';
import type { Workload } from '../../benchmarks/workloads/types';
import type { JobSpec } from '../../proto/index';
import { Fauxmaster, type ScheduleReport } from './fauxmaster';
import { CellReplay, DEFAULT_RECLAIM, jsonlDepartures, loadWorkload, traceDepartures, workloadEvents, type ReplayEvent, type StepSample } from './replay';
import { whatIf, type Change, type TaskFate, type WhatIfResult } from './what_if';
import { jobsFor, type TaskRef } from './workload_cell';

const TRACE_DIR = fileURLToPath(new URL('../../benchmarks/workloads/data/google-2011', import.meta.url));
/** WHAT_IF_LIST_MAX: tasks listed per category in the table (JSON has them all). */
const WHAT_IF_LIST_MAX = 50;

export type Op =
  | { kind: 'schedule' }
  | { kind: 'what-if'; change: 'update'; file: string }
  | { kind: 'what-if'; change: 'drain' | 'lose'; machines: string[] }
  | { kind: 'step'; untilMs: number; passIntervalMs: number; sampleEveryMs: number };

export interface CliOptions {
  source: { kind: 'workload'; name: string } | { kind: 'checkpoint'; file: string };
  op: Op;
  seed: number;
  policy: FitPolicy;
  feasibleLimit: number;
  reclaim: boolean;
  json: boolean;
  user: string;
}

export const USAGE = `usage: npm run sim -- fauxmaster (--workload google-2011|FILE.jsonl | --checkpoint FILE) [options] OP
  OP:  schedule                              schedule every pending task; placed, pending, why pending
       what-if update FILE.bcl|FILE.jsonl    what a job update (or a new job) would preempt or leave pending
       what-if drain M[,M...]                what draining machines would move or leave pending
       what-if lose M[,M...]                 the same for machines failing (DOWN, tasks LOST)
       step --until T [--every T] [--pass-interval T] [--no-reclaim]
                                             replay arrivals and departures up to workload time T
  options: --seed S (1)  --policy worst|best|hybrid (hybrid)  --feasible-limit N (64)  --user U (BCL jobs' user)  --json
  times: 90s, 500ms, 5m, 1h (a bare number is seconds)`;

/** parseDuration reads 90s, 500ms, 5m, 1h or a bare number of seconds into milliseconds. */
export function parseDuration(s: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (m === null) throw new InvalidArgument(field, `${JSON.stringify(s)} is not a duration (90s, 500ms, 5m, 1h)`);
  const unit = m[2] ?? 's';
  const ms = Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
  if (!Number.isSafeInteger(Math.round(ms))) throw new InvalidArgument(field, `${s} is too large`);
  return Math.round(ms);
}

export function parseOptions(args: readonly string[]): CliOptions {
  let source: CliOptions['source'] | undefined;
  const o = { seed: 1, policy: 'hybrid' as FitPolicy, feasibleLimit: 64, reclaim: true, json: false, user: process.env.BORG_USER ?? 'ubar' };
  let untilMs: number | undefined;
  let passIntervalMs = 10_000;
  let sampleEveryMs = 60_000;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = (): string => {
      const x = args[++i];
      if (x === undefined) throw new InvalidArgument(a, 'needs a value');
      return x;
    };
    switch (a) {
      case '--workload':
        source = { kind: 'workload', name: v() };
        break;
      case '--checkpoint':
        source = { kind: 'checkpoint', file: v() };
        break;
      case '--seed': {
        const s = v();
        o.seed = Number(s);
        if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new InvalidArgument(a, `${s} is not an integer >= 0`);
        break;
      }
      case '--policy': {
        const p = v();
        if (p !== 'worst' && p !== 'best' && p !== 'hybrid') throw new InvalidArgument(a, `${p} is not worst, best or hybrid`);
        o.policy = p;
        break;
      }
      case '--feasible-limit': {
        const s = v();
        o.feasibleLimit = Number(s);
        if (!Number.isSafeInteger(o.feasibleLimit) || o.feasibleLimit < 1) throw new InvalidArgument(a, `${s} is not an integer >= 1`);
        break;
      }
      case '--until':
        untilMs = parseDuration(v(), a);
        break;
      case '--every':
        sampleEveryMs = parseDuration(v(), a);
        if (sampleEveryMs <= 0) throw new InvalidArgument(a, 'must be positive');
        break;
      case '--pass-interval':
        passIntervalMs = parseDuration(v(), a);
        if (passIntervalMs <= 0) throw new InvalidArgument(a, 'must be positive');
        break;
      case '--no-reclaim':
        o.reclaim = false;
        break;
      case '--user':
        o.user = v();
        break;
      case '--json':
        o.json = true;
        break;
      default:
        if (a.startsWith('--')) throw new InvalidArgument(a, 'unknown option');
        positional.push(a);
    }
  }
  if (source === undefined) throw new InvalidArgument('--workload or --checkpoint', `is required\n${USAGE}`);
  const [verb, what, arg, extra] = positional;
  let op: Op;
  if (verb === 'schedule' && what === undefined) op = { kind: 'schedule' };
  else if (verb === 'step' && what === undefined) {
    if (untilMs === undefined) throw new InvalidArgument('--until', 'is required by step');
    op = { kind: 'step', untilMs, passIntervalMs, sampleEveryMs };
  } else if (verb === 'what-if' && arg !== undefined && extra === undefined && (what === 'update' || what === 'drain' || what === 'lose')) {
    if (what === 'update') op = { kind: 'what-if', change: 'update', file: arg };
    else {
      const machines = arg.split(',').filter((m) => m !== '');
      if (machines.length === 0) throw new InvalidArgument(`what-if ${what}`, 'needs machine names');
      op = { kind: 'what-if', change: what, machines };
    }
  } else throw new InvalidArgument('operation', `${JSON.stringify(positional.join(' '))} is not an operation\n${USAGE}`);
  return { source, op, ...o };
}

async function readWorkload(name: string, later: boolean): Promise<{ w: Workload; departures: ReplayEvent[]; notes: string[] }> {
  if (name === 'google-2011') {
    const w = await readGoogle2011(TRACE_DIR, DEFAULT_TRACE_SCALE, { laterLimit: later ? Number.MAX_SAFE_INTEGER : 0 });
    if (!later) return { w, departures: [], notes: w.notes };
    const d = await traceDepartures(TRACE_DIR);
    return { w, departures: d.events, notes: [...w.notes, ...Object.entries(d.skipped).map(([k, n]) => `skipped: ${n} ${k}`)] };
  }
  const errors: string[] = [];
  let w: Workload;
  try {
    w = await readJsonlWorkload(name, errors);
  } catch (e: unknown) {
    throw new InvalidArgument('--workload', `cannot read ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { w, departures: later ? await jsonlDepartures(name) : [], notes: [...w.notes, ...errors.map((e) => `${name}: ${e}`)] };
}

/** jobFromFile: the job a what-if update proposes, from BCL (exactly one job) or JSONL task lines of one job. */
async function jobFromFile(file: string, cell: string, user: string): Promise<JobSpec> {
  let specs: JobSpec[];
  if (file.endsWith('.bcl')) specs = evaluateFile(file, { cell, user }).jobs;
  else {
    const errors: string[] = [];
    let w: Workload;
    try {
      w = await readJsonlWorkload(file, errors);
    } catch (e: unknown) {
      throw new InvalidArgument(file, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (errors.length > 0) throw new InvalidArgument(file, errors.join('; '));
    specs = jobsFor(cell, [...w.initial, ...w.later]).specs;
  }
  if (specs.length !== 1) throw new InvalidArgument(file, `describes ${specs.length} jobs; a what-if update takes exactly one`);
  return specs[0] as JobSpec;
}

function scheduleLines(r: ScheduleReport, seconds: number): string[] {
  const lines = [`schedule: placed ${r.placed} in ${r.passes} passes (${r.rejected} refused by the master, ${r.preempted} preempted): ${r.running} running, ${r.pending} pending (${seconds.toFixed(1)} s)`];
  if (r.whyPending.length > 0) {
    lines.push('why pending:', `  ${'TASKS'.padStart(8)}  REASON`);
    for (const h of r.whyPending.slice(0, 20)) lines.push(`  ${String(h.tasks).padStart(8)}  ${h.reason}`);
  }
  return lines;
}

function fateLines(title: string, list: readonly TaskFate[]): string[] {
  if (list.length === 0) return [`${title}: none`];
  const lines = [`${title}: ${list.length}`];
  for (const f of list.slice(0, WHAT_IF_LIST_MAX)) lines.push(`  ${f.taskId}  prio ${f.priority}  ${f.before || '-'} -> ${f.after || 'PENDING'}${f.why ? `  (${f.why})` : ''}`);
  if (list.length > WHAT_IF_LIST_MAX) lines.push(`  ... ${list.length - WHAT_IF_LIST_MAX} more (--json lists them all)`);
  return lines;
}

function whatIfLines(r: WhatIfResult): string[] {
  return [
    `what-if ${r.change}:`,
    ...fateLines('preempted', r.preempted),
    ...fateLines('moved', r.moved),
    ...fateLines('left pending', r.pending),
    ...fateLines('restarted by the update', r.updated),
    `after: ${r.schedule.running} running, ${r.schedule.pending} pending`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
}

function sampleLine(s: StepSample): string {
  return `${(s.timeMs / 1000).toFixed(0).padStart(7)}  ${String(s.running).padStart(8)}  ${String(s.pending).padStart(8)}  ${String(s.dead).padStart(8)}  ${String(s.placed).padStart(8)}  ${String(s.evicted).padStart(8)}  ${String(s.arrived).padStart(8)}  ${String(s.departed).padStart(8)}`;
}

/** runFauxmaster runs the CLI; print gets each output line. Returns the exit code (2: bad input). */
export async function runFauxmaster(args: readonly string[], print: (line: string) => void = (l) => console.log(l)): Promise<number> {
  try {
    return await run(parseOptions(args), print);
  } catch (e: unknown) {
    if (e instanceof BorgError) {
      console.error(`fauxmaster: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function run(o: CliOptions, print: (line: string) => void): Promise<number> {
  const t0 = performance.now();
  const fo = { seed: o.seed, policy: o.policy, feasibleLimit: o.feasibleLimit };
  let faux: Fauxmaster;
  let refs = new Map<string, TaskRef>();
  let events: ReplayEvent[] = [];
  let label: string;
  const notes: string[] = [];
  if (o.source.kind === 'checkpoint') {
    faux = await Fauxmaster.fromCheckpointFile(o.source.file, fo);
    label = `checkpoint ${o.source.file} (cell ${faux.state.cell} at log index ${faux.state.appliedIndex})`;
    if (o.op.kind === 'step') notes.push('a checkpoint has no workload to replay: step only advances time, reports reservations and schedules');
  } else {
    const { w, departures, notes: n } = await readWorkload(o.source.name, o.op.kind === 'step');
    notes.push(...n);
    const cell = o.source.name === 'google-2011' ? 'google-2011' : 'faux';
    ({ faux, refs } = loadWorkload(cell, w, fo));
    events = workloadEvents(w, departures);
    label = `workload ${w.name}`;
  }
  const c = faux.counts();
  const loaded = { source: label, machines: c.machines, jobs: c.jobs, running: c.running, pending: c.pending, loadSeconds: (performance.now() - t0) / 1000 };
  const t1 = performance.now();
  const scheduled = await faux.schedule({ settle: o.op.kind !== 'step' });
  const scheduleSeconds = (performance.now() - t1) / 1000;
  const text: string[] = [`fauxmaster: ${label}: ${loaded.machines} machines, ${loaded.jobs} jobs, ${loaded.running} running and ${loaded.pending} pending tasks (loaded in ${loaded.loadSeconds.toFixed(1)} s)`, ...scheduleLines(scheduled, scheduleSeconds)];
  let result: unknown = { loaded, schedule: scheduled, scheduleSeconds };
  switch (o.op.kind) {
    case 'schedule':
      break;
    case 'what-if': {
      const t2 = performance.now();
      const change: Change = o.op.change === 'update' ? { kind: 'update', spec: await jobFromFile(o.op.file, faux.state.cell, o.user) } : { kind: o.op.change, machines: o.op.machines };
      const r = await whatIf(faux, change);
      text.push(...whatIfLines(r), `(what-if in ${((performance.now() - t2) / 1000).toFixed(1)} s on a copy of the cell)`);
      result = { ...(result as object), whatIf: r };
      break;
    }
    case 'step': {
      const replay = new CellReplay(faux, refs, events, { passIntervalMs: o.op.passIntervalMs, reclaim: o.reclaim ? DEFAULT_RECLAIM : undefined });
      text.push(`step to ${o.op.untilMs / 1000} s: ${replay.pendingEvents} workload events, a pass every ${o.op.passIntervalMs / 1000} s, reservations ${o.reclaim ? `at ${DEFAULT_RECLAIM.cpuFraction} CPU / ${DEFAULT_RECLAIM.ramFraction} RAM of the limit after ${DEFAULT_RECLAIM.afterMs / 1000} s` : 'off'}`);
      text.push(`${'TIME s'.padStart(7)}  ${'RUNNING'.padStart(8)}  ${'PENDING'.padStart(8)}  ${'DEAD'.padStart(8)}  ${'PLACED'.padStart(8)}  ${'EVICTED'.padStart(8)}  ${'ARRIVED'.padStart(8)}  ${'DEPARTED'.padStart(8)}`);
      // The table is printed as the replay goes (these runs take minutes on the full trace).
      if (!o.json) {
        for (const l of text) print(l);
        text.length = 0;
      }
      const t2 = performance.now();
      const r = await replay.step(o.op.untilMs, o.op.sampleEveryMs, o.json ? undefined : (s) => print(sampleLine(s)));
      text.push(`(${((performance.now() - t2) / 1000).toFixed(1)} s wall)`);
      for (const [k, n] of Object.entries(r.skipped)) text.push(`skipped: ${n} ${k}`);
      for (const [k, n] of Object.entries(r.refused)) text.push(`refused at admission: ${n} ${k}`);
      result = { ...(result as object), samples: r.samples, skipped: r.skipped, refused: r.refused };
      break;
    }
  }
  for (const n of notes) text.push(`note: ${n}`);
  if (o.json) print(JSON.stringify({ ...(result as object), notes }, null, 2));
  else for (const l of text) print(l);
  return 0;
}
