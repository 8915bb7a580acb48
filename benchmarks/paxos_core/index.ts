// `npm run bench -- paxos_core [--json] [--seconds S]`: the pure Multi-Paxos core alone, 3 replicas in one process
// with messages handed over in memory and no disk, so the figure is the core's CPU ceiling per commit (the real
// log, with gRPC and fsync, is `npm run bench -- paxos`). 256-byte values, several batch sizes.
import type { Benchmark } from '../main';
import { SeededRng } from '../../model/rng';
import { PaxosReplica } from '../../borgmaster/paxos/core';
import type { PaxosMessage } from '../../proto/index';

interface Row {
  batch: number;
  commitsPerSecond: number;
  readiesPerCommit: number;
}

function run(batch: number, seconds: number): Row {
  const ids = [1, 2, 3];
  const cores = new Map(
    ids.map((id) => [id, new PaxosReplica({ id, replicaIds: ids, electionTicks: 10, heartbeatTicks: 2, leaseTicks: 8, maxClockDrift: 0.05, rng: new SeededRng(id), maxInflightSlots: 1 << 20 })]),
  );
  const queue: PaxosMessage[] = [];
  let readies = 0;
  let committed = 0;
  const pump = (): void => {
    let progress = true;
    while (progress) {
      progress = false;
      for (const [id, c] of cores) {
        while (c.hasReady()) {
          const rd = c.ready();
          readies++;
          queue.push(...rd.messagesBeforePersist, ...rd.messages);
          if (id === 1) committed += rd.committed.length;
          c.advance(rd);
          progress = true;
        }
      }
      while (queue.length > 0) {
        const m = queue.shift() as PaxosMessage;
        cores.get(m.to)?.step(m);
        progress = true;
      }
    }
  };
  const leader = cores.get(1) as PaxosReplica;
  for (let i = 0; i < 40 && leader.status().role !== 'leader'; i++) {
    leader.tick();
    pump();
  }
  const value = Buffer.alloc(256, 7);
  const commands = Array.from({ length: batch }, () => value);
  const start = performance.now();
  const end = start + seconds * 1000;
  let base = committed;
  while (performance.now() < end) {
    const r = leader.propose(commands);
    if (r.kind !== 'ok') throw new Error(`propose: ${r.kind}`);
    pump();
    // Compact now and then, as the state machine would, so the in-memory log stays bounded.
    const st = leader.status();
    if (st.appliedIndex - st.snapshotIndex > 50_000) for (const c of cores.values()) c.compact(c.status().appliedIndex, Buffer.alloc(0));
  }
  const secs = (performance.now() - start) / 1000;
  const n = committed - base;
  base = committed;
  return { batch, commitsPerSecond: Math.round(n / secs), readiesPerCommit: readies / Math.max(1, n) };
}

const bench: Benchmark = {
  summary: 'the pure Paxos core alone (3 replicas in one process, no IO): commits/s per batch size',
  async run(args: string[]): Promise<void> {
    const json = args.includes('--json');
    const si = args.indexOf('--seconds');
    const seconds = si >= 0 ? Number(args[si + 1]) : 2;
    const rows = [1, 16, 64, 256].map((b) => run(b, seconds));
    if (json) {
      console.log(JSON.stringify({ rows }));
      return;
    }
    console.log('batch  commits/s   readies/commit');
    for (const r of rows) console.log(`${String(r.batch).padStart(5)}  ${String(r.commitsPerSecond).padStart(9)}   ${r.readiesPerCommit.toFixed(3)}`);
  },
};

export default bench;
