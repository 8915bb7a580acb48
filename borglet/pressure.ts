// Load shedding under pressure (B15 §6.2), pure. Memory short (reservations exceed capacity, or usage nears it):
// evict tasks until reservations fit, first any task over its own memory limit, then non-prod tasks lowest
// priority first; prod is never evicted for reclamation. CPU short: cap non-prod with a CFS quota so prod gets
// what it was promised (latency-sensitive prod even what it uses above that), and lift the cap, with hysteresis,
// once the machine has headroom again.
import { isProd } from '../model/priority';
import { formatBytes } from '../model/resources';
import { CPU_QUOTA_MIN_MILLIS, CPU_RELIEVED_FRACTION, CPU_SHORT_FRACTION, MEMORY_SHORT_FRACTION } from '../cells/limits';

export interface PressureTask {
  taskId: string;
  priority: number;
  latencySensitive: boolean;
  limitCpuMillis: number;
  limitRamBytes: number;
  reservationRamBytes: number;
  usageCpuMillis: number;
  /** waitCpuMillis is CPU the task wanted but waited for (runnable, not running), as a rate. */
  waitCpuMillis: number;
  usageRamBytes: number;
}

export interface Eviction {
  taskId: string;
  reason: string;
}

/** memoryEvictions lists the tasks to evict, in order, so the machine's memory fits again. */
export function memoryEvictions(tasks: readonly PressureTask[], capacityRamBytes: number): Eviction[] {
  let reserved = tasks.reduce((s, t) => s + t.reservationRamBytes, 0);
  let used = tasks.reduce((s, t) => s + t.usageRamBytes, 0);
  const usageCap = Math.floor(capacityRamBytes * MEMORY_SHORT_FRACTION);
  const short = (): boolean => reserved > capacityRamBytes || used > usageCap;
  if (!short()) return [];
  const overLimit = tasks.filter((t) => t.usageRamBytes > t.limitRamBytes).sort((a, b) => b.usageRamBytes - b.limitRamBytes - (a.usageRamBytes - a.limitRamBytes) || a.taskId.localeCompare(b.taskId));
  const nonProd = tasks
    .filter((t) => !isProd(t.priority) && t.usageRamBytes <= t.limitRamBytes)
    .sort((a, b) => a.priority - b.priority || b.usageRamBytes - a.usageRamBytes || a.taskId.localeCompare(b.taskId));
  const out: Eviction[] = [];
  for (const t of [...overLimit, ...nonProd]) {
    if (!short()) break;
    const why = t.usageRamBytes > t.limitRamBytes
      ? `over its memory limit (${formatBytes(t.usageRamBytes)} > ${formatBytes(t.limitRamBytes)})`
      : `lowest priority (${t.priority}) non-prod task`;
    out.push({
      taskId: t.taskId,
      reason: `evicted: machine short of memory (reserved ${formatBytes(reserved)}, used ${formatBytes(used)}, capacity ${formatBytes(capacityRamBytes)}); ${why}`,
    });
    reserved -= t.reservationRamBytes;
    used -= t.usageRamBytes;
  }
  return out;
}

export interface CpuPlan {
  throttling: boolean;
  /** quotas: per non-prod task, its CFS quota in millicores (null: none). Prod tasks never get a quota. */
  quotas: Map<string, number | null>;
  reason: string;
}

/**
 * cpuPlan decides the CFS quotas. A task's CPU demand is what it used plus what it waited for on the run queue.
 * `throttling` is the previous decision (hysteresis): throttling starts when demand reaches CPU_SHORT_FRACTION of
 * capacity while prod is active, and stops when demand falls below CPU_RELIEVED_FRACTION or prod goes idle.
 */
export function cpuPlan(tasks: readonly PressureTask[], capacityCpuMillis: number, throttling: boolean): CpuPlan {
  const prod = tasks.filter((t) => isProd(t.priority));
  const nonProd = tasks.filter((t) => !isProd(t.priority));
  const demand = (t: PressureTask): number => t.usageCpuMillis + t.waitCpuMillis;
  const wanted = Math.round(tasks.reduce((s, t) => s + demand(t), 0));
  // Prod is promised its limit (the scheduler charged prod limits); latency-sensitive prod also what it uses above.
  const prodNeed = prod.reduce((s, t) => s + (t.latencySensitive ? Math.max(t.limitCpuMillis, t.usageCpuMillis) : t.limitCpuMillis), 0);
  const prodWanted = prod.reduce((s, t) => s + demand(t), 0);
  const prodActive = prodWanted > 0 && prodWanted >= 0.1 * prodNeed;
  const next = nonProd.length > 0 && prodActive && (throttling ? wanted >= CPU_RELIEVED_FRACTION * capacityCpuMillis : wanted >= CPU_SHORT_FRACTION * capacityCpuMillis);
  const quotas = new Map<string, number | null>();
  if (!next) {
    for (const t of nonProd) quotas.set(t.taskId, null);
    return { throttling: false, quotas, reason: prodActive ? `cpu demand ${wanted}m of ${capacityCpuMillis}m: no throttling` : 'prod idle: no throttling' };
  }
  // Non-prod gets what prod was not promised, less what prod is still waiting for: on a host that delivers less
  // than the machine's nominal capacity, prod's run-queue wait takes CPU back from non-prod down to the floor.
  const prodWait = prod.reduce((s, t) => s + t.waitCpuMillis, 0);
  const budget = Math.max(CPU_QUOTA_MIN_MILLIS * nonProd.length, Math.floor(capacityCpuMillis - prodNeed - prodWait));
  const weights = nonProd.reduce((s, t) => s + Math.max(1, t.limitCpuMillis), 0);
  for (const t of nonProd) quotas.set(t.taskId, Math.max(CPU_QUOTA_MIN_MILLIS, Math.floor((budget * Math.max(1, t.limitCpuMillis)) / weights)));
  return { throttling: true, quotas, reason: `cpu short (demand ${wanted}m of ${capacityCpuMillis}m, prod needs ${prodNeed}m, waits ${Math.round(prodWait)}m): non-prod capped at ${budget}m` };
}
