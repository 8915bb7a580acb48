// Small synchronous file helpers for cgroupfs: files there are tiny and reads never block, so sync IO keeps the
// drivers simple and cheap (a few microseconds per file). Missing files read as undefined; other errors throw.
import { readFileSync, writeFileSync, mkdirSync, rmdirSync, readdirSync, existsSync } from 'node:fs';
import { BorgError } from '../../model/errors';

export function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e: unknown) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENODEV') return undefined;
    throw e;
  }
}

export function readNumber(path: string): number {
  const s = readOptional(path);
  if (s === undefined) return 0;
  const n = Number(s.trim());
  return Number.isFinite(n) ? n : 0;
}

export function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e: unknown) {
    throw new BorgError('internal', `cannot write ${JSON.stringify(value)} to ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function mkdirp(path: string): void {
  mkdirSync(path, { recursive: true });
}

/** rmdirIfPresent removes an (empty) cgroup directory; false when processes keep it busy. */
export function rmdirIfPresent(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch (e: unknown) {
    const code = errno(e);
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return false;
    throw e;
  }
}

export function subdirs(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

/** signalPids sends a signal to each pid, ignoring ones that are already gone. */
export function signalPids(pids: number[], signal: NodeJS.Signals): number {
  let n = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      n++;
    } catch (e: unknown) {
      if (errno(e) !== 'ESRCH') throw e;
    }
  }
  return n;
}

/** sleepSync blocks without spinning: the Borglet's destroy paths (not its hot path), the scheduler bench's gaps. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
