// The why-pending vocabulary in one table: every fixed reason code (exported by its filter) and its text, plus
// the constraint reasons rendered per class. verdictLine folds a histogram into the line an SRE reads:
// `0/12477 machines feasible: 9120 insufficient ram, 3300 insufficient cpu, 57 constraint arch=arm64`.
import { CODE_AVOIDED_PAIRING, REASON_AVOIDED_PAIRING } from './filters/avoid';
import { CONSTRAINT_REASON_BASE, constraintText } from './filters/constraints';
import { CODE_MACHINE_DOWN, CODE_MACHINE_DRAINING, REASON_MACHINE_DOWN, REASON_MACHINE_DRAINING } from './filters/machine_state';
import { CODE_INSUFFICIENT_PORTS, REASON_INSUFFICIENT_PORTS } from './filters/ports';
import {
  CODE_INSUFFICIENT_CPU,
  CODE_INSUFFICIENT_DISK,
  CODE_INSUFFICIENT_RAM,
  REASON_INSUFFICIENT_CPU,
  REASON_INSUFFICIENT_DISK,
  REASON_INSUFFICIENT_RAM,
} from './filters/resources';
import { CODE_SPREAD_MACHINE, CODE_SPREAD_POWER, CODE_SPREAD_RACK, REASON_SPREAD_MACHINE, REASON_SPREAD_POWER, REASON_SPREAD_RACK } from './filters/spread';
import { CODE_TOO_MANY_VICTIMS, REASON_TOO_MANY_VICTIMS } from './preemption';
import type { CellSnapshot } from './snapshot';
import type { TaskClass } from './task_class';

/** REASON_SLOTS: number of fixed reason codes (constraint reasons follow at CONSTRAINT_REASON_BASE). */
export const REASON_SLOTS = CONSTRAINT_REASON_BASE;

/** CODE_SKIP marks an empty machine slot: not a machine, so not counted. */
export const CODE_SKIP = -1;

const FIXED: ReadonlyMap<number, string> = new Map([
  [CODE_MACHINE_DOWN, REASON_MACHINE_DOWN],
  [CODE_MACHINE_DRAINING, REASON_MACHINE_DRAINING],
  [CODE_INSUFFICIENT_CPU, REASON_INSUFFICIENT_CPU],
  [CODE_INSUFFICIENT_RAM, REASON_INSUFFICIENT_RAM],
  [CODE_INSUFFICIENT_DISK, REASON_INSUFFICIENT_DISK],
  [CODE_INSUFFICIENT_PORTS, REASON_INSUFFICIENT_PORTS],
  [CODE_SPREAD_MACHINE, REASON_SPREAD_MACHINE],
  [CODE_SPREAD_RACK, REASON_SPREAD_RACK],
  [CODE_SPREAD_POWER, REASON_SPREAD_POWER],
  [CODE_AVOIDED_PAIRING, REASON_AVOIDED_PAIRING],
  [CODE_TOO_MANY_VICTIMS, REASON_TOO_MANY_VICTIMS],
]);

/** reasonText renders one reason code for class c. */
export function reasonText(snap: CellSnapshot, c: TaskClass, code: number): string {
  if (code >= CONSTRAINT_REASON_BASE) return constraintText(snap, c, code - CONSTRAINT_REASON_BASE);
  return FIXED.get(code) ?? `reason ${code}`;
}

/**
 * verdictLine renders `feasible/total machines feasible: n reason, ...`, reasons by count descending (ties by
 * code, so the line is deterministic). counts[code] is the number of machines rejected for that reason.
 */
export function verdictLine(snap: CellSnapshot, c: TaskClass, feasible: number, total: number, counts: Int32Array): string {
  const parts: [number, number][] = [];
  for (let code = 0; code < counts.length; code++) {
    const n = counts[code] as number;
    if (n > 0) parts.push([code, n]);
  }
  parts.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const head = `${feasible}/${total} machines feasible`;
  if (parts.length === 0) return head;
  return `${head}: ${parts.map(([code, n]) => `${n} ${reasonText(snap, c, code)}`).join(', ')}`;
}
