// The public surface of borgmaster/paxos: the Multi-Paxos core (pure: step/tick/propose/ready/advance), its
// types, and (from part 2) the LevelDB storage, gRPC transport and node driver that run it with real IO.
export * from './core_types';
export { compareBallots, ballotEq, maxBallot, isZeroBallot, nextBallot, formatBallot } from './ballot';
export { PaxosReplica } from './core';
export { leaderLeaseTicks } from './lease';
export { validateMessage } from './validate';
