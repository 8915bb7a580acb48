// Reader for Google's 2011 cluster trace (clusterdata-2011-2; format in README.md and the trace's schema.csv):
// gzip CSV without header, streamed line by line, bad rows counted and skipped. Produces the cell "at time 0":
// the machines present at time 0 and every task submitted at time 0 with requests, plus later submissions.
//
// Attribution: Google cluster-usage traces (clusterdata-2011-2), C. Reiss, J. Wilkes, J. L. Hellerstein,
// Google Inc., 2011, CC-BY 4.0.
import { join } from 'node:path';
import { GiB, TiB } from '../../model/resources';
import { readLines } from './lines';
import { countSkip, type Workload, type WorkloadMachine, type WorkloadTask } from './types';

/**
 * TraceScale turns the trace's normalised units (the largest machine is 1.0) into absolute ones. The default,
 * 1.0 CPU = 32 cores and 1.0 memory = 128 GiB, makes the common machine (0.5, 0.5) 16 cores and 64 GiB. The
 * trace has no machine disk or ports: every machine gets 1.0 disk (2 TiB) and `machinePorts` ports.
 */
export interface TraceScale {
  cpuMillisPerUnit: number;
  ramBytesPerUnit: number;
  diskBytesPerUnit: number;
  machinePorts: number;
  /** machinesPerRack, racksPerPowerDomain: the trace has no topology; racks are made in machine-id order. */
  machinesPerRack: number;
  racksPerPowerDomain: number;
}

export const DEFAULT_TRACE_SCALE: Readonly<TraceScale> = Object.freeze({
  cpuMillisPerUnit: 32_000,
  ramBytesPerUnit: 128 * GiB,
  diskBytesPerUnit: 2 * TiB,
  machinePorts: 1_000,
  machinesPerRack: 40,
  racksPerPowerDomain: 10,
});

/**
 * tracePriority maps the trace's 0-11 onto the project's bands, keeping order and the prod line (9-11 prod):
 * 0-1 free (0, 1); 2-8 batch (100..112); 9, 10 production (200, 250); 11 monitoring (360).
 */
export function tracePriority(p: number): number {
  if (p <= 1) return p;
  if (p <= 8) return 100 + (p - 2) * 2;
  if (p === 9) return 200;
  if (p === 10) return 250;
  return 360;
}


const INT = /^-?\d+$/;

