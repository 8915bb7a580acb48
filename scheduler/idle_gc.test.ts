// idleGc really collects: the young generation every time, and the whole heap once it grew past the threshold
// (collections show up in the gc performance entries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { idleGc } from './idle_gc';

const MiB = 1024 * 1024;

async function collections(f: () => void): Promise<{ minor: number; major: number }> {
  const seen: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  f();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const kinds = seen.map((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind);
  return { minor: kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length, major: kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MAJOR).length };
}

test('idleGc collects the young generation, and the whole heap after it grew by the threshold', async () => {
  // The first call sets the low point growth is measured from; any growth at all makes the next one full.
  idleGc();
  assert.equal(idleGc(0), 'major');
  const small = await collections(() => {
    assert.equal(idleGc(64 * MiB), 'minor');
    assert.equal(idleGc(64 * MiB), 'minor');
  });
  assert.ok(small.minor >= 2 && small.major === 0, `minor ${small.minor}, major ${small.major}`);

  // 16 MiB and more of live objects: a full collection at an 8 MiB threshold, then minor ones from the new low point.
  const kept = Array.from({ length: 4 }, () => Array.from({ length: 100_000 }, (_, i) => ({ i, s: `x${i}` })));
  const grown = await collections(() => assert.equal(idleGc(8 * MiB), 'major'));
  assert.ok(grown.major >= 1, `major ${grown.major}`);
  assert.equal(idleGc(8 * MiB), 'minor');
  assert.equal(kept.length, 4);
});
