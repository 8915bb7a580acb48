// The cgroup v2 driver: one unified hierarchy. Controllers must be enabled in every ancestor's
// cgroup.subtree_control, and processes live only in leaves (the "no internal processes" rule), so borg/ and
// borg/<machine> hold no processes, only task groups.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../model/assert';
import { CFS_PERIOD_US } from '../../cells/limits';
import {
  assertGroupName,
  parseKeyed,
  parsePids,
  quotaUs,
  weightFromShares,
  type CgroupDriver,
  type CgroupUsage,
  type MachineCgroupLimits,
  type TaskCgroupLimits,
} from './driver';
import { mkdirp, readNumber, readOptional, rmdirIfPresent, signalPids, sleepSync, subdirs, write } from './fsutil';

/** V2_CONTROLLERS are the controllers the Borglet enables for its subtree when the host offers them. */
export const V2_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 'v2' as const;
  readonly description: string;
  private readonly borgDir: string;
  private readonly base: string;

  constructor(
    private readonly root: string,
    machine: string,
  ) {
    assertGroupName(machine);
    this.borgDir = join(root, 'borg');
    this.base = join(this.borgDir, machine);
    this.description = `cgroup v2 (${this.base})`;
  }

  private path(name: string, file?: string): string {
    assertGroupName(name);
    return file === undefined ? join(this.base, name) : join(this.base, name, file);
  }

  /** enableControllers turns on, in dir's subtree_control, every wanted controller that dir offers. */
  private enableControllers(dir: string): void {
    const offered = (readOptional(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
    const enabled = (readOptional(join(dir, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/);
    const missing = V2_CONTROLLERS.filter((c) => offered.includes(c) && !enabled.includes(c));
    if (missing.length > 0) write(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  }

  setupMachine(limits: MachineCgroupLimits): void {
    this.enableControllers(this.root);
    mkdirp(this.borgDir);
    this.enableControllers(this.borgDir);
    mkdirp(this.base);
    this.enableControllers(this.base);
    if (readOptional(join(this.base, 'memory.max')) !== undefined) {
      write(join(this.base, 'memory.max'), limits.memoryBytes === null ? 'max' : String(limits.memoryBytes));
    }
    if (readOptional(join(this.base, 'cpu.max')) !== undefined) this.writeCpuMax(this.base, limits.cpuMillis);
  }

  create(name: string): void {
    mkdirp(this.path(name));
  }

  procsFiles(name: string): string[] {
    return [this.path(name, 'cgroup.procs')];
  }

  setLimits(name: string, limits: TaskCgroupLimits): void {
    assert(limits.memoryBytes > 0 && limits.pidsMax > 0 && limits.cpuShares >= 2, 'task cgroup limits must be positive');
    write(this.path(name, 'memory.max'), String(limits.memoryBytes));
    // No swap: a task's limit is its RAM, as on v1 with memsw equal to the limit.
    if (readOptional(this.path(name, 'memory.swap.max')) !== undefined) write(this.path(name, 'memory.swap.max'), '0');
    write(this.path(name, 'cpu.weight'), String(weightFromShares(limits.cpuShares)));
    this.writeCpuMax(this.path(name), limits.cpuQuotaMillis);
    write(this.path(name, 'pids.max'), String(limits.pidsMax));
  }

  setCpuQuota(name: string, cpuQuotaMillis: number | null): void {
    this.writeCpuMax(this.path(name), cpuQuotaMillis);
  }

  private writeCpuMax(dir: string, cpuMillis: number | null): void {
    write(join(dir, 'cpu.max'), `${cpuMillis === null ? 'max' : quotaUs(cpuMillis, CFS_PERIOD_US)} ${CFS_PERIOD_US}`);
  }

  usage(name: string): CgroupUsage {
    return this.usageAt(this.path(name));
  }

  machineUsage(): CgroupUsage {
    return this.usageAt(this.base);
  }

  private usageAt(dir: string): CgroupUsage {
    const stat = parseKeyed(readOptional(join(dir, 'memory.stat')) ?? '');
    const cpu = parseKeyed(readOptional(join(dir, 'cpu.stat')) ?? '');
    const events = parseKeyed(readOptional(join(dir, 'memory.events')) ?? '');
    return {
      memoryBytes: Math.max(0, readNumber(join(dir, 'memory.current')) - (stat.get('inactive_file') ?? 0)),
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      cpuThrottledNs: (cpu.get('throttled_usec') ?? 0) * 1000,
      nrThrottled: cpu.get('nr_throttled') ?? 0,
      oomKills: events.get('oom_kill') ?? 0,
      memoryLimitHits: events.get('max') ?? 0,
    };
  }

  pids(name: string): number[] {
    return parsePids(readOptional(this.path(name, 'cgroup.procs')) ?? '');
  }

  members(name: string): number[] {
    return this.pids(name);
  }

  list(): string[] {
    return subdirs(this.base).sort();
  }

  exists(name: string): boolean {
    return readOptional(this.path(name, 'cgroup.procs')) !== undefined;
  }

  kill(name: string, signal: NodeJS.Signals): number {
    const pids = this.pids(name);
    // cgroup.kill (Linux 5.14+) kills the whole group atomically, including processes forked meanwhile.
    if (signal === 'SIGKILL' && existsSync(this.path(name, 'cgroup.kill'))) {
      write(this.path(name, 'cgroup.kill'), '1');
      return pids.length;
    }
    return signalPids(pids, signal);
  }

  remove(name: string): boolean {
    return rmdirIfPresent(this.path(name));
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
      if (Date.now() > deadline) throw new Error(`cgroups under ${this.base} still busy after ${timeoutMs}ms`);
      sleepSync(20);
    }
    rmdirIfPresent(this.base);
  }
}
