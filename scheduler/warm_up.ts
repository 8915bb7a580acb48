// warmUp runs the scheduler's own code paths on a small synthetic cell (fills, preemptions, rechecks after a burst
// of evictions, drains) so V8 has type feedback for all of them before the first real pass (measured in README).
import { assert } from '../model/assert';
import type { SchedulerConfig } from '../cells/config';
import type { Clock } from '../model/clock';
import { SeededRng } from '../model/rng';
import { PendingQueue } from './pending_queue';
import { Scheduler, type SchedulerTuning } from './scheduler';
import { CellSnapshot } from './snapshot';
import { REASON_INSUFFICIENT_DISK } from './filters/resources';
import { MACHINE_DRAINING, MACHINE_UP, OP_EQ, OP_NE, type SchedConstraint, type SchedTask } from './types';

/**
 * Why: a scheduler that starts with a bulk pass on an empty cell never preempts in it, so the optimizing compiler
 * builds the hot functions without feedback for the preemption and recheck paths; the first online passes then
 * deoptimize them and pay for compiling them again (measured: 80-130 ms CPU in each of the first two online
 * passes, against 35-50 ms later; `--trace-deopt` shows "Insufficient type feedback" bailouts in evaluate, the
 * victim search, commit and the snapshot's charge). Running every path once on a throwaway cell at startup
 * gives the compiler that feedback. It touches no state of the caller's cell or scheduler.
 */
export const WARM_UP_ROUNDS = 12;
const WARM_UP_MACHINES = 96;
/**
 * WARM_UP_ARRIVALS: preempting arrivals per round. 160 rather than 40 makes the preemption and recheck paths hot
 * enough to be optimized before the first real pass (measured: first online pass 21-25 ms wall instead of 25-41,
 * for 0.5 s of warm-up CPU instead of 0.3 s).
 */
const WARM_UP_ARRIVALS = 160;
/** WARM_UP_FEASIBLE_LIMIT: the warm-up scheduler's feasible-machine limit (see warmUp). */
const WARM_UP_FEASIBLE_LIMIT = 16;
/** WARM_UP_SMALL_CLASSES: classes per round small enough to fit on most machines after a burst of finished tasks. */
const WARM_UP_SMALL_CLASSES = 8;
const GiB = 1024 * 1024 * 1024;
/**
 * WARM_UP_DISK_BYTES: the disk asked by every third job. The fill's disk exceeds the cell's, so classes meet
 * machines short of disk alone: a path the trace's first online passes took while the warm-up had no disk
 * (`--trace-deopt`: evaluate bailed out on "Insufficient type feedback for call" where a free-tier class is
 * told why a machine does not fit, and ran unoptimized through the first pass).
 */
const WARM_UP_DISK_BYTES = 80 * GiB;
/**
 * The warm-up's clock stands still at an epoch time like a real clock's (not 0): a time kept in a field then has
 * the representation real passes give it (a double, not a small integer), so they do not deoptimize what it taught.
 */
const WARM_UP_NOW_MS = Date.UTC(2026, 0, 1);
const fixedClock: Clock = { nowMs: () => WARM_UP_NOW_MS };

export interface WarmUpReport {
  passes: number;
  placed: number;
  preemptions: number;
  supersetRechecks: number;
  /** diskShortVerdicts: verdicts (tasks, over all passes) naming machines short of disk. */
  diskShortVerdicts: number;
  pending: number;
}

/**
 * warmUp runs WARM_UP_ROUNDS rounds of passes with `config` and `tuning` on its own 96-machine cell: a fill with
 * free and batch tasks, then prod and high-batch arrivals that preempt, finished tasks that free machines, a
 * drain and a machine back up. Deterministic (its own seeded Rng and a fixed clock); returns what it exercised.
 */
