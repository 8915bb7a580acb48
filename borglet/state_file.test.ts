import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, saveState, STATE_FILE, type PersistedTask } from './state_file';

const record = (over: Partial<PersistedTask>): PersistedTask => ({
  taskId: 'c/u/j/0', specVersion: 1, spec: '', priority: 100, bnsName: '0.j.u.c.borg', ports: [], phase: 'dead', pid: 0, wrapperPid: 0, wrapperStartTicks: 0,
  runId: 1, startTimeMs: 0, endTimeMs: 0, restarts: 0, streak: 0, streakReset: false, exitCode: null, signal: null, oomKilled: false, lastEvent: 0, message: '',
  reservation: { cpuMillis: 100, ramBytes: 1 << 20, diskBytes: 0, ports: 0 }, lastDecayMs: 0, oomBaseline: 0, nextRestartMs: 0, forget: false, ...over,
});

test('state file: records round-trip; one written before streaks were kept gets every ended run as its streak', () => {
  const dir = mkdtempSync(join(tmpdir(), 'borglet-state-'));
  try {
    const kept = record({ taskId: 'c/u/j/1', restarts: 4, streak: 1, streakReset: true });
    saveState(dir, { version: 1, machine: 'm', seenBallot: { round: 1, replica: 0 }, tasks: [kept] });
    assert.deepEqual(loadState(dir)?.tasks, [kept]);
    // Older files: a waiting or dead task has ended once more than it was restarted; a running one as often.
    const old = (over: Partial<PersistedTask>) => {
      const r: Partial<PersistedTask> = record(over);
      delete r.streak;
      delete r.streakReset;
      return r;
    };
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ version: 1, machine: 'm', seenBallot: { round: 1, replica: 0 }, tasks: [old({ phase: 'backoff', restarts: 2 }), old({ taskId: 'c/u/j/2', phase: 'running', pid: 7, restarts: 2 })] }));
    assert.deepEqual(loadState(dir)?.tasks.map((t) => [t.streak, t.streakReset]), [[3, false], [2, false]]);
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ version: 1, machine: 'm', seenBallot: { round: 1, replica: 0 }, tasks: [record({ streak: -1 })] }));
    assert.throws(() => loadState(dir), /tasks\[0\]\.streak = -1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
