// Feasibility filter: cpu, ram and disk, against what the candidate may use after preempting everything it is
// allowed to (charged.ts computes that vector; this filter only compares). The first short dimension, in the
// order cpu, ram, disk, is the reason reported.
import { unreachable } from '../../model/assert';
import { FREE_MAX } from '../../model/priority';
import { ROOM_ABOVE_LOWEST, ROOM_FREE, ROOM_FREE_BAND, ROOM_NON_PROD, ROOM_PROD, type RoomKind } from '../room_index';
import { DIMS, DIM_CPU, DIM_DISK, DIM_PORTS, DIM_RAM, type CellSnapshot } from '../snapshot';
import { CODE_INSUFFICIENT_PORTS } from './ports';
import type { TaskClass } from '../task_class';

export const REASON_INSUFFICIENT_CPU = 'insufficient cpu';
export const REASON_INSUFFICIENT_RAM = 'insufficient ram';
export const REASON_INSUFFICIENT_DISK = 'insufficient disk';
export const CODE_INSUFFICIENT_CPU = 3;
export const CODE_INSUFFICIENT_RAM = 4;
export const CODE_INSUFFICIENT_DISK = 5;

/** resourcesFilter returns 0 when need fits `available` (cpu, ram, disk at indices 0..2), else the reason code. */
export function resourcesFilter(c: TaskClass, available: Float64Array): number {
  if (c.needCpu > (available[0] as number)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > (available[1] as number)) return CODE_INSUFFICIENT_RAM;
  if (c.needDisk > (available[2] as number)) return CODE_INSUFFICIENT_DISK;
  return 0;
}

/**
 * freeShortfall is the reason code when the class may evict nothing on slot m: the first dimension in which the
 * request exceeds capacity minus reservations (ports included). The caller knows the plain fit failed.
 */
export function freeShortfall(snap: CellSnapshot, c: TaskClass, m: number): number {
  const b = m * DIMS;
  const cap = snap.cap;
  const res = snap.resAll;
  if (c.needCpu > (cap[b] as number) - (res[b] as number)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > (cap[b + 1] as number) - (res[b + 1] as number)) return CODE_INSUFFICIENT_RAM;
  if (c.needDisk > (cap[b + 2] as number) - (res[b + 2] as number)) return CODE_INSUFFICIENT_DISK;
  return CODE_INSUFFICIENT_PORTS;
}

/** FIT_UNKNOWN: preemptionShortfall cannot decide from per-machine sums; the exact preemptible vector is needed. */
export const FIT_UNKNOWN = -1;

/**
 * preemptionShortfall is the resource verdict for a candidate that does not fit plainly on slot m, decided from
 * per-machine sums wherever they suffice: a reason code, 0 when it fits after evictions, or FIT_UNKNOWN when only
 * the exact preemptible vector (charged.ts availableWithPreemption, a walk over the machine's tasks) can tell.
 * The reason is the first short dimension (cpu, ram, disk, ports) of the class's *room bound* (room_index.ts:
 * what it could get if it evicted everything its priority allows, an upper bound that is exact for prod,
 * priorities 0 and 1 and the lowest batch priority) when that bound is short, else of the exact vector. The room index
 * counts the machines it rules out by the same rule, so a walk and an indexed view give the same histogram.
 */
export function preemptionShortfall(snap: CellSnapshot, c: TaskClass, m: number): number {
  switch (c.roomKind) {
    case ROOM_PROD:
      // Exact: prod is charged the limits of prod and may evict every non-prod task.
      return roomShortfall(snap, c, ROOM_PROD, m);
    case ROOM_FREE:
      // Exact: nothing runs below priority 0.
      return freeShortfall(snap, c, m);
    case ROOM_ABOVE_LOWEST:
      // Exact: priority 1 may evict the priority-0 tasks and nothing else.
      return roomShortfall(snap, c, ROOM_ABOVE_LOWEST, m);
    case ROOM_FREE_BAND: {
      const r = roomShortfall(snap, c, ROOM_FREE_BAND, m);
      if (r !== 0) return r;
      if ((snap.minNonProdPriority[m] as number) >= c.priority) return freeShortfall(snap, c, m);
      // The lowest batch priority may evict exactly the free band, so the bound is its exact room.
      return c.priority > FREE_MAX ? 0 : FIT_UNKNOWN;
    }
    case ROOM_NON_PROD: {
      const r = roomShortfall(snap, c, ROOM_NON_PROD, m);
      if (r !== 0) return r;
      if ((snap.minNonProdPriority[m] as number) >= c.priority) return freeShortfall(snap, c, m);
      if ((snap.minBatchPriority[m] as number) < c.priority) return FIT_UNKNOWN;
      // No batch task below it: what it may evict is exactly the free band.
      return roomShortfall(snap, c, ROOM_FREE_BAND, m);
    }
    default:
      return unreachable(c.roomKind, 'room kind');
  }
}

/** roomShortfall: the first dimension (cpu, ram, disk, ports) in which the request exceeds room `kind` on slot m, else 0. */
function roomShortfall(snap: CellSnapshot, c: TaskClass, kind: RoomKind, m: number): number {
  if (c.needCpu > snap.roomOf(kind, m, DIM_CPU)) return CODE_INSUFFICIENT_CPU;
  if (c.needRam > snap.roomOf(kind, m, DIM_RAM)) return CODE_INSUFFICIENT_RAM;
  if (c.needDisk > snap.roomOf(kind, m, DIM_DISK)) return CODE_INSUFFICIENT_DISK;
  if (c.needPorts > snap.roomOf(kind, m, DIM_PORTS)) return CODE_INSUFFICIENT_PORTS;
  return 0;
}

