// Resolving BNS names, for the `borg resolve` command and for tasks that look up their peers. A task name
// (`index.job.user.cell.borg`) gives one endpoint; a job name (`job.user.cell.borg`) gives every running task.
import { Redis } from 'ioredis';
import { parseBnsName, isTaskId } from '../../model/ids';
import { NotFound, Unavailable } from '../../model/errors';
import { decodeEndpoint, isCount, jobKey, taskKey, SIZE_FIELD, type Endpoint } from './records';
import { splitAddress } from './publisher';

export interface Resolved {
  name: string;
  endpoints: { index: number; endpoint: Endpoint }[];
  /** size: for a job name, the job's task count (running or not); undefined for a task name. */
  size?: number;
}

export class BnsResolver {
  private readonly redis: Redis;

  constructor(address: string) {
    const [host, port] = splitAddress(address);
    this.redis = new Redis({ host, port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    this.redis.on('error', () => undefined);
  }

  async resolve(name: string): Promise<Resolved> {
    const id = parseBnsName(name);
    try {
      if (this.redis.status !== 'ready') await this.redis.connect();
    } catch (e: unknown) {
      throw new Unavailable(`BNS (redis) unreachable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (isTaskId(id)) {
      const raw = await this.redis.get(taskKey(id));
      const endpoint = raw === null ? undefined : decodeEndpoint(raw);
      if (!endpoint) throw new NotFound(`BNS name ${name}`);
      return { name, endpoints: [{ index: id.index, endpoint }] };
    }
    const all = await this.redis.hgetall(jobKey(id));
    const endpoints = Object.entries(all)
      .filter(([field]) => isCount(field))
      .map(([field, raw]) => ({ index: Number(field), endpoint: decodeEndpoint(raw) }))
      .filter((e): e is { index: number; endpoint: Endpoint } => e.endpoint !== undefined)
      .sort((a, b) => a.index - b.index);
    const sizeText = all[SIZE_FIELD];
    const size = sizeText !== undefined && isCount(sizeText) ? Number(sizeText) : undefined;
    // A job with no task running is still named, with its size; a name BNS never had is not found.
    if (endpoints.length === 0 && size === undefined) throw new NotFound(`BNS name ${name}`);
    return { name, endpoints, ...(size === undefined ? {} : { size }) };
  }

  close(): void {
    this.redis.disconnect();
  }
}
