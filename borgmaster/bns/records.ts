// BNS records (B15 §2.6): what a task's name resolves to, and the Redis keys they live under. The elected master
// publishes a record per running task under `index.job.user.cell.borg` and a per-job hash under
// `job.user.cell.borg` (field = task index, and `size`: the job's task count). A record carries the task's health,
// so a load balancer can route to the healthy ones only and knows how many there should be (B15 §2.6: "job size
// and task health"). One key prefix per cell keeps cells apart in a shared Redis.
import { bnsName, bnsJobName, type JobId, type TaskId } from '../../model/ids';

export interface Endpoint {
  taskId: string;
  machine: string;
  host: string;
  ports: number[];
  /** healthy: running and passing its health check, as its Borglet last reported. */
  healthy: boolean;
}

/** BnsRecord is one running task as BNS knows it. */
export interface BnsRecord {
  id: TaskId;
  endpoint: Endpoint;
}

/** BnsJob is a job as BNS knows it: how many tasks it has. */
export interface BnsJob {
  id: JobId;
  size: number;
}

export const KEY_PREFIX = 'bns:';
/** SIZE_FIELD: the job hash's field holding the job's task count (the other fields are task indexes). */
export const SIZE_FIELD = 'size';

/** isCount: a task index field of a job hash, or a size value (decimal digits only). */
export function isCount(s: string): boolean {
  return /^\d{1,15}$/.test(s);
}

export function taskKey(id: TaskId): string {
  return `${KEY_PREFIX}${bnsName(id)}`;
}

export function jobKey(id: TaskId | Omit<TaskId, 'index'>): string {
  return `${KEY_PREFIX}${bnsJobName(id)}`;
}

/** cellPattern matches every BNS key of one cell (for SCAN). */
export function cellPattern(cell: string): string {
  return `${KEY_PREFIX}*.${cell}.borg`;
}

export function encodeEndpoint(e: Endpoint): string {
  return JSON.stringify({ taskId: e.taskId, machine: e.machine, host: e.host, ports: e.ports, healthy: e.healthy });
}

/** decodeEndpoint reads a stored endpoint; anything malformed is reported, never trusted. */
export function decodeEndpoint(s: string): Endpoint | undefined {
  try {
    const v: unknown = JSON.parse(s);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.taskId !== 'string' || typeof o.machine !== 'string' || typeof o.host !== 'string') return undefined;
    if (!Array.isArray(o.ports) || !o.ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535)) return undefined;
    if (o.healthy !== undefined && typeof o.healthy !== 'boolean') return undefined;
    // A record without health is from a master before health was published, which published running tasks only.
    return { taskId: o.taskId, machine: o.machine, host: o.host, ports: o.ports as number[], healthy: o.healthy !== false };
  } catch {
    return undefined;
  }
}
