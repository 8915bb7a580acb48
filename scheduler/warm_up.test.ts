// warmUp: it runs the paths it exists for (placements, preemptions, superset rechecks, verdicts) and is
// deterministic; the caller's cell and scheduler are not involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warmUp } from './warm_up';
import { config } from './testing';

test('warmUp exercises placements, preemptions and superset rechecks, deterministically', () => {
  const a = warmUp(config(), {}, 3);
  assert.ok(a.placed > 500, `placed ${a.placed}`);
  assert.ok(a.preemptions > 0, 'preempts');
  assert.ok(a.supersetRechecks > 0, 'exhausted classes recheck the superset');
  assert.ok(a.diskShortVerdicts > 0, 'machines short of disk alone are met (the 2011 trace asks for disk)');
  assert.equal(a.passes, 1 + 3 * 3);
  assert.deepEqual(warmUp(config(), {}, 3), a);
  // Every optimization setting runs (the benchmark warms up whatever it measures).
  const off = warmUp(config({ scoreCaching: false, equivalenceClasses: false, relaxedRandomization: false }), {}, 1);
  assert.ok(off.placed > 0);
  assert.throws(() => warmUp(config(), {}, -1), /rounds/);
});