function intField(s: string | undefined): number | undefined {
  if (s === undefined || !INT.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function floatField(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

interface MachineRow {
  id: number;
  platform: string;
  cpu: number;
  ram: number;
}

/** readMachinesAtTime0 replays machine_events rows with time 0 (ADD, REMOVE, UPDATE) and returns the survivors. */
export async function readMachinesAtTime0(path: string, skipped: Record<string, number>): Promise<MachineRow[]> {
  const present = new Map<number, MachineRow>();
  for await (const line of readLines(path)) {
    const f = line.split(',');
    if (f.length !== 6) {
      countSkip(skipped, 'machine_events: wrong number of fields');
      continue;
    }
    const time = intField(f[0]);
    const id = intField(f[1]);
    const type = intField(f[2]);
    if (time === undefined || id === undefined || type === undefined) {
      countSkip(skipped, 'machine_events: bad time, id or type');
      continue;
    }
    if (time > 0) break; // rows are in time order; only the cell at time 0 is wanted
    if (type === 1) {
      present.delete(id);
      continue;
    }
    const cpu = floatField(f[4]);
    const ram = floatField(f[5]);
    if (cpu === undefined || ram === undefined || cpu === 0 || ram === 0) {
      countSkip(skipped, 'machine_events: empty capacity');
      continue;
    }
    if (type !== 0 && type !== 2) {
      countSkip(skipped, 'machine_events: unknown event type');
      continue;
    }
    present.set(id, { id, platform: f[3] ?? '', cpu, ram });
  }
  return [...present.values()].sort((a, b) => a.id - b.id);
}

export interface TaskReadOptions {
  /** laterLimit: how many post-time-0 submissions to keep (the online passes need a few thousand). */
  laterLimit: number;
}

/**
 * readTasks reads task_events: SUBMIT rows at time 0 with cpu and memory requests become the initial tasks;
 * SUBMIT rows after time 0 become `later` (up to laterLimit). A (job, index) submitted twice keeps the first.
 */
export async function readTasks(path: string, scale: TraceScale, opts: TaskReadOptions, skipped: Record<string, number>): Promise<{ initial: WorkloadTask[]; later: WorkloadTask[] }> {
  const initial: WorkloadTask[] = [];
  const later: WorkloadTask[] = [];
  const seen = new Set<string>();
  for await (const line of readLines(path)) {
    const f = line.split(',');
    if (f.length !== 13) {
      countSkip(skipped, 'task_events: wrong number of fields');
      continue;
    }
    const type = intField(f[5]);
    if (type !== 0) continue; // only submissions describe a task to schedule
    const time = intField(f[0]);
    const job = intField(f[2]);
    const index = intField(f[3]);
    const prio = intField(f[8]);
    if (time === undefined || job === undefined || index === undefined || prio === undefined || prio < 0 || prio > 11) {
      countSkip(skipped, 'task_events: bad time, job, index or priority');
      continue;
    }
    if (time > 0 && later.length >= opts.laterLimit) continue;
    const cpu = floatField(f[9]);
    const ram = floatField(f[10]);
    const disk = floatField(f[11]) ?? 0;
    if (cpu === undefined || ram === undefined) {
      countSkip(skipped, 'task_events: empty cpu or memory request');
      continue;
    }
    const key = `${job}/${index}`;
    if (seen.has(key)) {
      countSkip(skipped, 'task_events: resubmission of a known task');
      continue;
    }
    seen.add(key);
    const task: WorkloadTask = {
      job: `j${job}`,
      user: `u${(f[6] ?? '').slice(0, 12)}`,
      index,
      priority: tracePriority(prio),
      limit: {
        cpuMillis: Math.max(1, Math.round(cpu * scale.cpuMillisPerUnit)),
        ramBytes: Math.max(1, Math.round(ram * scale.ramBytesPerUnit)),
        diskBytes: Math.round(disk * scale.diskBytesPerUnit),
        ports: 0,
      },
      constraints: [],
      // The different-machines restriction: no two tasks of the job on one machine.
      spread: { maxPerMachine: f[12] === '1' ? 1 : 0, maxPerRack: 0, maxPerPowerDomain: 0 },
      submitMs: Math.floor(time / 1000),
    };
    if (time === 0) initial.push(task);
    else later.push(task);
  }
  return { initial, later };
}

/** readGoogle2011 reads the cell at time 0 from a directory laid out like the trace (machine_events/, task_events/). */
export async function readGoogle2011(dir: string, scale: TraceScale = DEFAULT_TRACE_SCALE, opts: TaskReadOptions = { laterLimit: 50_000 }): Promise<Workload> {
  const skipped: Record<string, number> = {};
  const rows = await readMachinesAtTime0(join(dir, 'machine_events', 'part-00000-of-00001.csv.gz'), skipped);
  const machines: WorkloadMachine[] = rows.map((r, i) => {
    const rack = Math.floor(i / scale.machinesPerRack);
    return {
      name: `m${r.id}`,
      capacity: {
        cpuMillis: Math.round(r.cpu * scale.cpuMillisPerUnit),
        ramBytes: Math.round(r.ram * scale.ramBytesPerUnit),
        diskBytes: scale.diskBytesPerUnit,
        ports: scale.machinePorts,
      },
      attributes: r.platform ? { platform: r.platform.slice(0, 12) } : ({} as Record<string, string>),
      rack: `r${rack}`,
      powerDomain: `p${Math.floor(rack / scale.racksPerPowerDomain)}`,
    };
  });
  const { initial, later } = await readTasks(join(dir, 'task_events', 'part-00000-of-00500.csv.gz'), scale, opts, skipped);
  return {
    name: 'google-2011',
    machines,
    initial,
    later,
    skipped,
    notes: [
      `scale: 1.0 cpu = ${scale.cpuMillisPerUnit / 1000} cores, 1.0 memory = ${scale.ramBytesPerUnit / GiB} GiB, machine disk ${scale.diskBytesPerUnit / TiB} TiB, ${scale.machinePorts} ports`,
      `topology (not in the trace): racks of ${scale.machinesPerRack} machines in machine-id order, ${scale.racksPerPowerDomain} racks per power domain`,
      'priorities: trace 0-1 -> 0-1 (free), 2-8 -> 100-112 (batch), 9 -> 200, 10 -> 250 (prod), 11 -> 360 (monitoring)',
      'spread: the different-machines restriction becomes at most 1 task of the job per machine',
      'Google cluster-usage traces (clusterdata-2011-2), C. Reiss, J. Wilkes, J. L. Hellerstein, Google Inc., 2011, CC-BY 4.0',
    ],
  };
}