export function warmUp(config: SchedulerConfig, tuning: Partial<SchedulerTuning> = {}, rounds = WARM_UP_ROUNDS): WarmUpReport {
  assert(Number.isInteger(rounds) && rounds >= 0, 'warmUp rounds must be a non-negative integer');
  const snap = new CellSnapshot();
  const rng = new SeededRng(1);
  // A 96-machine cell rarely holds more feasible machines than the cell's limit (64 by default), so the warm-up
  // scheduler keeps fewer: the paths that trim a long view to a sample (keepBest) run too.
  const sched = new Scheduler({ ...config, feasibleLimit: Math.min(config.feasibleLimit, WARM_UP_FEASIBLE_LIMIT) }, rng, fixedClock, tuning);
  const queue = new PendingQueue();
  const arch = snap.attrKeys.id('arch');
  const x86 = snap.attrValues.id('x86');
  const arm = snap.attrValues.id('arm64');
  for (let i = 0; i < WARM_UP_MACHINES; i++) {
    snap.addMachine({
      id: i + 1,
      capacity: { cpuMillis: 4000 + (i % 4) * 2000, ramBytes: (8 + (i % 3) * 8) * GiB, diskBytes: (100 + (i % 2) * 100) * GiB, ports: 0 },
      attributes: [[arch, i % 5 === 0 ? arm : x86]],
      rack: snap.racks.id(`r${i % 8}`),
      powerDomain: snap.powerDomains.id(`p${i % 2}`),
      state: MACHINE_UP,
    });
  }
  let nextId = 1;
  const task = (job: number, user: number, priority: number, cpuMillis: number, ramGiB: number, constraints: readonly SchedConstraint[], maxPerMachine: number): SchedTask => ({
    id: nextId++,
    job: snap.jobs.id(`warm-up/${job}`),
    user: snap.users.id(`warm-up-${user}`),
    priority,
    // Every third job asks for disk, which runs out before cpu and ram on some machines (as on the 2011 trace's).
    limit: { cpuMillis, ramBytes: Math.round(ramGiB * GiB), diskBytes: job % 3 === 0 ? WARM_UP_DISK_BYTES : 0, ports: 0 },
    constraints,
    spread: { maxPerMachine, maxPerRack: 0, maxPerPowerDomain: 0 },
  });
  const onX86: readonly SchedConstraint[] = [{ key: arch, op: OP_EQ, values: [x86] }];
  const notX86: readonly SchedConstraint[] = [{ key: arch, op: OP_NE, values: [x86] }];
  const none: readonly SchedConstraint[] = [];
  // The fill: more free-tier and batch work than fits, so classes exhaust and leftovers wait with verdicts.
  // Every room kind's path (room_index.ts): priorities 0 and 1 (the trace's two free levels), the rest of the free
  // band, batch; prod arrives below.
  const fillPriorities = [0, 1, 25, 100];
  for (let i = 0; i < 1200; i++) {
    const p = fillPriorities[i % 4] as number;
    queue.add(task(i % 9, i % 4, p === 100 ? 100 + (i % 5) : p, 500 + (i % 7) * 250, 1 + (i % 5) * 0.5, i % 11 === 0 ? onX86 : none, i % 13 === 0 ? 2 : 0));
  }
  const report: WarmUpReport = { passes: 0, placed: 0, preemptions: 0, supersetRechecks: 0, diskShortVerdicts: 0, pending: 0 };
  const pass = (): void => {
    const plan = sched.schedulePass(snap, queue);
    report.passes++;
    report.placed += plan.assignments.length;
    report.preemptions += plan.stats.preemptions;
    report.supersetRechecks += plan.stats.supersetRechecks;
    for (const v of plan.verdicts) if (v.why.includes(REASON_INSUFFICIENT_DISK)) report.diskShortVerdicts++;
    for (const b of plan.parked) if (b.why.includes(REASON_INSUFFICIENT_DISK)) report.diskShortVerdicts += b.taskIds.length;
    report.pending = plan.stats.pending;
  };
  pass();
  const placed: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Arrivals above what runs: prod (preempts all non-prod) and high batch (preempts free and lower batch).
    for (let i = 0; i < WARM_UP_ARRIVALS; i++) {
      const prod = (i + r) % 2 === 0;
      queue.add(task(20 + (i % 6), i % 3, prod ? 200 + (r % 3) * 60 : 110 + (r % 4), 1000 + (i % 5) * 500, 1 + (i % 4), i % 7 === 0 ? notX86 : none, 0));
    }
    pass();
    // A burst of finished tasks frees many machines at once (the exhausted classes recheck them).
    placed.length = 0;
    snap.forEachPlaced((t) => placed.push(t.id));
    placed.sort((a, b) => a - b);
    for (let i = r % 3; i < placed.length; i += 3) snap.removeTask(placed[i] as number);
    // Small tasks of new classes then fit on most of the cell: their views hold more machines than a class keeps
    // (candidate lists grow, and keepBest trims them to a sample), a path the trace's first online passes take.
    for (let i = 0; i < WARM_UP_SMALL_CLASSES; i++) queue.add(task(40 + i, i % 3, 340, 10 + i + r, 0.01, none, 0));
    const m = (r * 7) % WARM_UP_MACHINES;
    snap.setMachineState(m + 1, MACHINE_DRAINING);
    pass();
    snap.setMachineState(m + 1, MACHINE_UP);
    pass();
  }
  return report;
}
