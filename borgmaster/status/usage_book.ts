// UsageBook holds the latest usage sample per task and per machine: soft state on each replica (DESIGN.md §5),
// filled by the link shards from Borglet poll replies and read by the status page and /metrics. Not replicated:
// after a failover the new leader's book fills again within one poll round. Bounded by STATUS_USAGE_ENTRIES (the
// samples that changed least recently go first).
// Task samples are also summed per group (the status source groups by priority band) as they arrive, so the
// cell-wide usage per band costs nothing at read time: looking up 100,000 task ids per page view would.
import { assert } from '../../model/assert';
import { validateResources, type Resources } from '../../model/resources';
import { STATUS_USAGE_ENTRIES } from '../../cells/limits';

export interface UsageSample {
  usage: Resources;
  sampledMs: number;
}

interface TaskSample extends UsageSample {
  group: string | undefined;
}

/** Classifier names a task's group when its sample is recorded (undefined: counted in no group, e.g. not running). */
export type UsageClassifier = (taskId: string) => string | undefined;

function addTo(total: Resources, r: Resources, sign: 1 | -1): void {
  total.cpuMillis += sign * r.cpuMillis;
  total.ramBytes += sign * r.ramBytes;
  total.diskBytes += sign * r.diskBytes;
  total.ports += sign * r.ports;
}

function sameUsage(a: Resources, b: Resources): boolean {
  return a.cpuMillis === b.cpuMillis && a.ramBytes === b.ramBytes && a.diskBytes === b.diskBytes && a.ports === b.ports;
}

export class UsageBook {
  private readonly tasks = new Map<string, TaskSample>();
  private readonly machines = new Map<string, UsageSample>();
  private readonly groups = new Map<string, Resources>();
  private classify: UsageClassifier | undefined;
  /** version changes whenever a sample is added or dropped, so readers can cache sums derived from the book. */
  private _version = 0;

  constructor(readonly capacity = STATUS_USAGE_ENTRIES) {
    assert(Number.isInteger(capacity) && capacity > 0, 'UsageBook capacity must be positive');
  }

  get version(): number {
    return this._version;
  }

  get size(): number {
    return this.tasks.size + this.machines.size;
  }

  /**
   * setClassifier sets how task samples are grouped and regroups what is held. A task keeps the group it had
   * when its sample arrived until its next sample (a job whose priority changed moves at the next poll).
   */
  setClassifier(classify: UsageClassifier): void {
    this.classify = classify;
    this.groups.clear();
    for (const [id, s] of this.tasks) {
      s.group = classify(id);
      this.addGroup(s, 1);
    }
    this._version++;
  }

  /**
   * recordTask keeps the newest sample of a task (an older one arriving late is ignored). A sample equal to the
   * one held only refreshes its time (a link shard reports every task every poll and most do not change): its
   * group stays, so a task whose group changes must be forgotten (the replica does so for every task a command
   * touched) and is classified afresh by its next sample.
   */
  recordTask(taskId: string, usage: Resources, sampledMs: number): void {
    const old = this.tasks.get(taskId);
    if (old !== undefined && old.sampledMs > sampledMs) return;
    if (old !== undefined && sameUsage(old.usage, usage)) {
      old.sampledMs = sampledMs;
      return;
    }
    const u = validateResources(usage, `usage of ${taskId}`);
    if (old !== undefined) this.dropTask(taskId, old);
    const s: TaskSample = { usage: u, sampledMs, group: this.classify?.(taskId) };
    this.tasks.set(taskId, s);
    this.addGroup(s, 1);
    this._version++;
    this.evict();
  }

  /** recordMachine keeps the newest sample of a machine; one equal to the sample held only refreshes its time. */
  recordMachine(machine: string, usage: Resources, sampledMs: number): void {
    const old = this.machines.get(machine);
    if (old !== undefined && old.sampledMs > sampledMs) return;
    if (old !== undefined && sameUsage(old.usage, usage)) {
      old.sampledMs = sampledMs;
      return;
    }
    const u = validateResources(usage, `usage of machine ${machine}`);
    this.machines.delete(machine);
    this.machines.set(machine, { usage: u, sampledMs });
    this._version++;
    this.evict();
  }

  /** touchMachine: the machine reported the same again at atMs (its sample, if held, is that recent). */
  touchMachine(machine: string, atMs: number): void {
    const s = this.machines.get(machine);
    if (s !== undefined && s.sampledMs < atMs) s.sampledMs = atMs;
  }

  /** forgetTask drops a task's sample (the task died or moved: its old usage no longer describes it). */
  forgetTask(taskId: string): void {
    const old = this.tasks.get(taskId);
    if (old === undefined) return;
    this.dropTask(taskId, old);
    this._version++;
  }

  forgetMachine(machine: string): void {
    if (this.machines.delete(machine)) this._version++;
  }

  task(taskId: string): Resources | undefined {
    return this.tasks.get(taskId)?.usage;
  }

  machine(name: string): Resources | undefined {
    return this.machines.get(name)?.usage;
  }

  /** machineSample: the machine's newest sample and when it last held (its Borglet's last answered poll). */
  machineSample(name: string): Readonly<UsageSample> | undefined {
    return this.machines.get(name);
  }

  /** groupUsage is the sum of the task samples in a group (a copy). */
  groupUsage(group: string): Resources {
    const g = this.groups.get(group);
    return g === undefined ? { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 } : { ...g };
  }

  private addGroup(s: TaskSample, sign: 1 | -1): void {
    if (s.group === undefined) return;
    let g = this.groups.get(s.group);
    if (g === undefined) {
      g = { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };
      this.groups.set(s.group, g);
    }
    addTo(g, s.usage, sign);
  }

  private dropTask(taskId: string, s: TaskSample): void {
    this.tasks.delete(taskId);
    this.addGroup(s, -1);
  }

  private evict(): void {
    // Oldest first out: Maps keep insertion order and every changed sample re-inserts, so the first key is the one
    // that changed least recently.
    while (this.size > this.capacity) {
      if (this.tasks.size > 0) {
        const first = this.tasks.entries().next();
        assert(first.done !== true, 'non-empty map has a first entry');
        this.dropTask(first.value[0], first.value[1]);
      } else {
        const first = this.machines.keys().next();
        assert(first.done !== true, 'non-empty map has a first key');
        this.machines.delete(first.value);
      }
    }
  }
}
