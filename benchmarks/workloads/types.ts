// A workload in plain, documented terms (strings and numbers): machines and tasks, as read from Google's 2011
// trace or from the JSONL format (README.md). Readers produce it; benchmarks and simulations consume it.
import type { Resources } from '../../model/resources';

export interface WorkloadMachine {
  name: string;
  capacity: Resources;
  attributes: Record<string, string>;
  rack: string;
  powerDomain: string;
}

export type WorkloadConstraintOp = '=' | '!=' | 'in' | 'exists' | '!exists';
export const WORKLOAD_CONSTRAINT_OPS: readonly WorkloadConstraintOp[] = ['=', '!=', 'in', 'exists', '!exists'];

export interface WorkloadConstraint {
  key: string;
  op: WorkloadConstraintOp;
  values: string[];
}

export interface WorkloadTask {
  job: string;
  user: string;
  index: number;
  /** priority in the project's numbering (DESIGN.md §3): free <= 99, batch 100-115, mid 116-119, prod 120-359, monitoring >= 360. */
  priority: number;
  limit: Resources;
  constraints: WorkloadConstraint[];
  /** maxPerMachine etc.: at most this many tasks of the job per domain; 0 = unlimited. */
  spread: { maxPerMachine: number; maxPerRack: number; maxPerPowerDomain: number };
  /** submitMs: submission time relative to the start of the workload; 0 = present at the start. */
  submitMs: number;
}

export interface Workload {
  name: string;
  machines: WorkloadMachine[];
  /** initial: tasks submitted at time 0 (the cell to schedule from scratch). */
  initial: WorkloadTask[];
  /** later: tasks submitted after time 0, in submission order (online passes). */
  later: WorkloadTask[];
  /** skipped: rows or lines that could not be used, counted by reason. */
  skipped: Record<string, number>;
  /** notes: how the workload was derived (scale, synthetic topology), to be printed with every result. */
  notes: string[];
}

export function countSkip(skipped: Record<string, number>, reason: string): void {
  skipped[reason] = (skipped[reason] ?? 0) + 1;
}
