// Feasibility filter: the machine must have as many free ports as the task asks for. Ports are counted like a
// resource but are never reclaimed (a task holds its ports), and evicting a task frees its ports.
import type { TaskClass } from '../task_class';

export const REASON_INSUFFICIENT_PORTS = 'insufficient ports';
export const CODE_INSUFFICIENT_PORTS = 6;

/** portsFilter returns 0 when the port count fits `available[3]`, else the reason code. */
export function portsFilter(c: TaskClass, available: Float64Array): number {
  return c.needPorts > (available[3] as number) ? CODE_INSUFFICIENT_PORTS : 0;
}
