// CI's run of the Paxos simulation: 500 seeds with every fault on (loss, duplication, reordering, partitions incl.
// asymmetric, crash-restart losing unsynced writes, clock drift), then healing and a liveness requirement.
// More: `npm run sim -- paxos --seeds 100000 --quiet`; one seed: `npm run sim -- paxos --seed S`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN, runSeed } from './run';
import { measureFailover } from './failover';

const SEEDS = Number(process.env.BORG_PAXOS_SIM_SEEDS ?? 500);

test(`Paxos simulation: ${SEEDS} seeds, every fault on, safe, linearizable and live after healing`, () => {
  const failed: string[] = [];
  let acked = 0;
  let sizes = new Set<number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, DEFAULT_RUN);
    acked += r.stats.writesAcked;
    sizes = sizes.add(r.stats.replicas);
    if (!r.ok) failed.push(`seed ${seed} (replay: npm run sim -- paxos --seed ${seed}):\n    ${r.failures.slice(0, 5).join('\n    ')}`);
  }
  assert.deepEqual(failed, [], `failing seeds:\n${failed.join('\n')}`);
  assert.ok(acked > SEEDS * 50, `the runs did real work (${acked} acknowledged writes)`);
  if (SEEDS >= 100) assert.deepEqual([...sizes].sort(), [1, 3, 5], 'every cluster size was exercised');
});

test('a seed replays exactly', () => {
  const a = runSeed(42, DEFAULT_RUN);
  const b = runSeed(42, DEFAULT_RUN);
  assert.deepEqual(a, b);
});

test('failover with default timing: a new leader commits within 1 s of the old one crashing (median, simulated)', () => {
  const samples = Array.from({ length: 40 }, (_, i) => measureFailover(1_000 + i));
  const ok = samples.filter((s) => s !== undefined).map((s) => s.failoverMs).sort((a, b) => a - b);
  assert.equal(ok.length, samples.length, 'every trial recovered');
  const median = ok[Math.floor(ok.length / 2)] ?? Infinity;
  assert.ok(median < 1_000, `median failover ${median.toFixed(0)} ms`);
  // Faster than an election timeout would be a bug: rivals must wait out the dead leader's lease.
  assert.ok((ok[0] ?? 0) >= 8 * 50 * 0.9, `fastest failover ${ok[0]} ms is shorter than the lease`);
});
