// runSeed is one whole simulated run from a seed: a fault phase (loss, duplication, reordering, delay spikes,
// partitions incl. asymmetric ones, crash-restart losing unsynced writes, clock drift), then everything heals and
// the cluster must make progress and converge. Safety is checked on every apply and, at the end, the clients'
// history of lease reads and writes is checked for linearizability.
import { SeededRng, shuffle } from '../../model/rng';
import { SimCluster, type SimOptions } from './cluster';
import { checkRegister, type RegisterOp } from './linearizability';

export interface RunOptions {
  /** faultMs: how long faults are injected; then healMs of calm in which progress is required. */
  faultMs: number;
  healMs: number;
  clients: number;
  /** replicas: force a cluster size; otherwise drawn from the seed (mostly 3, some 5, a few 1). */
  replicas?: number;
  /** allFaults: every fault kind is on (the CI setting); false keeps the network clean (debugging). */
  allFaults: boolean;
}

export const DEFAULT_RUN: RunOptions = { faultMs: 4_000, healMs: 4_000, clients: 3, allFaults: true };

export interface RunResult {
  seed: number;
  ok: boolean;
  failures: string[];
  stats: {
    replicas: number;
    writesAcked: number;
    writesLost: number;
    writesUnknown: number;
    reads: number;
    maxCommit: number;
    crashes: number;
    messages: number;
    events: number;
    linearizabilityStates: number;
  };
}

/** simOptionsFor draws the cluster's shape and bounds from the seed (small bounds exercise the edges). */
export function simOptionsFor(seed: number, run: RunOptions): SimOptions {
  const rng = new SeededRng(seed).fork('shape');
  const pick = rng.int(10);
  const replicas = run.replicas ?? (pick < 7 ? 3 : pick < 9 ? 5 : 1);
  return {
    seed,
    replicas,
    tickMs: 50,
    electionTicks: 10,
    heartbeatTicks: 2,
    leaseTicks: 8,
    maxClockDrift: 0.05,
    maxBatchEntries: 1 + rng.int(8),
    maxInflightSlots: 8 + rng.int(64),
    maxCatchupEntries: 1 + rng.int(16),
    snapshotEvery: 5 + rng.int(40),
    minSyncMs: 0.2,
    maxSyncMs: 1 + rng.int(rng.next() < 0.3 ? 40 : 8),
    applyEarly: rng.next() < 0.5,
    takeMessagesEarly: rng.next() < 0.5,
    takeCommittedEarly: rng.next() < 0.5,
  };
}

