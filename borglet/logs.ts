// Task logs on disk, bounded: the task writes its stdout and stderr straight into files opened with O_APPEND
// (no pipe through the Borglet, so a Borglet restart never breaks a task's output), and the Borglet rotates a
// file into `<name>.1` once it passes half the bound, so each stream keeps at most TASK_LOG_MAX_BYTES on disk
// (plus what is written between two checks). Lines written during a rotation's copy can be lost; the bound
// matters more than those bytes.
import { closeSync, copyFileSync, openSync, readSync, fstatSync, statSync, truncateSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_TAIL_MAX_BYTES, TASK_LOG_MAX_BYTES } from '../cells/limits';

export type Stream = 'stdout' | 'stderr';

export function logPath(dir: string, stream: Stream): string {
  return join(dir, stream);
}

/** openLog opens a stream's file for appending; the fd is handed to the task. */
export function openLog(dir: string, stream: Stream): number {
  return openSync(logPath(dir, stream), 'a', 0o640);
}

/** rotateIfLarge moves a stream that passed half the bound into `.1`. Returns true if it rotated. */
export function rotateIfLarge(dir: string, stream: Stream, maxBytes = TASK_LOG_MAX_BYTES): boolean {
  const p = logPath(dir, stream);
  let size: number;
  try {
    size = statSync(p).size;
  } catch {
    return false;
  }
  if (size <= maxBytes / 2) return false;
  copyFileSync(p, `${p}.1`);
  truncateSync(p, 0);
  return true;
}

function readTail(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(n, size);
    const buf = Buffer.alloc(len);
    let off = 0;
    while (off < len) {
      const r = readSync(fd, buf, off, len - off, size - len + off);
      if (r === 0) break;
      off += r;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** tailLog returns the last tailBytes (bounded by LOG_TAIL_MAX_BYTES) of a stream, across its rotation. */
export function tailLog(dir: string, stream: Stream, tailBytes: number): { data: Buffer; truncated: boolean } {
  const want = Math.min(tailBytes > 0 ? tailBytes : LOG_TAIL_MAX_BYTES, LOG_TAIL_MAX_BYTES);
  const p = logPath(dir, stream);
  const cur = existsSync(p) ? readTail(p, want) : Buffer.alloc(0);
  let data = cur;
  let total = existsSync(p) ? statSync(p).size : 0;
  if (cur.length < want && existsSync(`${p}.1`)) {
    data = Buffer.concat([readTail(`${p}.1`, want - cur.length), cur]);
    total += statSync(`${p}.1`).size;
  }
  return { data, truncated: total > data.length };
}

/**
 * keepEndedLogs keeps the output of a task leaving the machine: the last LOG_TAIL_MAX_BYTES of each stream (all that
 * a log request can return) go to `root/name`, so a finished or killed task's logs can still be read after the
 * master let it go. Answers whether there was anything to keep.
 */
export function keepEndedLogs(taskDir: string, root: string, name: string): boolean {
  if (!existsSync(logPath(taskDir, 'stdout')) && !existsSync(logPath(taskDir, 'stderr'))) return false;
  const dest = join(root, name);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const stream of ['stdout', 'stderr'] as const) writeFileSync(logPath(dest, stream), tailLog(taskDir, stream, LOG_TAIL_MAX_BYTES).data);
  return true;
}

/** pruneEndedLogs drops the oldest kept logs under `root` until `keep` remain; answers how many remain. */
export function pruneEndedLogs(root: string, keep: number): number {
  if (!existsSync(root)) return 0;
  const kept = readdirSync(root).map((n) => ({ n, at: statSync(join(root, n)).mtimeMs })).sort((a, b) => a.at - b.at);
  for (const old of kept.slice(0, Math.max(0, kept.length - keep))) rmSync(join(root, old.n), { recursive: true, force: true });
  return Math.min(kept.length, keep);
}
