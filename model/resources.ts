// Resource vectors (DESIGN.md §3): cpuMillis (a core is 1000), ramBytes, diskBytes, ports. Compared per
// dimension. Values are non-negative integers below 2^53; arithmetic that would leave that range is a bug in the
// caller (assert), while values arriving from outside are checked with validateResources (an InvalidArgument).
import { assert } from './assert';
import { InvalidArgument } from './errors';

export interface Resources {
  cpuMillis: number;
  ramBytes: number;
  diskBytes: number;
  ports: number;
}

export const RESOURCE_DIMENSIONS = ['cpuMillis', 'ramBytes', 'diskBytes', 'ports'] as const;
export type ResourceDimension = (typeof RESOURCE_DIMENSIONS)[number];

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export function resources(partial: Partial<Resources> = {}): Resources {
  const r = { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0, ...partial };
  assertValid(r);
  return r;
}

export const ZERO: Readonly<Resources> = Object.freeze(resources());

function assertValid(r: Resources): void {
  for (const d of RESOURCE_DIMENSIONS) {
    const v = r[d];
    assert(Number.isSafeInteger(v) && v >= 0, `resource ${d} = ${v} is not a non-negative safe integer`);
  }
}

/** validateResources checks a vector that came from outside and names the offending field. */
export function validateResources(r: Partial<Resources> | undefined, field: string): Resources {
  if (r === undefined || r === null) throw new InvalidArgument(field, 'is required');
  const out = resources();
  for (const d of RESOURCE_DIMENSIONS) {
    const v = r[d] ?? 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgument(`${field}.${d}`, `must be a number, got ${String(v)}`);
    if (!Number.isInteger(v)) throw new InvalidArgument(`${field}.${d}`, `must be an integer, got ${v}`);
    if (v < 0) throw new InvalidArgument(`${field}.${d}`, `must not be negative, got ${v}`);
    if (!Number.isSafeInteger(v)) throw new InvalidArgument(`${field}.${d}`, `${v} is too large (limit 2^53-1)`);
    out[d] = v;
  }
  return out;
}

export function add(a: Resources, b: Resources): Resources {
  const r = {
    cpuMillis: a.cpuMillis + b.cpuMillis,
    ramBytes: a.ramBytes + b.ramBytes,
    diskBytes: a.diskBytes + b.diskBytes,
    ports: a.ports + b.ports,
  };
  assertValid(r);
  return r;
}

/** sub asserts the result stays non-negative: taking away more than was added is a bookkeeping bug. */
export function sub(a: Resources, b: Resources): Resources {
  const r = {
    cpuMillis: a.cpuMillis - b.cpuMillis,
    ramBytes: a.ramBytes - b.ramBytes,
    diskBytes: a.diskBytes - b.diskBytes,
    ports: a.ports - b.ports,
  };
  assertValid(r);
  return r;
}

/** subClamped is sub with each dimension floored at zero (free capacity of an oversubscribed machine). */
export function subClamped(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.max(0, a.cpuMillis - b.cpuMillis),
    ramBytes: Math.max(0, a.ramBytes - b.ramBytes),
    diskBytes: Math.max(0, a.diskBytes - b.diskBytes),
    ports: Math.max(0, a.ports - b.ports),
  };
}

/** fits is true when `need` fits within `free` in every dimension (an exact fit fits). */
export function fits(need: Resources, free: Resources): boolean {
  return (
    need.cpuMillis <= free.cpuMillis &&
    need.ramBytes <= free.ramBytes &&
    need.diskBytes <= free.diskBytes &&
    need.ports <= free.ports
  );
}

/** shortfall lists the dimensions in which `need` exceeds `free`, in RESOURCE_DIMENSIONS order. */
export function shortfall(need: Resources, free: Resources): ResourceDimension[] {
  return RESOURCE_DIMENSIONS.filter((d) => need[d] > free[d]);
}

export function max(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.max(a.cpuMillis, b.cpuMillis),
    ramBytes: Math.max(a.ramBytes, b.ramBytes),
    diskBytes: Math.max(a.diskBytes, b.diskBytes),
    ports: Math.max(a.ports, b.ports),
  };
}

export function min(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.min(a.cpuMillis, b.cpuMillis),
    ramBytes: Math.min(a.ramBytes, b.ramBytes),
    diskBytes: Math.min(a.diskBytes, b.diskBytes),
    ports: Math.min(a.ports, b.ports),
  };
}

export function equal(a: Resources, b: Resources): boolean {
  return a.cpuMillis === b.cpuMillis && a.ramBytes === b.ramBytes && a.diskBytes === b.diskBytes && a.ports === b.ports;
}

export function isZero(a: Resources): boolean {
  return equal(a, ZERO);
}

/** sum adds a list of vectors. */
export function sum(list: Iterable<Resources>): Resources {
  let total = resources();
  for (const r of list) total = add(total, r);
  return total;
}

/** formatBytes renders a byte count with a binary unit, e.g. 1.5GiB. */
export function formatBytes(n: number): string {
  const units: [number, string][] = [[TiB, 'TiB'], [GiB, 'GiB'], [MiB, 'MiB'], [KiB, 'KiB']];
  for (const [size, unit] of units) {
    if (n >= size) return `${Number((n / size).toFixed(2))}${unit}`;
  }
  return `${n}B`;
}

/** formatCpu renders millicores as BCL writes them: 250m, 1500m, 2 (whole cores). */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? `${millis / 1000}` : `${millis}m`;
}

/** formatCores renders millicores for people, exactly: 250m, 1 core, 1.5 cores, 4.001 cores, 158,400 cores. */
export function formatCores(millis: number): string {
  if (millis < 1000) return `${millis}m`;
  const text = (millis / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 });
  return text === '1' ? '1 core' : `${text} cores`;
}

export function formatResources(r: Resources): string {
  return `cpu=${formatCpu(r.cpuMillis)} ram=${formatBytes(r.ramBytes)} disk=${formatBytes(r.diskBytes)} ports=${r.ports}`;
}
