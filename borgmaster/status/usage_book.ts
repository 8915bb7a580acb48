// UsageBook holds the latest usage sample per task and per machine: soft state on each replica (DESIGN.md §5),
// filled by the link shards from Borglet poll replies and read by the status page, /metrics and ListMachines. Not
// replicated through the log: each replica's link shard polls its share of the machines, and the replicas pass
// their own samples to each other (takeShare, refreshShare, acceptShare; the replica's ShareUsage), so that every
// replica's book covers the whole cell. After a failover the books fill again within a poll round. Bounded by
// STATUS_USAGE_ENTRIES (the samples that changed least recently go first).
// Task samples are also summed per group (the status source groups by priority band) as they arrive, so the
// cell-wide usage per band costs nothing at read time: looking up 100,000 task ids per page view would.
import { assert } from '../../model/assert';
import { InvalidArgument } from '../../model/errors';
import { validateResources, type Resources } from '../../model/resources';
import { STATUS_USAGE_ENTRIES } from '../../cells/limits';

export interface UsageSample {
  usage: Resources;
  sampledMs: number;
}

interface HeldSample extends UsageSample {
  /** own: taken by this replica's link shard (shared with the other replicas), not received from one of them. */
  own: boolean;
}

interface TaskSample extends HeldSample {
  group: string | undefined;
}

/** UsageShare is what one replica passes to the others: samples its link shard took (the ShareUsage request). */
export interface UsageShare {
  machines: { machine: string; usage: Resources; sampledMs: number }[];
  tasks: { taskId: string; usage: Resources; sampledMs: number }[];
}

/** Classifier names a task's group when its sample is recorded (undefined: counted in no group, e.g. not running). */
export type UsageClassifier = (taskId: string) => string | undefined;

function addTo(total: Resources, r: Resources, sign: 1 | -1): void {
  total.cpuMillis += sign * r.cpuMillis;
  total.ramBytes += sign * r.ramBytes;
  total.diskBytes += sign * r.diskBytes;
  total.ports += sign * r.ports;
}

/**
 * roll walks `map` on from `cursor` (from the start when undefined, and once more from the start at its end) over
 * at most n entries, hands the own samples among them to take, and returns where it stopped.
 */
function roll<T extends HeldSample>(map: Map<string, T>, cursor: Iterator<[string, T]> | undefined, n: number, take: (key: string, s: T) => void): Iterator<[string, T]> {
  let it = cursor ?? map.entries();
  let restarted = cursor === undefined;
  for (let i = 0; i < Math.min(n, map.size); ) {
    const r = it.next();
    if (r.done === true) {
      if (restarted) break;
      restarted = true;
      it = map.entries();
      continue;
    }
    i++;
    if (r.value[1].own) take(r.value[0], r.value[1]);
  }
  return it;
}

function checkTime(sampledMs: number, of: string): void {
  if (!Number.isSafeInteger(sampledMs) || sampledMs < 0) throw new InvalidArgument(`sampled time of ${of}`, `must be a time in milliseconds, got ${sampledMs}`);
}

function sameUsage(a: Resources, b: Resources): boolean {
  return a.cpuMillis === b.cpuMillis && a.ramBytes === b.ramBytes && a.diskBytes === b.diskBytes && a.ports === b.ports;
}