export function runSeed(seed: number, run: RunOptions = DEFAULT_RUN): RunResult {
  const o = simOptionsFor(seed, run);
  const c = new SimCluster(o);
  const rng = new SeededRng(seed).fork('run');
  const failures: string[] = [];
  const history: RegisterOp[] = [];
  let opId = 0;
  let crashes = 0;
  let writesAcked = 0;
  let writesLost = 0;
  let writesUnknown = 0;
  let reads = 0;
  const acked = new Map<number, string>();
  const healAt = run.faultMs;
  const endAt = run.faultMs + run.healMs;
  const clientsStopAt = endAt - 1_500;
  let ackedAfterHeal = 0;

  c.net.faults = { lossRate: 0, duplicateRate: 0, minDelayMs: 0.2, maxDelayMs: 2, spikeRate: 0, spikeDelayMs: 0 };

  // --- clients ---
  for (let k = 0; k < run.clients; k++) {
    const crng = rng.fork(`client-${k}`);
    let target = 1 + crng.int(o.replicas);
    const next = (): void => {
      if (c.events.nowMs() >= clientsStopAt) return;
      c.events.after(crng.next() * 20, op);
    };
    const retarget = (hint: number | undefined): void => {
      target = hint ?? 1 + crng.int(o.replicas);
    };
    const op = (): void => {
      const id = ++opId;
      const invokeMs = c.events.nowMs();
      if (crng.next() < 0.6) {
        const value = `c${k}-${id}`;
        let answered = false;
        const timeout = (): void => {
          if (answered) return;
          answered = true;
          writesUnknown++;
          history.push({ kind: 'write', value, invokeMs, responseMs: undefined, id });
          retarget(undefined);
          next();
        };
        c.write(target, value, (outcome, slot, hint) => {
          if (answered) {
            // A late answer after the client gave up: an ack still tells the checker what is chosen.
            if (outcome === 'acked') acked.set(slot, value);
            return;
          }
          switch (outcome) {
            case 'rejected':
              answered = true;
              retarget(hint);
              return next();
            case 'acked':
              answered = true;
              writesAcked++;
              acked.set(slot, value);
              if (invokeMs >= healAt) ackedAfterHeal++;
              history.push({ kind: 'write', value, invokeMs, responseMs: c.events.nowMs(), id });
              return next();
            case 'lost':
              answered = true;
              writesLost++;
              retarget(undefined);
              return next();
            case 'unknown':
              return timeout();
          }
        });
        if (!answered) c.events.after(2_000, timeout);
      } else {
        let answered = false;
        c.read(target, (value, hint, lost) => {
          if (answered) return;
          answered = true;
          if (value === undefined) {
            retarget(lost ? undefined : hint);
            return next();
          }
          reads++;
          history.push({ kind: 'read', value, invokeMs, responseMs: c.events.nowMs(), id });
          next();
        });
        c.events.after(2_000, () => {
          if (answered) return;
          answered = true; // no answer: a read without a response is left out of the history
          retarget(undefined);
          next();
        });
      }
    };
    c.events.after(crng.next() * 100, op);
  }

  // --- a spraying reader: lease reads at every replica in turn, so a deposed leader that still answers is caught ---
  {
    const srng = rng.fork('sprayer');
    // One read at a time, abandoned after 100 ms (a paused replica answers late; an abandoned read is left out
    // of the history), so reads never pile up into a search the checker cannot finish.
    const spray = (): void => {
      if (c.events.nowMs() >= clientsStopAt) return;
      const id = ++opId;
      const invokeMs = c.events.nowMs();
      let done = false;
      const next = (): void => {
        if (done) return;
        done = true;
        c.events.after(2 + srng.next() * 10, spray);
      };
      c.read(1 + srng.int(o.replicas), (value) => {
        if (done) return;
        if (value !== undefined) {
          reads++;
          history.push({ kind: 'read', value, invokeMs, responseMs: c.events.nowMs(), id });
        }
        next();
      });
      c.events.after(100, next);
    };
    if (run.clients > 0) c.events.after(srng.next() * 10, spray);
  }

  // --- faults ---
  const frng = rng.fork('faults');
  const down = new Set<number>();
  if (run.allFaults) {
    const fault = (): void => {
      if (c.events.nowMs() >= healAt) return;
      const kind = frng.int(9);
      // Half the crashes hit the leader, often within a disk sync of its last write: the riskiest moment.
      const leader = c.leader();
      const anyone = kind <= 1 && leader !== undefined && frng.next() < 0.5 ? leader : 1 + frng.int(o.replicas);
      switch (kind) {
        case 0:
        case 1: {
          if (!down.has(anyone)) {
            c.crash(anyone);
            crashes++;
            down.add(anyone);
            c.events.after(50 + frng.next() * 1_500, () => {
              if (!down.has(anyone)) return;
              down.delete(anyone);
              c.restart(anyone);
            });
          }
          break;
        }
        case 2: {
          const shuffled = shuffle([...c.ids], frng);
          const cut = 1 + frng.int(Math.max(1, o.replicas - 1));
          c.net.heal();
          c.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
          break;
        }
        case 3:
          c.net.heal();
          c.net.isolate(anyone, c.ids);
          break;
        case 4: {
          // Asymmetric: a few directed links drop everything one way only.
          for (let i = 0, n = 1 + frng.int(3); i < n; i++) {
            const a = 1 + frng.int(o.replicas);
            const b = 1 + frng.int(o.replicas);
            if (a !== b) c.net.cut(a, b);
          }
          break;
        }
        case 5:
          c.net.heal();
          break;
        case 6:
          // A process pause (GC, SIGSTOP), most often of the leader: the classic hazard for leases.
          c.pause(leader !== undefined && frng.next() < 0.6 ? leader : anyone, 50 + frng.next() * 1_500);
          break;
        default: {
          const spiky = frng.next() < 0.5;
          c.net.faults = {
            lossRate: frng.next() * 0.25,
            duplicateRate: frng.next() * 0.1,
            minDelayMs: 0.1,
            maxDelayMs: 1 + frng.next() * 15,
            spikeRate: spiky ? frng.next() * 0.05 : 0,
            spikeDelayMs: 300,
          };
          break;
        }
      }
      c.events.after(80 + frng.next() * 500, fault);
    };
    c.events.after(frng.next() * 300, fault);
  }

  c.events.after(healAt, () => {
    c.net.heal();
    c.net.faults = { lossRate: 0, duplicateRate: 0, minDelayMs: 0.2, maxDelayMs: 2, spikeRate: 0, spikeDelayMs: 0 };
    for (const id of [...down]) {
      down.delete(id);
      c.restart(id);
    }
  });

  const maxEvents = 5_000_000;
  try {
    c.events.runUntil(endAt, maxEvents);
  } catch (e: unknown) {
    failures.push(`run aborted: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  failures.push(...c.violations);

  // --- liveness after healing ---
  const statuses = c.ids.map((id) => c.replica(id).core?.status());
  const maxCommit = Math.max(0, ...statuses.map((s) => s?.commitIndex ?? 0));
  if (c.leader() === undefined) failures.push(`liveness: no leader ${run.healMs} ms after healing`);
  if (run.clients > 0 && ackedAfterHeal === 0) failures.push('liveness: no write was acknowledged after healing');
  for (const s of statuses) {
    if (s === undefined) continue;
    if (s.commitIndex !== maxCommit || s.appliedIndex !== maxCommit) {
      failures.push(`liveness: replica ${s.id} did not converge (commit ${s.commitIndex}, applied ${s.appliedIndex}, cluster ${maxCommit})`);
    }
  }
  // --- durability: every acknowledged write is what its slot holds ---
  for (const [slot, value] of acked) {
    const got = c.chosen.get(slot);
    if (got !== value) failures.push(`durability: acknowledged write ${value} at slot ${slot} but the slot holds ${JSON.stringify(got)}`);
    if (slot > maxCommit) failures.push(`durability: acknowledged slot ${slot} is above the converged commit ${maxCommit}`);
  }
  // --- linearizability of lease reads ---
  const lin = checkRegister(history, '', 300_000);
  if (lin.ok === false) failures.push(`linearizability: ${lin.reason}`);
  if (lin.ok === 'unknown') failures.push(`linearizability: search budget exhausted after ${lin.explored} states (history of ${history.length} ops)`);

  return {
    seed,
    ok: failures.length === 0,
    failures,
    stats: {
      replicas: o.replicas,
      writesAcked,
      writesLost,
      writesUnknown,
      reads,
      maxCommit,
      crashes,
      messages: c.net.stats.sent,
      events: c.events.fired,
      linearizabilityStates: lin.explored,
    },
  };
}
