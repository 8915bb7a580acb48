// Which replica's link shard polls which Borglet (B15 §3.3). Rendezvous hashing over (machine, election round):
// every replica computes the same owner without talking, the load spreads evenly, and the partition is
// recalculated on every election (a new round reshuffles it), as in Borg.
import { assert } from '../../model/assert';

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** shardOwner returns the replica that polls `machine` during election `round`. */
export function shardOwner(machine: string, replicaIds: readonly number[], round: number): number {
  assert(replicaIds.length > 0, 'shardOwner needs at least one replica');
  let best = replicaIds[0] as number;
  let bestScore = -1;
  for (const id of replicaIds) {
    const score = hash32(`${machine}/${round}/${id}`);
    if (score > bestScore || (score === bestScore && id < best)) [best, bestScore] = [id, score];
  }
  return best;
}

/** machinePhase places a machine at a stable offset within the poll interval (the order its polls are launched). */
export function machinePhase(machine: string): number {
  return hash32(`phase/${machine}`);
}
