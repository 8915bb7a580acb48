// The Borglet's decisions on simulated machines, a handful of seeds in CI (more: npm run sim -- borglet --seeds N).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateMachine } from './sim_machine';

test('simulated machines: invariants hold, pressure is exercised, seeds replay exactly', () => {
  let evictions = 0;
  let throttled = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const r = simulateMachine(seed);
    assert.deepEqual(r.violations, [], `seed ${seed} (replay: npm run sim -- borglet --seed ${seed})`);
    assert.equal(simulateMachine(seed).hash, r.hash, `seed ${seed} replays`);
    evictions += r.evictions;
    throttled += r.throttledTicks;
  }
  assert.ok(evictions > 0, 'memory pressure happened');
  assert.ok(throttled > 0, 'CPU throttling happened');
  assert.notEqual(simulateMachine(1).hash, simulateMachine(2).hash, 'different seeds, different runs');
});