export class UsageBook {
  private readonly tasks = new Map<string, TaskSample>();
  private readonly machines = new Map<string, HeldSample>();
  /** outTasks, outMachines: own samples that changed since the last takeShare (insertion ordered). */
  private readonly outTasks = new Set<string>();
  private readonly outMachines = new Set<string>();
  /** machineCursor, taskCursor: where refreshShare goes on from (live Map iterators). */
  private machineCursor: Iterator<[string, HeldSample]> | undefined;
  private taskCursor: Iterator<[string, TaskSample]> | undefined;
  private readonly groups = new Map<string, { usage: Resources; tasks: number }>();
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
   * touched) and is classified afresh by its next sample. A changed sample goes out with the next share.
   */
  recordTask(taskId: string, usage: Resources, sampledMs: number): void {
    if (this.putTask(taskId, usage, sampledMs, true)) this.outTasks.add(taskId);
  }

  /**
   * recordMachine keeps the newest sample of a machine; one equal to the sample held only refreshes its time. It goes
   * out with the next share (it comes with a report that changed).
   */
  recordMachine(machine: string, usage: Resources, sampledMs: number): void {
    if (this.putMachine(machine, usage, sampledMs, true).own) this.outMachines.add(machine);
  }

  /** touchMachine: the machine reported the same again at atMs (its sample, if held, is that recent). */
  touchMachine(machine: string, atMs: number): void {
    const s = this.machines.get(machine);
    if (s === undefined || s.sampledMs >= atMs) return;
    s.sampledMs = atMs;
    s.own = true;
  }

  /**
   * takeShare hands out up to `max` of this replica's own samples that changed since the last share, and forgets
   * them as sent. Undefined: nothing changed.
   */
  takeShare(max: number): UsageShare | undefined {
    const share: UsageShare = { machines: [], tasks: [] };
    let n = 0;
    for (const name of this.outMachines) {
      if (n++ >= max) break;
      this.outMachines.delete(name);
      const s = this.machines.get(name);
      if (s?.own === true) share.machines.push({ machine: name, usage: s.usage, sampledMs: s.sampledMs });
    }
    for (const id of this.outTasks) {
      if (n++ >= max) break;
      this.outTasks.delete(id);
      const s = this.tasks.get(id);
      if (s?.own === true) share.tasks.push({ taskId: id, usage: s.usage, sampledMs: s.sampledMs });
    }
    return share.machines.length + share.tasks.length === 0 ? undefined : share;
  }

  /**
   * refreshShare hands out the next 1/`rounds` of this replica's own samples (at most `max`), changed or not, going
   * round the book: called once per share, every own sample goes out at least once every `rounds` shares, so a
   * replica that restarted or missed a share catches up on samples that have not changed since, a slice at a time.
   */
  refreshShare(rounds: number, max: number): UsageShare | undefined {
    const share: UsageShare = { machines: [], tasks: [] };
    this.machineCursor = roll(this.machines, this.machineCursor, Math.min(max, Math.ceil(this.machines.size / rounds)), (name, s) => {
      if (!this.outMachines.has(name)) share.machines.push({ machine: name, usage: s.usage, sampledMs: s.sampledMs });
    });
    this.taskCursor = roll(this.tasks, this.taskCursor, Math.min(max - share.machines.length, Math.ceil(this.tasks.size / rounds)), (id, s) => {
      if (!this.outTasks.has(id)) share.tasks.push({ taskId: id, usage: s.usage, sampledMs: s.sampledMs });
    });
    return share.machines.length + share.tasks.length === 0 ? undefined : share;
  }

  /**
   * acceptShare keeps the samples another replica took where they are newer than the ones held (the newest wins,
   * as for this replica's own). A sample that is not valid usage is dropped alone; returns how many were.
   */
  acceptShare(share: UsageShare): number {
    let dropped = 0;
    const keep = (put: () => void) => {
      try {
        put();
      } catch (e: unknown) {
        if (!(e instanceof InvalidArgument)) throw e;
        dropped++;
      }
    };
    for (const m of share.machines) keep(() => this.putMachine(m.machine, m.usage, m.sampledMs, false));
    for (const t of share.tasks) keep(() => this.putTask(t.taskId, t.usage, t.sampledMs, false));
    return dropped;
  }

  /** putTask keeps a task's sample if it is the newest; true when it replaced the held sample's usage. */
  private putTask(taskId: string, usage: Resources, sampledMs: number, own: boolean): boolean {
    checkTime(sampledMs, taskId);
    const old = this.tasks.get(taskId);
    if (old !== undefined && old.sampledMs > sampledMs) return false;
    if (old !== undefined && sameUsage(old.usage, usage)) {
      old.sampledMs = sampledMs;
      old.own = own;
      return false;
    }
    const u = validateResources(usage, `usage of ${taskId}`);
    if (old !== undefined) this.dropTask(taskId, old);
    const s: TaskSample = { usage: u, sampledMs, own, group: this.classify?.(taskId) };
    this.tasks.set(taskId, s);
    this.addGroup(s, 1);
    this._version++;
    this.evict();
    return true;
  }

  /** putMachine keeps a machine's sample if it is the newest; returns the sample held now. */
  private putMachine(machine: string, usage: Resources, sampledMs: number, own: boolean): HeldSample {
    checkTime(sampledMs, `machine ${machine}`);
    const old = this.machines.get(machine);
    if (old !== undefined && old.sampledMs > sampledMs) return old;
    if (old !== undefined && sameUsage(old.usage, usage)) {
      old.sampledMs = sampledMs;
      old.own = own;
      return old;
    }
    const s: HeldSample = { usage: validateResources(usage, `usage of machine ${machine}`), sampledMs, own };
    this.machines.delete(machine);
    this.machines.set(machine, s);
    this._version++;
    this.evict();
    return s;
  }

  /** forgetTask drops a task's sample (the task died or moved: its old usage no longer describes it). */
  forgetTask(taskId: string): void {
    const old = this.tasks.get(taskId);
    if (old === undefined) return;
    this.dropTask(taskId, old);
    this._version++;
  }

  forgetMachine(machine: string): void {
    this.outMachines.delete(machine);
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
    return g === undefined ? { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 } : { ...g.usage };
  }

  /** groupTasks: how many task samples the group's sum holds. */
  groupTasks(group: string): number {
    return this.groups.get(group)?.tasks ?? 0;
  }

  private addGroup(s: TaskSample, sign: 1 | -1): void {
    if (s.group === undefined) return;
    let g = this.groups.get(s.group);
    if (g === undefined) {
      g = { usage: { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 }, tasks: 0 };
      this.groups.set(s.group, g);
    }
    addTo(g.usage, s.usage, sign);
    g.tasks += sign;
  }

  private dropTask(taskId: string, s: TaskSample): void {
    this.tasks.delete(taskId);
    this.outTasks.delete(taskId);
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
        this.outMachines.delete(first.value);
      }
    }
  }
}
