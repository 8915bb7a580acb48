// PauseMonitor: a blocked event loop shows as lag of about the blocked time, and a forced full GC as a major pause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BorgMetrics } from './metrics';
import { PauseMonitor } from './pause_monitor';

/** count reads one series' _count from the metrics text (0 when absent). */
function count(text: string, series: string): number {
  const m = new RegExp(`^${series}_count(?:\\{([^}]*)\\})? (\\d+)$`, 'm').exec(text);
  return m ? Number(m[2]) : 0;
}

/** bucket reads the cumulative count of one histogram bucket. */
function bucket(text: string, series: string, le: string, label = ''): number {
  const m = new RegExp(`^${series}_bucket\\{${label}le="${le}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('pause monitor: a 300 ms block is seen as lag between 0.25 and 0.5 s; a forced full GC as a major pause', { timeout: 10_000 }, async (t) => {
  const metrics = new BorgMetrics();
  const monitor = new PauseMonitor(metrics);
  t.after(() => monitor.stop());
  monitor.start();
  await sleep(200);
  let text = await metrics.text();
  assert.ok(count(text, 'borg_event_loop_lag_seconds') >= 2, 'the timer ticks');
  assert.equal(count(text, 'borg_event_loop_lag_seconds') - bucket(text, 'borg_event_loop_lag_seconds', '0.25'), 0, 'an idle loop is not late by 250 ms');

  const until = performance.now() + 300;
  while (performance.now() < until) {
    // block the event loop
  }
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  await sleep(200);
  text = await metrics.text();
  const late = count(text, 'borg_event_loop_lag_seconds') - bucket(text, 'borg_event_loop_lag_seconds', '0.25');
  assert.equal(late, 1, 'one tick was late by more than 250 ms');
  assert.equal(bucket(text, 'borg_event_loop_lag_seconds', '0.5') - bucket(text, 'borg_event_loop_lag_seconds', '0.25'), 1, 'and by less than 500 ms');
  assert.ok(/^borg_gc_pause_seconds_count\{kind="major"\} [1-9]/m.test(text), `a major GC pause is counted:\n${text.split('\n').filter((l) => l.includes('gc_pause_seconds_count')).join('\n')}`);
  monitor.stop();
});
