// Bounded task logs: rotation at half the bound into `.1`, tails across the rotation, bounded tail size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_TAIL_MAX_BYTES } from '../cells/limits';
import { keepEndedLogs, openLog, pruneEndedLogs, rotateIfLarge, tailLog, logPath } from './logs';

test('logs rotate at half the bound and tails span the rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'borglet-logs-'));
  try {
    const fd = openLog(dir, 'stdout');
    writeSync(fd, 'a'.repeat(600));
    assert.equal(rotateIfLarge(dir, 'stdout', 1000), true, 'past half of the bound');
    assert.equal(statSync(logPath(dir, 'stdout')).size, 0);
    // The writer keeps its O_APPEND descriptor: new output lands at the start of the truncated file.
    writeSync(fd, 'bbbb');
    closeSync(fd);
    assert.equal(statSync(logPath(dir, 'stdout')).size, 4);
    assert.equal(rotateIfLarge(dir, 'stdout', 1000), false);
    const t = tailLog(dir, 'stdout', 10);
    assert.equal(t.data.toString(), 'aaaaaabbbb');
    assert.equal(t.truncated, true);
    const all = tailLog(dir, 'stdout', 10_000);
    assert.equal(all.data.length, 604);
    assert.equal(all.truncated, false);
    // Repeated rotations keep at most one previous half: disk use stays within the bound.
    for (let i = 0; i < 5; i++) {
      appendFileSync(logPath(dir, 'stdout'), 'c'.repeat(700));
      rotateIfLarge(dir, 'stdout', 1000);
    }
    assert.ok(statSync(logPath(dir, 'stdout')).size + statSync(`${logPath(dir, 'stdout')}.1`).size <= 1000);
    assert.deepEqual(tailLog(dir, 'stderr', 10), { data: Buffer.alloc(0), truncated: false }, 'a stream never written is empty');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an ended task keeps the tail of each stream; the oldest kept logs go first', () => {
  const dir = mkdtempSync(join(tmpdir(), 'borg-ended-'));
  try {
    const root = join(dir, 'ended');
    const task = join(dir, 'task');
    mkdirSync(task);
    assert.equal(keepEndedLogs(task, root, 'c.u.j.0'), false, 'a task that wrote nothing leaves nothing');
    writeFileSync(logPath(task, 'stdout'), 'x'.repeat(LOG_TAIL_MAX_BYTES + 10) + 'end\n');
    assert.equal(keepEndedLogs(task, root, 'c.u.j.0'), true);
    const out = tailLog(join(root, 'c.u.j.0'), 'stdout', 0).data.toString();
    assert.equal(out.length, LOG_TAIL_MAX_BYTES, 'the last LOG_TAIL_MAX_BYTES');
    assert.ok(out.endsWith('end\n'));
    assert.equal(tailLog(join(root, 'c.u.j.0'), 'stderr', 0).data.length, 0);
    for (let i = 1; i <= 4; i++) {
      keepEndedLogs(task, root, `c.u.j.${i}`);
      utimesSync(join(root, `c.u.j.${i}`), i, i);
    }
    utimesSync(join(root, 'c.u.j.0'), 0, 0);
    assert.equal(pruneEndedLogs(root, 2), 2);
    assert.deepEqual(readdirSync(root).sort(), ['c.u.j.3', 'c.u.j.4']);
    assert.equal(pruneEndedLogs(join(dir, 'none'), 2), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
