// idleMinorGc really collects the young generation (a minor GC shows up in the gc performance entries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { idleMinorGc } from './idle_gc';

test('idleMinorGc runs a minor collection, every time it is called', async () => {
  const seen: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  assert.equal(idleMinorGc(), true);
  assert.equal(idleMinorGc(), true);
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const minor = seen.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR);
  assert.ok(minor.length >= 2, `minor collections seen: ${minor.length}`);
});
