// measureFailover: on a clean simulated network with default timing, crash the leader under a steady write load
// and measure the virtual time until a write proposed after the crash is acknowledged by the next leader. It shows
// what the protocol's timing allows, apart from any real process or disk.
import { SeededRng } from '../../model/rng';
import { SimCluster } from './cluster';
import { simOptionsFor, DEFAULT_RUN } from './run';

export interface FailoverSample {
  seed: number;
  /** failoverMs: crash -> first acknowledged write invoked after the crash. */
  failoverMs: number;
  /** electionMs: crash -> a new leader exists. */
  electionMs: number;
}

export function measureFailover(seed: number, replicas = 3): FailoverSample | undefined {
  const o = { ...simOptionsFor(seed, { ...DEFAULT_RUN, replicas }), maxBatchEntries: 64, maxInflightSlots: 1024, snapshotEvery: 1_000 };
  const c = new SimCluster(o);
  const rng = new SeededRng(seed).fork('failover');
  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelayMs: 0.1, maxDelayMs: 1, spikeRate: 0, spikeDelayMs: 0 };
  const crashAt = 2_000 + rng.next() * 500;
  let firstAckAfterCrash: number | undefined;
  let electedAt: number | undefined;
  let n = 0;
  // A client that always writes to whoever it believes leads, retrying quickly elsewhere on refusal.
  let target = 1;
  const write = (): void => {
    if (firstAckAfterCrash !== undefined) return;
    const invokeMs = c.events.nowMs();
    let answered = false;
    c.write(target, `w${n++}`, (outcome, _slot, hint) => {
      if (answered) return;
      answered = true;
      if (outcome === 'acked' && invokeMs >= crashAt && firstAckAfterCrash === undefined) firstAckAfterCrash = c.events.nowMs();
      if (outcome === 'rejected') target = hint ?? 1 + rng.int(replicas);
      if (outcome === 'unknown' || outcome === 'lost') target = 1 + rng.int(replicas);
      c.events.after(outcome === 'acked' ? 1 : 10, write);
    });
    c.events.after(200, () => {
      if (answered) return;
      answered = true;
      target = 1 + rng.int(replicas);
      write();
    });
  };
  c.events.after(100, write);
  c.events.at(crashAt, () => {
    const leader = c.leader();
    if (leader !== undefined) c.crash(leader);
  });
  const poll = (): void => {
    if (c.events.nowMs() > crashAt && electedAt === undefined && c.leader() !== undefined) electedAt = c.events.nowMs();
    if (firstAckAfterCrash === undefined) c.events.after(1, poll);
  };
  c.events.at(crashAt, poll);
  c.events.runUntil(crashAt + 10_000, 2_000_000);
  if (firstAckAfterCrash === undefined || electedAt === undefined) return undefined;
  return { seed, failoverMs: firstAckAfterCrash - crashAt, electionMs: electedAt - crashAt };
}
