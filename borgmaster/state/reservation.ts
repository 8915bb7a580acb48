// Reservation quantisation (B15 §5.5): link shards round a Borglet's estimate up to fixed quanta before it
// becomes a replicated command, and never above the limit, so small wobbles in the estimate cause no churn in
// the log, the watch stream or the scheduler's caches.
import { min, type Resources } from '../../model/resources';
import {
  RESERVATION_QUANTUM_CPU_MILLIS,
  RESERVATION_QUANTUM_DISK_BYTES,
  RESERVATION_QUANTUM_RAM_BYTES,
} from '../../cells/limits';

function roundUp(v: number, q: number): number {
  return Math.ceil(v / q) * q;
}

/** quantiseReservation rounds each dimension up to its quantum, capped at the limit; ports stay the limit's. */
export function quantiseReservation(estimate: Resources, limit: Resources): Resources {
  return min(
    {
      cpuMillis: roundUp(estimate.cpuMillis, RESERVATION_QUANTUM_CPU_MILLIS),
      ramBytes: roundUp(estimate.ramBytes, RESERVATION_QUANTUM_RAM_BYTES),
      diskBytes: roundUp(estimate.diskBytes, RESERVATION_QUANTUM_DISK_BYTES),
      ports: limit.ports,
    },
    limit,
  );
}
