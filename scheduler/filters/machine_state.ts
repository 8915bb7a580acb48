// Feasibility filter: only UP machines take new tasks. DRAINING machines keep their tasks but get no new ones;
// DOWN machines get nothing (their tasks are being rescheduled elsewhere).
import { MACHINE_DRAINING, MACHINE_UP } from '../types';

export const REASON_MACHINE_DOWN = 'machine down';
export const REASON_MACHINE_DRAINING = 'machine draining';
export const CODE_MACHINE_DOWN = 1;
export const CODE_MACHINE_DRAINING = 2;

/** machineStateFilter returns 0 when the machine may take tasks, else the reason code. */
export function machineStateFilter(state: number): number {
  if (state === MACHINE_UP) return 0;
  return state === MACHINE_DRAINING ? CODE_MACHINE_DRAINING : CODE_MACHINE_DOWN;
}
