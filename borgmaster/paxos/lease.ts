// Leader leases in ticks. A follower that hears the leader at its tick c grants it the lease until its tick
// c + leaseTicks, i.e. for at least (leaseTicks - 1) of its tick periods of real time (the first tick may come at
// once). The leader times its lease from the SEND of the message the follower acked (never later than receipt):
// at leader tick c_s + k it has been at most (k + 1) leader periods since. With periods differing by at most
// (1 + maxClockDrift), the leader's use is safe while (k + 1) * (1 + drift) <= leaseTicks - 1.
import { assert } from '../../model/assert';

/** leaderLeaseTicks: the leader may serve reads while (now - sendTick) < this, for a quorum's acked sendTick. */
export function leaderLeaseTicks(leaseTicks: number, maxClockDrift: number): number {
  assert(maxClockDrift >= 0 && maxClockDrift < 1, 'maxClockDrift must be in [0, 1)');
  // The epsilon keeps an exact quotient (33 / 1.1 = 30) from rounding down a whole tick in floating point.
  const ticks = Math.floor((leaseTicks - 1) / (1 + maxClockDrift) + 1e-9);
  return ticks;
}
