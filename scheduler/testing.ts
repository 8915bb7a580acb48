// A small-cell builder for the scheduler's tests: machines and tasks from terse descriptions, names interned in
// the snapshot, so table tests read like the cells they describe.
import { GiB } from '../model/resources';
import type { SchedulerConfig } from '../cells/config';
import { SeededRng } from '../model/rng';
import { VirtualClock } from '../model/clock';
import { CellSnapshot } from './snapshot';
import { Scheduler, type SchedulerTuning } from './scheduler';
import { PendingQueue } from './pending_queue';
import { MACHINE_UP, NO_SPREAD, type ConstraintOp, type MachineStateCode, type SchedTask, type SpreadLimits } from './types';

export interface MachineDesc {
  cpu?: number;
  ramGiB?: number;
  disk?: number;
  ports?: number;
  attrs?: Record<string, string>;
  rack?: string;
  power?: string;
  state?: MachineStateCode;
}

export interface TaskDesc {
  job?: string;
  user?: string;
  priority?: number;
  cpu?: number;
  ramGiB?: number;
  disk?: number;
  ports?: number;
  constraints?: [string, ConstraintOp, ...string[]][];
  spread?: Partial<SpreadLimits>;
}

export function config(over: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return { policy: 'hybrid', scoreCaching: true, equivalenceClasses: true, relaxedRandomization: true, feasibleLimit: 64, passIntervalMs: 0, seed: 1, ...over };
}

export class TestCell {
  readonly snap = new CellSnapshot();
  readonly queue = new PendingQueue();
  private nextTask = 1;
  readonly clock = new VirtualClock(1_000_000);

  /** machine adds machine `id` (ids are the caller's numbers; use 1, 2, 3 ...). */
  machine(id: number, d: MachineDesc = {}): this {
    this.snap.addMachine({
      id,
      capacity: { cpuMillis: d.cpu ?? 4000, ramBytes: (d.ramGiB ?? 16) * GiB, diskBytes: d.disk ?? 0, ports: d.ports ?? 0 },
      attributes: Object.entries(d.attrs ?? {}).map(([k, v]) => [this.snap.attrKeys.id(k), this.snap.attrValues.id(v)] as const),
      rack: this.snap.racks.id(d.rack ?? 'r0'),
      powerDomain: this.snap.powerDomains.id(d.power ?? 'p0'),
      state: d.state ?? MACHINE_UP,
    });
    return this;
  }

  task(d: TaskDesc = {}): SchedTask {
    const user = d.user ?? 'u';
    return {
      id: this.nextTask++,
      job: this.snap.jobs.id(`${user}/${d.job ?? 'j'}`),
      user: this.snap.users.id(user),
      priority: d.priority ?? 200,
      limit: { cpuMillis: d.cpu ?? 1000, ramBytes: Math.round((d.ramGiB ?? 1) * GiB), diskBytes: d.disk ?? 0, ports: d.ports ?? 0 },
      constraints: (d.constraints ?? []).map(([k, op, ...vals]) => ({ key: this.snap.attrKeys.id(k), op, values: vals.map((v) => this.snap.attrValues.id(v)) })),
      spread: { ...NO_SPREAD, ...d.spread },
    };
  }

  /** place puts a new task on a machine directly (what the master reports as running). */
  place(machine: number, d: TaskDesc = {}): SchedTask {
    const t = this.task(d);
    this.snap.placeTask(t, machine);
    return t;
  }

  submit(d: TaskDesc = {}): SchedTask {
    const t = this.task(d);
    this.queue.add(t);
    return t;
  }

  scheduler(over: Partial<SchedulerConfig> = {}, seed = 1, tuning: Partial<SchedulerTuning> = {}): Scheduler {
    return new Scheduler(config(over), new SeededRng(seed), this.clock, tuning);
  }
}
