// The public surface of borgmaster/paxos: the Multi-Paxos core (pure: step/tick/propose/ready/advance), its
// types, and (from part 2) the LevelDB storage, gRPC transport and node driver that run it with real IO.
export * from './core_types';
export { compareBallots, ballotEq, maxBallot, isZeroBallot, nextBallot, formatBallot } from './ballot';
export { PaxosReplica } from './core';
export { leaderLeaseTicks } from './lease';
export { validateMessage } from './validate';
// Part 2: the IO edges. PaxosNode is what the Borgmaster holds; storage and transport are exported for tools and tests.
export { PaxosNode, type PaxosNodeOptions, type StateMachine } from './node';
export { PaxosStorage, StorageCorrupt, type PersistBatch, type StoredState } from './storage';
export { PaxosTransport, estimateBytes, type PeerAddress, type PeerStats, type TransportOptions, type TransportStats } from './transport';
// A grpc-js server's sockets with TCP_NODELAY (grpc-js leaves Nagle on for accepted connections).
export { listenNoDelay, type GrpcListener } from './grpc_listen';
export { encodeEntry, encodeMessage, encodeBatch } from './wire';
