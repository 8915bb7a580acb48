// The cgroup v1 driver: one hierarchy per controller (memory, cpu, cpuacct, pids), possibly co-mounted (e.g.
// cpu,cpuacct). A task's group exists in each hierarchy under borg/<machine>/<task>; a process joins by writing
// its pid into every hierarchy's cgroup.procs.
import { join } from 'node:path';
import { assert } from '../../model/assert';
import { CFS_PERIOD_US } from '../../cells/limits';
import {
  assertGroupName,
  parseKeyed,
  parsePids,
  quotaUs,
  type CgroupDriver,
  type CgroupUsage,
  type MachineCgroupLimits,
  type TaskCgroupLimits,
} from './driver';
import { mkdirp, readNumber, readOptional, rmdirIfPresent, signalPids, sleepSync, subdirs, write } from './fsutil';

export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 'v1' as const;
  readonly description: string;
  /** base: controller -> <mount>/borg/<machine>. */
  private readonly base: Record<V1Controller, string>;
  /** dirs: the distinct hierarchies (co-mounted controllers share one). */
  private readonly dirs: string[];

  constructor(mounts: Record<V1Controller, string>, machine: string) {
    assertGroupName(machine);
    const base = {} as Record<V1Controller, string>;
    for (const c of V1_CONTROLLERS) base[c] = join(mounts[c], 'borg', machine);
    this.base = base;
    this.dirs = [...new Set(V1_CONTROLLERS.map((c) => base[c]))];
    this.description = `cgroup v1 (${this.dirs.join(', ')})`;
  }

  private path(c: V1Controller, name: string, file?: string): string {
    assertGroupName(name);
    return file === undefined ? join(this.base[c], name) : join(this.base[c], name, file);
  }

  setupMachine(limits: MachineCgroupLimits): void {
    for (const d of this.dirs) {
      const borgDir = join(d, '..');
      mkdirp(borgDir);
      mkdirp(d);
    }
    // Hierarchical accounting makes the machine's limit bind its tasks; it can only be switched while the group
    // has no children, and is already on where the root has it on (writes then fail harmlessly).
    const useHierarchy = join(this.base.memory, 'memory.use_hierarchy');
    if (readOptional(useHierarchy)?.trim() === '0') {
      try {
        write(useHierarchy, '1');
      } catch {
        // children exist already: the setting was made when they were created
      }
    }
    this.setMemory(this.base.memory, limits.memoryBytes);
    this.setQuota(this.base.cpu, limits.cpuMillis);
  }

  create(name: string): void {
    for (const d of this.dirs) mkdirp(join(d, name));
  }

  procsFiles(name: string): string[] {
    assertGroupName(name);
    return this.dirs.map((d) => join(d, name, 'cgroup.procs'));
  }

  setLimits(name: string, limits: TaskCgroupLimits): void {
    assert(limits.memoryBytes > 0 && limits.pidsMax > 0 && limits.cpuShares >= 2, 'task cgroup limits must be positive');
    this.setMemory(this.path('memory', name), limits.memoryBytes);
    write(this.path('cpu', name, 'cpu.shares'), String(limits.cpuShares));
    this.setQuota(this.path('cpu', name), limits.cpuQuotaMillis);
    write(this.path('pids', name, 'pids.max'), String(limits.pidsMax));
  }

  setCpuQuota(name: string, cpuQuotaMillis: number | null): void {
    this.setQuota(this.path('cpu', name), cpuQuotaMillis);
  }

  private setMemory(dir: string, bytes: number | null): void {
    const value = bytes === null ? '-1' : String(bytes);
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    const hasMemsw = readOptional(memsw) !== undefined;
    // memsw must stay >= the memory limit, so the order of the two writes depends on the direction of change.
    try {
      write(join(dir, 'memory.limit_in_bytes'), value);
      if (hasMemsw) write(memsw, value);
    } catch (e: unknown) {
      if (!hasMemsw) throw e;
      write(memsw, value);
      write(join(dir, 'memory.limit_in_bytes'), value);
    }
  }

  private setQuota(dir: string, cpuMillis: number | null): void {
    write(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    write(join(dir, 'cpu.cfs_quota_us'), cpuMillis === null ? '-1' : String(quotaUs(cpuMillis, CFS_PERIOD_US)));
  }

  usage(name: string): CgroupUsage {
    return this.usageAt((c) => this.path(c, name));
  }

  machineUsage(): CgroupUsage {
    return this.usageAt((c) => this.base[c]);
  }

  private usageAt(dirOf: (c: V1Controller) => string): CgroupUsage {
    const mem = dirOf('memory');
    const stat = parseKeyed(readOptional(join(mem, 'memory.stat')) ?? '');
    const usage = readNumber(join(mem, 'memory.usage_in_bytes'));
    const inactiveFile = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
    const cpuStat = parseKeyed(readOptional(join(dirOf('cpu'), 'cpu.stat')) ?? '');
    const oom = parseKeyed(readOptional(join(mem, 'memory.oom_control')) ?? '');
    return {
      memoryBytes: Math.max(0, usage - inactiveFile),
      cpuUsageNs: readNumber(join(dirOf('cpuacct'), 'cpuacct.usage')),
      cpuThrottledNs: cpuStat.get('throttled_time') ?? 0,
      nrThrottled: cpuStat.get('nr_throttled') ?? 0,
      oomKills: oom.get('oom_kill') ?? 0,
      // With memsw set equal to the limit, the charge can fail on either counter first.
      memoryLimitHits: readNumber(join(mem, 'memory.failcnt')) + readNumber(join(mem, 'memory.memsw.failcnt')),
    };
  }

  pids(name: string): number[] {
    assertGroupName(name);
    const all = new Set<number>();
    for (const d of this.dirs) for (const p of parsePids(readOptional(join(d, name, 'cgroup.procs')) ?? '')) all.add(p);
    return [...all];
  }

  members(name: string): number[] {
    return parsePids(readOptional(this.path('cpuacct', name, 'cgroup.procs')) ?? '');
  }

  list(): string[] {
    const names = new Set<string>();
    for (const d of this.dirs) for (const n of subdirs(d)) names.add(n);
    return [...names].sort();
  }

  exists(name: string): boolean {
    assertGroupName(name);
    return this.dirs.some((d) => readOptional(join(d, name, 'cgroup.procs')) !== undefined);
  }

  kill(name: string, signal: NodeJS.Signals): number {
    return signalPids(this.pids(name), signal);
  }

  remove(name: string): boolean {
    let all = true;
    for (const d of this.dirs) all = rmdirIfPresent(join(d, name)) && all;
    return all;
  }

  destroyMachine(timeoutMs = 5_000): void {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let busy = false;
      for (const name of this.list()) {
        this.kill(name, 'SIGKILL');
        busy = !this.remove(name) || busy;
      }
      if (!busy) break;
      if (Date.now() > deadline) throw new Error(`cgroups of ${this.dirs.join(', ')} still busy after ${timeoutMs}ms`);
      sleepSync(20);
    }
    for (const d of this.dirs) rmdirIfPresent(d);
  }
}
