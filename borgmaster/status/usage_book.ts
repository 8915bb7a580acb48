// UsageBook holds the latest usage sample per task and per machine: soft state on each replica (DESIGN.md §5),
// filled by the link shards from Borglet poll replies and read by the status page and /metrics. Not replicated:
// after a failover the new leader's book fills again within one poll round. Bounded by STATUS_USAGE_ENTRIES.
import { assert } from '../../model/assert';
import { validateResources, type Resources } from '../../model/resources';
import { STATUS_USAGE_ENTRIES } from '../../cells/limits';

export interface UsageSample {
  usage: Resources;
  sampledMs: number;
}

export class UsageBook {
  private readonly tasks = new Map<string, UsageSample>();
  private readonly machines = new Map<string, UsageSample>();
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

  /** recordTask keeps the newest sample of a task (an older one arriving late is ignored). */
  recordTask(taskId: string, usage: Resources, sampledMs: number): void {
    this.put(this.tasks, taskId, usage, sampledMs, `usage of ${taskId}`);
  }

  recordMachine(machine: string, usage: Resources, sampledMs: number): void {
    this.put(this.machines, machine, usage, sampledMs, `usage of machine ${machine}`);
  }

  /** forgetTask drops a task's sample (the task died or moved: its old usage no longer describes it). */
  forgetTask(taskId: string): void {
    if (this.tasks.delete(taskId)) this._version++;
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

  private put(map: Map<string, UsageSample>, key: string, usage: Resources, sampledMs: number, field: string): void {
    const u = validateResources(usage, field);
    const old = map.get(key);
    if (old !== undefined && old.sampledMs > sampledMs) return;
    map.delete(key);
    map.set(key, { usage: u, sampledMs });
    this._version++;
    // Oldest first out: Map keeps insertion order and put() re-inserts, so the first key is the stalest sample.
    while (this.size > this.capacity) {
      const victim = this.tasks.size > 0 ? this.tasks : this.machines;
      const first = victim.keys().next();
      assert(first.done !== true, 'non-empty map has a first key');
      victim.delete(first.value);
    }
  }
}
