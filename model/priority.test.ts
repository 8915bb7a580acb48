import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canPreempt, isProd, bandOf, PriorityBand, parsePriority, bandName } from './priority';
import { InvalidArgument } from './errors';

// One representative priority at each band's edges.
const samples: [number, PriorityBand][] = [
  [0, PriorityBand.FREE], [99, PriorityBand.FREE],
  [100, PriorityBand.BEST_EFFORT], [115, PriorityBand.BEST_EFFORT],
  [116, PriorityBand.MID], [119, PriorityBand.MID],
  [120, PriorityBand.PRODUCTION], [359, PriorityBand.PRODUCTION],
  [360, PriorityBand.MONITORING], [1000, PriorityBand.MONITORING],
];

test('bands and isProd at every edge', () => {
  for (const [p, band] of samples) {
    assert.equal(bandOf(p), band, `bandOf(${p})`);
    assert.equal(isProd(p), p >= 120, `isProd(${p})`);
  }
});

test('canPreempt over all band pairs: higher preempts lower, prod never preempts prod, equal never', () => {
  for (const [a, bandA] of samples) {
    for (const [b, bandB] of samples) {
      const want = a > b && !(a >= 120 && b >= 120);
      assert.equal(canPreempt(a, b), want, `canPreempt(${a} ${bandName(bandA)}, ${b} ${bandName(bandB)})`);
    }
  }
  assert.equal(canPreempt(360, 200), false, 'monitoring is prod: it does not preempt production');
  assert.equal(canPreempt(200, 119), true, 'prod preempts mid');
  assert.equal(canPreempt(100, 100), false, 'equal priority never preempts');
});

test('parsePriority accepts names and numbers and rejects the rest', () => {
  assert.equal(parsePriority('prod'), 200);
  assert.equal(parsePriority('batch'), 100);
  assert.equal(parsePriority('free'), 0);
  assert.equal(parsePriority('monitoring'), 360);
  assert.equal(parsePriority('117'), 117);
  assert.throws(() => parsePriority('urgent'), InvalidArgument);
  assert.throws(() => parsePriority('-1'), InvalidArgument);
  assert.throws(() => parsePriority('1001'), /must be in \[0, 1000\]/);
});
