// Ballots order every proposal: (round, replica), compared round first, so two replicas never lead the same
// ballot. Small pure helpers shared by the core, the simulation and the storage's sanity checks.
import type { Ballot } from '../../proto/index';
import { assert } from '../../model/assert';
import { ZERO_BALLOT } from './core_types';

/** compareBallots returns <0, 0 or >0 as a is below, equal to or above b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.replica - b.replica;
}

export function ballotEq(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.replica === b.replica;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

export function isZeroBallot(b: Ballot): boolean {
  return ballotEq(b, ZERO_BALLOT);
}

/** nextBallot is the smallest ballot led by `replica` above `above`. */
export function nextBallot(above: Ballot, replica: number): Ballot {
  assert(Number.isSafeInteger(replica) && replica >= 1, `replica id must be >= 1, got ${replica}`);
  const round = above.replica < replica ? above.round : above.round + 1;
  const b = { round: Math.max(round, 1), replica };
  assert(compareBallots(b, above) > 0, 'nextBallot must move up');
  return b;
}

export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.replica}`;
}
