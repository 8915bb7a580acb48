// Feasibility filter: hard constraints on machine attributes (=, !=, in, exists, !exists). Attributes live in one
// column per key (value id per machine, 0 = absent), so a check is one array read and a compare. The reason code
// of the i-th constraint is CONSTRAINT_REASON_BASE + i, rendered by constraintText (`constraint arch=arm64`).
import { unreachable } from '../../model/assert';
import type { CellSnapshot } from '../snapshot';
import type { TaskClass } from '../task_class';
import { OP_EQ, OP_EXISTS, OP_IN, OP_NE, OP_NOT_EXISTS, type ConstraintOp } from '../types';

export const REASON_CONSTRAINT = 'constraint';
/** CONSTRAINT_REASON_BASE: codes below it are the fixed reasons; constraint i of a class is BASE + i. */
export const CONSTRAINT_REASON_BASE = 16;

/** constraintsFilter returns 0 when every constraint holds on machine slot m, else the code of the first that fails. */
export function constraintsFilter(c: TaskClass, m: number): number {
  const n = c.conKeys.length;
  for (let i = 0; i < n; i++) {
    const v = (c.conColumns[i] as Int32Array)[m] ?? 0;
    const vals = c.conValues[i] as Int32Array;
    let ok: boolean;
    switch (c.conOps[i]) {
      case OP_EQ:
        ok = v !== 0 && v === vals[0];
        break;
      case OP_NE:
        ok = v !== vals[0];
        break;
      case OP_IN:
        ok = false;
        if (v !== 0) for (let j = 0; j < vals.length; j++) if (vals[j] === v) ok = true;
        break;
      case OP_EXISTS:
        ok = v !== 0;
        break;
      default:
        ok = v === 0; // OP_NOT_EXISTS (validated on the way in)
    }
    if (!ok) return CONSTRAINT_REASON_BASE + i;
  }
  return 0;
}

/** constraintText renders constraint i of a class for why-pending lines, e.g. `constraint arch=arm64`. */
export function constraintText(snap: CellSnapshot, c: TaskClass, i: number): string {
  const key = snap.attrKeys.name(c.conKeys[i] as number);
  const vals = Array.from(c.conValues[i] as Int32Array, (v) => snap.attrValues.name(v));
  const op = c.conOps[i] as ConstraintOp;
  switch (op) {
    case OP_EQ:
      return `${REASON_CONSTRAINT} ${key}=${vals[0] ?? ''}`;
    case OP_NE:
      return `${REASON_CONSTRAINT} ${key}!=${vals[0] ?? ''}`;
    case OP_IN:
      return `${REASON_CONSTRAINT} ${key} in (${vals.join(',')})`;
    case OP_EXISTS:
      return `${REASON_CONSTRAINT} ${key} exists`;
    case OP_NOT_EXISTS:
      return `${REASON_CONSTRAINT} ${key} !exists`;
    default:
      return unreachable(op, 'constraint op');
  }
}
