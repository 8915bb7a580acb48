// Quota arithmetic for admission control (B15 §2.5): a job is charged, in the band of its priority, the sum of
// its tasks' limits; it is admitted only if the user's quota in that band covers what the user already holds
// plus the job. The FREE band (priority 0-99) is unlimited. Sums over many jobs can exceed 2^53 in the free band,
// so usage is kept as plain doubles here (never asserted as safe integers) and compared per dimension.
import { bandName, bandOf } from '../../model/priority';
import { PriorityBand } from '../../proto/index';
import { RESOURCE_DIMENSIONS, formatBytes, formatCores, type Resources, type ResourceDimension } from '../../model/resources';
import type { JobSpec } from '../../proto/index';

export type Usage = Record<ResourceDimension, number>;

export function zeroUsage(): Usage {
  return { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };
}

export function addUsage(a: Usage, b: Resources | Usage, times = 1): Usage {
  return {
    cpuMillis: a.cpuMillis + b.cpuMillis * times,
    ramBytes: a.ramBytes + b.ramBytes * times,
    diskBytes: a.diskBytes + b.diskBytes * times,
    ports: a.ports + b.ports * times,
  };
}

export function subUsage(a: Usage, b: Usage): Usage {
  return addUsage(a, b, -1);
}

/** jobDemand is what a job is charged: the limits of all its tasks (overrides included). */
export function jobDemand(spec: JobSpec): Usage {
  const template = spec.task?.requirements;
  let total = zeroUsage();
  const overridden = spec.overrides.filter((o) => o.index < spec.taskCount);
  if (template !== undefined) total = addUsage(total, template, spec.taskCount - overridden.length);
  for (const o of overridden) {
    const r = o.spec?.requirements;
    if (r !== undefined) total = addUsage(total, r);
  }
  return total;
}

export function bandKey(user: string, band: PriorityBand): string {
  return `${user}/${band}`;
}

export function isUnlimited(band: PriorityBand): boolean {
  return band === PriorityBand.FREE;
}

export function isProdBand(band: PriorityBand): boolean {
  return band === PriorityBand.PRODUCTION || band === PriorityBand.MONITORING;
}

function formatDim(d: ResourceDimension, v: number): string {
  switch (d) {
    case 'cpuMillis':
      return formatCores(v);
    case 'ramBytes':
    case 'diskBytes':
      return formatBytes(v);
    case 'ports':
      return String(v);
  }
}

const DIM_NAMES: Record<ResourceDimension, string> = { cpuMillis: 'cpu', ramBytes: 'ram', diskBytes: 'disk', ports: 'ports' };

/**
 * quotaShortfall says, per dimension, by how much `need` exceeds `limit`; an empty list means it fits. Each line
 * reads like `ram: needs 12GiB, quota 8GiB, short by 4GiB` or `cpu: needs 4.25 cores, quota 2 cores, short by 2.25 cores`.
 */
export function quotaShortfall(need: Usage, limit: Resources): string[] {
  const out: string[] = [];
  for (const d of RESOURCE_DIMENSIONS) {
    if (need[d] > limit[d]) {
      out.push(`${DIM_NAMES[d]}: needs ${formatDim(d, need[d])}, quota ${formatDim(d, limit[d])}, short by ${formatDim(d, need[d] - limit[d])}`);
    }
  }
  return out;
}

export function describeQuota(user: string, priority: number, cell: string): string {
  const band = bandOf(priority);
  return `quota of user ${user} in band ${bandName(band)} (priority ${priority}) of cell ${cell}`;
}
