// The one interface the Borglet uses to put tasks into cgroups, limit them and read their usage. A v1 driver
// (separate hierarchies per controller) and a v2 driver (unified hierarchy) implement it; detect.ts picks one.
// Every group lives under <hierarchy>/borg/<machine>/<task>, so several Borglets on one host never collide and
// a restarted Borglet finds (and cleans up) exactly the groups it made.
import { assert } from '../../model/assert';

export type CgroupVersion = 'v1' | 'v2';

/** TaskCgroupLimits are what the Borglet sets on a task's group. cpuQuotaMillis null means no CFS quota. */
export interface TaskCgroupLimits {
  memoryBytes: number;
  cpuShares: number;
  cpuQuotaMillis: number | null;
  pidsMax: number;
}

/** MachineCgroupLimits bound the whole logical machine, so an overridden capacity is enforced by the kernel. */
export interface MachineCgroupLimits {
  memoryBytes: number | null;
  cpuMillis: number | null;
}

/** CgroupUsage is read from the group's files. Counters are cumulative over the group's life. */
export interface CgroupUsage {
  /** memoryBytes is the working set: usage minus inactive file cache (what the kernel cannot drop cheaply). */
  memoryBytes: number;
  cpuUsageNs: number;
  cpuThrottledNs: number;
  nrThrottled: number;
  oomKills: number;
  /** memoryLimitHits counts allocations that hit the limit (v1 memory.failcnt, v2 memory.events max). */
  memoryLimitHits: number;
}

export interface CgroupDriver {
  readonly version: CgroupVersion;
  /** description names the hierarchy paths, for the machine facts and logs. */
  readonly description: string;
  /** setupMachine creates borg/<machine> (and borg/) and applies the machine-wide limits. Idempotent. */
  setupMachine(limits: MachineCgroupLimits): void;
  /** create makes the task's group in every hierarchy. Idempotent. */
  create(name: string): void;
  /** procsFiles are the cgroup.procs files a process writes its own pid into to join the task's group. */
  procsFiles(name: string): string[];
  setLimits(name: string, limits: TaskCgroupLimits): void;
  setCpuQuota(name: string, cpuQuotaMillis: number | null): void;
  usage(name: string): CgroupUsage;
  machineUsage(): CgroupUsage;
  /** pids lists the processes in the task's group in any hierarchy (empty if the group does not exist). */
  pids(name: string): number[];
  /** members lists the processes per one hierarchy only: cheaper, for sampling (pids() is for killing). */
  members(name: string): number[];
  /** list names every task group under this machine, in any hierarchy. */
  list(): string[];
  exists(name: string): boolean;
  /** kill sends a signal to every process of the group; returns how many were signalled. */
  kill(name: string, signal: NodeJS.Signals): number;
  /** remove deletes the group from every hierarchy; false if processes are still in it (retry later). */
  remove(name: string): boolean;
  /** destroyMachine SIGKILLs everything under borg/<machine> and removes every group, the machine's too. */
  destroyMachine(timeoutMs?: number): void;
}

export const CGROUP_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,200}$/;

export function assertGroupName(name: string): void {
  assert(CGROUP_NAME_PATTERN.test(name), `bad cgroup name ${JSON.stringify(name)}`);
}

/** sharesFromCpuMillis maps a CPU request to v1 cpu.shares (1024 per core, as Kubernetes does; minimum 2). */
export function sharesFromCpuMillis(cpuMillis: number): number {
  return Math.min(262_144, Math.max(2, Math.round((cpuMillis * 1024) / 1000)));
}

/** weightFromShares converts v1 shares to v2 cpu.weight with the kernel's documented linear mapping. */
export function weightFromShares(shares: number): number {
  const s = Math.min(262_144, Math.max(2, shares));
  return Math.max(1, Math.min(10_000, 1 + Math.floor(((s - 2) * 9_999) / 262_142)));
}

/** quotaUs turns millicores into a CFS quota for the given period (at least the kernel's 1 ms minimum). */
export function quotaUs(cpuMillis: number, periodUs: number): number {
  return Math.max(1_000, Math.round((cpuMillis * periodUs) / 1000));
}

/** parseKeyed reads "key value" lines (memory.stat, cpu.stat, memory.events, oom_control). */
export function parseKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** parsePids reads a cgroup.procs file. */
export function parsePids(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) if (/^\d+$/.test(line.trim())) out.push(Number(line.trim()));
  return out;
}
