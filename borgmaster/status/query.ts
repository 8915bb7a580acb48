// Parsing of the status page's query strings into typed queries. Bad input gets a precise InvalidArgument naming
// the parameter (rendered as a 400 page); nothing a URL says can make the server do unbounded work.
import { InvalidArgument } from '../../model/errors';
import { EVENT_TYPE_NAMES } from '../../model/task_state';
import { STATUS_PAGE_ROWS_DEFAULT, STATUS_PAGE_ROWS_MAX, EVENT_HISTORY_MAX, MAX_TASKS_PER_CELL } from '../../cells/limits';
import {
  BAND_NAMES,
  JOB_SORT_KEYS,
  MACHINE_STATE_NAMES,
  TASK_HEALTH_NAMES,
  TASK_SORT_KEYS,
  TASK_STATE_NAMES,
  type BandName,
  type EventQuery,
  type JobQuery,
  type MachineStateName,
  type SortDir,
  type TaskHealthName,
  type TaskQuery,
  type TaskStateName,
} from './source';

/** EVENT_TYPE_NAMES: the event types a filter may name (model/task_state.ts). */
export { EVENT_TYPE_NAMES };

const TEXT_MAX = 256;

function text(p: URLSearchParams, name: string): string | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  if (v.length > TEXT_MAX) throw new InvalidArgument(name, `is ${v.length} characters long, more than ${TEXT_MAX}`);
  return v;
}

function oneOf<T extends string>(p: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const v = text(p, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new InvalidArgument(name, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  return v as T;
}

function positiveInt(p: URLSearchParams, name: string, dflt: number, max: number): number {
  const v = text(p, name);
  if (v === undefined) return dflt;
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new InvalidArgument(name, `${JSON.stringify(v)} is not a positive integer`);
  const n = Number(v);
  if (n > max) throw new InvalidArgument(name, `${n} is more than ${max}`);
  return n;
}

function paging(p: URLSearchParams, maxRows: number): { offset: number; limit: number } {
  const limit = positiveInt(p, 'rows', STATUS_PAGE_ROWS_DEFAULT, STATUS_PAGE_ROWS_MAX);
  const pageNo = positiveInt(p, 'page', 1, Math.max(1, Math.ceil(maxRows / limit)));
  return { offset: (pageNo - 1) * limit, limit };
}

function dir(p: URLSearchParams, dflt: SortDir): SortDir {
  return oneOf(p, 'dir', ['asc', 'desc'] as const) ?? dflt;
}

export function parseTaskQuery(p: URLSearchParams): TaskQuery {
  const sort = oneOf(p, 'sort', TASK_SORT_KEYS) ?? 'id';
  return {
    user: text(p, 'user'),
    job: text(p, 'job'),
    machine: text(p, 'machine'),
    state: oneOf<TaskStateName>(p, 'state', TASK_STATE_NAMES),
    health: oneOf<TaskHealthName>(p, 'health', TASK_HEALTH_NAMES),
    band: oneOf<BandName>(p, 'band', BAND_NAMES),
    q: text(p, 'q'),
    sort,
    dir: dir(p, sort === 'id' || sort === 'machine' ? 'asc' : 'desc'),
    ...paging(p, MAX_TASKS_PER_CELL),
  };
}

export function parseJobQuery(p: URLSearchParams): JobQuery {
  const sort = oneOf(p, 'sort', JOB_SORT_KEYS) ?? 'id';
  return {
    user: text(p, 'user'),
    band: oneOf<BandName>(p, 'band', BAND_NAMES),
    q: text(p, 'q'),
    sort,
    dir: dir(p, sort === 'id' || sort === 'user' ? 'asc' : 'desc'),
    ...paging(p, MAX_TASKS_PER_CELL),
  };
}

export function parseEventQuery(p: URLSearchParams): EventQuery {
  return {
    user: text(p, 'user'),
    job: text(p, 'job'),
    machine: text(p, 'machine'),
    taskId: text(p, 'task'),
    type: oneOf(p, 'type', EVENT_TYPE_NAMES),
    ...paging(p, EVENT_HISTORY_MAX),
  };
}

export function parseMachineQuery(p: URLSearchParams): { state: MachineStateName | undefined; q: string | undefined; offset: number; limit: number } {
  return { state: oneOf<MachineStateName>(p, 'state', MACHINE_STATE_NAMES), q: text(p, 'q'), ...paging(p, MAX_TASKS_PER_CELL) };
}
