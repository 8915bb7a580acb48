// Guidance for a pending task (B15 §2.6: "why pending?" comes "with guidance on how to modify the job's resource
// requests to better fit the cell"): against the machines that are up and meet the task's constraints, which of
// its requests no machine has at all (it cannot be placed as asked), or which no machine has free now (it waits
// for room, or for tasks it may preempt to be found).
import type { Constraint, Machine, Resources } from '../../proto/index';
import { MachineState } from '../../proto/index';
import { RESOURCE_DIMENSIONS, formatBytes, formatCores, type ResourceDimension } from '../../model/resources';
import { isProd } from '../../model/priority';
import { unmetConstraint } from '../../borgmaster/state/placement';

const NAMES: Record<ResourceDimension, string> = { cpuMillis: 'cpu', ramBytes: 'ram', diskBytes: 'disk', ports: 'ports' };

function amount(d: ResourceDimension, v: number): string {
  if (d === 'cpuMillis') return `${formatCores(v)} of cpu`;
  if (d === 'ports') return `${v} port${v === 1 ? '' : 's'}`;
  return `${formatBytes(v)} ${NAMES[d]}`;
}

/**
 * fitGuidance returns lines of guidance for a pending task asking `limit` at `priority` with `constraints`, from
 * the cell's machines (ListMachines): for each dimension, a request larger than every eligible machine's capacity
 * (it never fits as asked), else one larger than any eligible machine has free now (free: capacity less what is
 * charged there, limits for a prod task, reservations otherwise, before any preemption). Empty when it would fit
 * on some machine as things stand: its verdict is about something else.
 */
export function fitGuidance(limit: Resources, priority: number, constraints: readonly Constraint[], machines: readonly Machine[]): string[] {
  const eligible = machines.filter((m) => m.state === MachineState.UP && unmetConstraint(constraints, m.attributes) === undefined);
  const where = constraints.length > 0 ? 'up that meets its constraints' : 'up';
  if (eligible.length === 0) return [`no machine is ${where}`];
  const capacity = (m: Machine, d: ResourceDimension) => m.capacity?.[d] ?? 0;
  const free = (m: Machine, d: ResourceDimension) => capacity(m, d) - ((isProd(priority) ? m.allocatedLimit : m.allocatedReservation)?.[d] ?? 0);
  const most = (d: ResourceDimension, of: (m: Machine, d: ResourceDimension) => number) => eligible.reduce((a, m) => (of(m, d) > of(a, d) ? m : a));
  const never = RESOURCE_DIMENSIONS.flatMap((d) => {
    const m = most(d, capacity);
    return limit[d] > capacity(m, d) ? [`it asks for ${amount(d, limit[d])}; no machine ${where} has that much (the largest: ${amount(d, capacity(m, d))} on ${m.name}): ask for at most that, or add larger machines`] : [];
  });
  if (never.length > 0) return never;
  if (eligible.some((m) => RESOURCE_DIMENSIONS.every((d) => limit[d] <= free(m, d)))) return [];
  const short = RESOURCE_DIMENSIONS.flatMap((d) => {
    const m = most(d, free);
    return limit[d] > free(m, d) ? [`it asks for ${amount(d, limit[d])}; the most free on a machine ${where} is ${amount(d, Math.max(0, free(m, d)))} (${m.name}), before any preemption`] : [];
  });
  return short.length > 0 ? short : [`each of its requests is free on some machine ${where}, but not all of them on one, before any preemption`];
}
