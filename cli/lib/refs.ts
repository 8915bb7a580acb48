// How people name jobs and tasks on the command line, turned into the API's ids: a job as `job`, `user/job`,
// `cell/user/job` or its BNS name `job.user.cell.borg`; a task as `job/index`, `user/job/index`,
// `cell/user/job/index` or `index.job.user.cell.borg`. The user defaults to --user and the cell to the target's.
import { InvalidArgument } from '../../model/errors';
import { formatTaskId, isTaskId, parseBnsName, validateName, validateTaskIndex, type JobId, type TaskId } from '../../model/ids';

function checkCell(cell: string, want: string, field: string): void {
  if (cell !== want) throw new InvalidArgument(field, `names cell ${JSON.stringify(cell)}, but the target is cell ${JSON.stringify(want)} (use --cell)`);
}

function index(s: string, field: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(s)) throw new InvalidArgument(field, `${JSON.stringify(s)} is not a task index`);
  return validateTaskIndex(Number(s), field);
}

/** parseJobRef reads a job reference; `field` names the argument in errors. */
export function parseJobRef(s: string, user: string, cell: string, field = 'JOB'): JobId {
  if (s.endsWith('.borg')) {
    const id = parseBnsName(s, field);
    if (isTaskId(id)) throw new InvalidArgument(field, `${JSON.stringify(s)} names a task; give a job`);
    checkCell(id.cell, cell, field);
    return id;
  }
  const parts = s.split('/');
  switch (parts.length) {
    case 1:
      return { cell, user, job: validateName(parts[0], field) };
    case 2:
      return { cell, user: validateName(parts[0], `${field} user`), job: validateName(parts[1], `${field} job`) };
    case 3:
      checkCell(parts[0] as string, cell, field);
      return { cell, user: validateName(parts[1], `${field} user`), job: validateName(parts[2], `${field} job`) };
    default:
      throw new InvalidArgument(field, `${JSON.stringify(s)} is not job, user/job or cell/user/job`);
  }
}

/** parseTaskRef reads a task reference and returns the task id `cell/user/job/index`. */
export function parseTaskRef(s: string, user: string, cell: string, field = 'TASK'): string {
  return formatTaskId(parseTaskRefId(s, user, cell, field));
}

export function parseTaskRefId(s: string, user: string, cell: string, field = 'TASK'): TaskId {
  if (s.endsWith('.borg')) {
    const id = parseBnsName(s, field);
    if (!isTaskId(id)) throw new InvalidArgument(field, `${JSON.stringify(s)} names a job; give a task (index.job.user.cell.borg)`);
    checkCell(id.cell, cell, field);
    return id;
  }
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 4) throw new InvalidArgument(field, `${JSON.stringify(s)} is not job/index, user/job/index or cell/user/job/index`);
  const i = index(parts[parts.length - 1] as string, `${field} index`);
  const job = parseJobRef(parts.slice(0, -1).join('/'), user, cell, field);
  return { ...job, index: i };
}

/** isTaskRef tells a task reference from a job reference (for `why TASK|JOB`). */
export function isTaskRef(s: string): boolean {
  if (s.endsWith('.borg')) return s.split('.').length === 5;
  const last = s.split('/').pop() ?? '';
  return s.includes('/') && /^[0-9]+$/.test(last);
}
