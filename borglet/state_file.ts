// The Borglet's durable memory: the highest master ballot seen and every task it runs (spec, pids, restart
// count, reservation). Written atomically (temp file, fsync, rename, fsync of the directory) before the Borglet
// acts on a newer ballot and after every start, so a Borglet killed at any instant finds its tasks again and
// still refuses a deposed master. Checked field by field when read back.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assert } from '../model/assert';
import { BorgError } from '../model/errors';
import type { Resources } from '../model/resources';
import type { Ballot } from '../proto/index';
import { BORGLET_STATE_FILE_MAX_BYTES } from '../cells/limits';

export type Phase = 'starting' | 'running' | 'backoff' | 'stopping' | 'dead';
export const PHASES: readonly Phase[] = ['starting', 'running', 'backoff', 'stopping', 'dead'];

export interface PersistedTask {
  taskId: string;
  specVersion: number;
  /** spec is the TaskSpec, protobuf-encoded and base64'd, so it round-trips exactly. Empty for a rejected order. */
  spec: string;
  priority: number;
  bnsName: string;
  ports: number[];
  phase: Phase;
  pid: number;
  wrapperPid: number;
  wrapperStartTicks: number;
  runId: number;
  startTimeMs: number;
  endTimeMs: number;
  restarts: number;
  /** streak: runs ended in a row since a run lasted the policy's resetAfterMs (or since placed); streakReset: one did. */
  streak: number;
  streakReset: boolean;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  lastEvent: number;
  message: string;
  reservation: Resources;
  lastDecayMs: number;
  oomBaseline: number;
  nextRestartMs: number;
  /** forget: once stopped, drop the record (the master no longer wants the task). */
  forget: boolean;
}

export interface PersistedState {
  version: 1;
  machine: string;
  seenBallot: Ballot;
  tasks: PersistedTask[];
}

export const STATE_FILE = 'borglet.json';

function isRes(r: unknown): r is Resources {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  return ['cpuMillis', 'ramBytes', 'diskBytes', 'ports'].every((k) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0);
}

function checkTask(t: PersistedTask, i: number): void {
  const where = `tasks[${i}]`;
  // Written before streaks were kept: every run ended since placed is in the streak (each restart followed one end,
  // and a task waiting to restart or dead has ended once more).
  t.streak ??= t.restarts + (t.phase === 'backoff' || t.phase === 'dead' ? 1 : 0);
  t.streakReset ??= false;
  assert(typeof t.taskId === 'string' && t.taskId.length > 0, `${where}.taskId`);
  assert(typeof t.spec === 'string', `${where}.spec`);
  assert(PHASES.includes(t.phase), `${where}.phase ${String(t.phase)}`);
  for (const k of ['specVersion', 'priority', 'pid', 'wrapperPid', 'wrapperStartTicks', 'runId', 'startTimeMs', 'endTimeMs', 'restarts', 'streak', 'lastEvent', 'lastDecayMs', 'oomBaseline', 'nextRestartMs'] as const) {
    assert(Number.isSafeInteger(t[k]), `${where}.${k} = ${String(t[k])}`);
  }
  assert(t.streak >= 0, `${where}.streak = ${t.streak}`);
  assert(Array.isArray(t.ports) && t.ports.every((p) => Number.isInteger(p)), `${where}.ports`);
  assert(t.exitCode === null || Number.isInteger(t.exitCode), `${where}.exitCode`);
  assert(t.signal === null || typeof t.signal === 'string', `${where}.signal`);
  assert(typeof t.oomKilled === 'boolean' && typeof t.forget === 'boolean' && typeof t.streakReset === 'boolean', `${where} flags`);
  assert(typeof t.message === 'string' && typeof t.bnsName === 'string', `${where} strings`);
  assert(isRes(t.reservation), `${where}.reservation`);
  assert(t.phase !== 'running' || t.pid > 0, `${where}: a running task has a pid`);
}

/** loadState reads the state file; undefined if there is none. A corrupt file is an error, never silently reset. */
export function loadState(dir: string): PersistedState | undefined {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  if (statSync(path).size > BORGLET_STATE_FILE_MAX_BYTES) throw new BorgError('failed_precondition', `${path} is larger than ${BORGLET_STATE_FILE_MAX_BYTES} bytes`);
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as PersistedState;
    assert(s.version === 1, `unknown version ${String(s.version)}`);
    assert(typeof s.machine === 'string', 'machine');
    assert(Number.isSafeInteger(s.seenBallot?.round) && Number.isSafeInteger(s.seenBallot?.replica), 'seenBallot');
    assert(Array.isArray(s.tasks), 'tasks');
    s.tasks.forEach(checkTask);
    return s;
  } catch (e: unknown) {
    throw new BorgError('failed_precondition', `state file ${path} is unreadable (${e instanceof Error ? e.message : String(e)}); move it away to start afresh (its tasks' cgroups will then be cleaned up)`, { cause: e });
  }
}

/** saveState replaces the state file atomically and durably. */
export function saveState(dir: string, s: PersistedState): void {
  s.tasks.forEach(checkTask);
  const text = JSON.stringify(s);
  assert(text.length <= BORGLET_STATE_FILE_MAX_BYTES, 'state file within its bound');
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
