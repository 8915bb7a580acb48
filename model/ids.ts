// Names and ids (DESIGN.md §3). Job id `cell/user/job`, task id `cell/user/job/index`, BNS name
// `index.job.user.cell.borg`. Names are lower-case so the two spellings convert losslessly in both directions.
import { InvalidArgument } from './errors';
import { MAX_TASKS_PER_JOB } from '../cells/limits';

export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const MACHINE_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const BNS_SUFFIX = 'borg';

export interface JobId {
  cell: string;
  user: string;
  job: string;
}

export interface TaskId extends JobId {
  index: number;
}

/** validateName checks a cell, user or job name and names the field on failure. */
export function validateName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgument(field, 'is required');
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgument(field, `${JSON.stringify(name)} is not a valid name (lower-case letter, then up to 62 of a-z 0-9 _ -)`);
  }
  return name;
}

export function validateMachineName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgument(field, 'is required');
  if (!MACHINE_NAME_PATTERN.test(name)) {
    throw new InvalidArgument(field, `${JSON.stringify(name)} is not a valid machine name (up to 63 of a-z 0-9 _ . -)`);
  }
  return name;
}

export function validateTaskIndex(index: unknown, field: string): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= MAX_TASKS_PER_JOB) {
    throw new InvalidArgument(field, `must be an integer in [0, ${MAX_TASKS_PER_JOB}), got ${String(index)}`);
  }
  return index;
}

export function formatJobId(id: JobId): string {
  return `${id.cell}/${id.user}/${id.job}`;
}

export function formatTaskId(id: TaskId): string {
  return `${id.cell}/${id.user}/${id.job}/${id.index}`;
}

export function parseJobId(s: string, field = 'job_id'): JobId {
  const parts = s.split('/');
  if (parts.length !== 3) throw new InvalidArgument(field, `${JSON.stringify(s)} is not cell/user/job`);
  const [cell, user, job] = parts as [string, string, string];
  return { cell: validateName(cell, `${field}.cell`), user: validateName(user, `${field}.user`), job: validateName(job, `${field}.job`) };
}

export function parseTaskId(s: string, field = 'task_id'): TaskId {
  const parts = s.split('/');
  if (parts.length !== 4) throw new InvalidArgument(field, `${JSON.stringify(s)} is not cell/user/job/index`);
  const [cell, user, job, index] = parts as [string, string, string, string];
  return { ...parseJobId(`${cell}/${user}/${job}`, field), index: parseIndex(index, `${field}.index`) };
}

function parseIndex(s: string, field: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new InvalidArgument(field, `${JSON.stringify(s)} is not a task index`);
  return validateTaskIndex(Number(s), field);
}

/** bnsName is the task's name in BNS: `index.job.user.cell.borg`. */
export function bnsName(id: TaskId): string {
  return `${id.index}.${id.job}.${id.user}.${id.cell}.${BNS_SUFFIX}`;
}

/** bnsJobName is the job's name in BNS: `job.user.cell.borg`. */
export function bnsJobName(id: JobId): string {
  return `${id.job}.${id.user}.${id.cell}.${BNS_SUFFIX}`;
}

/** parseBnsName accepts a task name (`index.job.user.cell.borg`) or a job name (`job.user.cell.borg`). */
export function parseBnsName(s: string, field = 'name'): TaskId | JobId {
  const parts = s.split('.');
  if (parts[parts.length - 1] !== BNS_SUFFIX || (parts.length !== 4 && parts.length !== 5)) {
    throw new InvalidArgument(field, `${JSON.stringify(s)} is not a BNS name (index.job.user.cell.borg or job.user.cell.borg)`);
  }
  if (parts.length === 4) {
    const [job, user, cell] = parts as [string, string, string, string];
    return { cell: validateName(cell, `${field}.cell`), user: validateName(user, `${field}.user`), job: validateName(job, `${field}.job`) };
  }
  const [index, job, user, cell] = parts as [string, string, string, string, string];
  return {
    cell: validateName(cell, `${field}.cell`),
    user: validateName(user, `${field}.user`),
    job: validateName(job, `${field}.job`),
    index: parseIndex(index, `${field}.index`),
  };
}

export function isTaskId(id: TaskId | JobId): id is TaskId {
  return 'index' in id;
}
