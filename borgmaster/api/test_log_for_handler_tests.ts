// FOR HANDLER TESTS ONLY: an in-process log that several Masters share, applying every proposal to each of them
// in order. It has no persistence, no elections and no failures; the production log is the Multi-Paxos node in
// borgmaster/paxos/. It exists so API handler tests can run real gRPC servers with real TLS against real state
// machines (two API servers on one log, one of them a follower) without the Paxos layer.
import { NotLeader, Unavailable } from '../../model/errors';
import type { Master, ReplicatedLog } from './master';

export class InProcessLogForHandlerTests {
  private replicas = new Map<number, { master: Master; address: string }>();
  private index = 0;
  leaderId = 1;
  /** stalled: proposals wait (never resolve) while true; for timeout tests. */
  stalled = false;

  attach(replicaId: number, master: Master, address: string): void {
    this.replicas.set(replicaId, { master, address });
  }

  setAddress(replicaId: number, address: string): void {
    const r = this.replicas.get(replicaId);
    if (r) r.address = address;
  }

  get lastIndex(): number {
    return this.index;
  }

  /** view is the ReplicatedLog as replica `replicaId` sees it. */
  view(replicaId: number): ReplicatedLog {
    return {
      propose: async (commands: Uint8Array[]) => {
        if (replicaId !== this.leaderId) throw new NotLeader(this.replicas.get(this.leaderId)?.address);
        if (this.stalled) return new Promise<number>(() => {});
        await Promise.resolve();
        if (replicaId !== this.leaderId) throw new Unavailable('lost leadership before the proposal was chosen');
        const index = ++this.index;
        for (const { master } of this.replicas.values()) master.applyEntry(commands, index);
        return index;
      },
      isLeader: () => replicaId === this.leaderId,
      leaderAddress: () => this.replicas.get(this.leaderId)?.address,
      status: () => ({
        leaderReplica: this.leaderId,
        ballot: { round: 1, replica: this.leaderId },
        replicas: [...this.replicas.entries()].map(([id, r]) => ({
          id,
          address: r.address,
          leader: id === this.leaderId,
          reachable: true,
          logIndex: this.index,
          appliedIndex: r.master.state.appliedIndex,
          lag: this.index - r.master.state.appliedIndex,
          statusUrl: '',
        })),
      }),
    };
  }

  /** appendDirect chooses commands without a client (bootstrap): applied to every replica at the next index. */
  appendDirect(commands: Uint8Array[]): number {
    const index = ++this.index;
    for (const { master } of this.replicas.values()) master.applyEntry(commands, index);
    return index;
  }
}
