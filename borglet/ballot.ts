// Master ballots: a Borglet obeys only the highest ballot it has seen (B15 §3.3), so a deposed master cannot
// kill tasks. Ballots order by (round, replica), as Paxos ballots do.
import type { Ballot } from '../proto/index';

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  return 0;
}

export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.replica}`;
}

export type BallotVerdict = { kind: 'accept'; newer: boolean } | { kind: 'refuse'; reason: string };

/** judgeBallot accepts a ballot at least as high as the one seen; `newer` says the seen ballot must be persisted. */
export function judgeBallot(seen: Ballot, incoming: Ballot): BallotVerdict {
  const c = compareBallots(incoming, seen);
  if (c < 0) return { kind: 'refuse', reason: `ballot ${formatBallot(incoming)} is older than ${formatBallot(seen)} already seen` };
  return { kind: 'accept', newer: c > 0 };
}
