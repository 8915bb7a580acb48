// StatusServer is the HTTP edge of the status page, run by every Borgmaster replica (read-only): it routes a
// request to a page, reads the data through a StatusSource and renders it with the pure page functions. It also
// serves /metrics, the heat map's compact JSON, the live event stream and our own static assets (no outside
// assets: it works offline). A bad request gets a precise 400; a handler failure a 500; nothing crashes it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { BorgError, InvalidArgument, NotFound } from '../../model/errors';
import { STATUS_LOG_TAIL_BYTES, STATUS_LOG_TIMEOUT_MS, STATUS_MAX_URL_BYTES } from '../../cells/limits';
import type { Html } from './escape';
import type { BorgMetrics } from './metrics';
import type { StatusSource } from './source';
import { LiveFeed } from './live';
import { EVENT_TYPE_NAMES, parseEventQuery, parseJobQuery, parseMachineQuery, parseTaskQuery } from './query';
import type { PageContext } from './pages/layout';
import { cellPage } from './pages/cell';
import { machinesPage } from './pages/machines';
import { machinePage } from './pages/machine';
import { jobsPage } from './pages/jobs';
import { jobPage } from './pages/job';
import { tasksPage } from './pages/tasks';
import { taskPage, type LogResult } from './pages/task';
import { eventsPage } from './pages/events';
import { errorPage } from './pages/error';

export interface StatusServerOptions {
  source: StatusSource;
  metrics?: BorgMetrics;
  /** host to listen on; 127.0.0.1 unless the cell config says otherwise. */
  host?: string;
  /** port; 0 picks a free one (tests). */
  port?: number;
  /** live: coalescing and client bounds of the event stream (tests shorten the coalescing). */
  live?: { coalesceMs?: number; maxClients?: number };
}

const ASSETS: Readonly<Record<string, string>> = {
  'status.css': 'text/css; charset=utf-8',
  'status.js': 'text/javascript; charset=utf-8',
};

/** CSP: only our own scripts run; inline event handlers never do, even if escaping were ever missed. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

function decodeSegment(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new InvalidArgument(what, `${JSON.stringify(s)} is not a valid percent-encoded path segment`);
  }
}

export class StatusServer {
  private readonly server: Server;
  private readonly live: LiveFeed;
  private readonly assets = new Map<string, Buffer>();
  private address: AddressInfo | undefined;

  constructor(private readonly options: StatusServerOptions) {
    this.live = new LiveFeed(options.source, options.live);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    // Slow or idle clients must not hold sockets forever (the live stream sets its own keep-alive).
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  get url(): string {
    if (this.address === undefined) throw new Error('StatusServer is not listening');
    return `http://${this.address.address}:${this.address.port}`;
  }

  get liveClients(): number {
    return this.live.clientCount;
  }

  async start(): Promise<string> {
    const dir = fileURLToPath(new URL('./assets/', import.meta.url));
    for (const name of Object.keys(ASSETS)) this.assets.set(name, await readFile(`${dir}${name}`));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = this.server.address() as AddressInfo;
    this.live.start();
    return this.url;
  }

  async close(): Promise<void> {
    this.live.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private ctx(path: string): PageContext {
    return { replica: this.options.source.replica(), path };
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...extra });
    res.end(body);
  }

  private page(res: ServerResponse, h: Html, status = 200): void {
    this.send(res, status, 'text/html; charset=utf-8', h.value);
  }

  private fail(res: ServerResponse, e: unknown): void {
    let status = 500;
    let title = 'Internal error';
    let message = e instanceof Error ? e.message : String(e);
    if (e instanceof HttpError) {
      status = e.status;
      title = e.title;
    } else if (e instanceof InvalidArgument) {
      status = 400;
      title = 'Bad request';
    } else if (e instanceof NotFound) {
      status = 404;
      title = 'Not found';
    } else if (e instanceof BorgError) {
      status = 503;
      title = 'Unavailable';
    } else {
      console.error('status page handler failed:', e);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      this.page(res, errorPage(status, title, message, this.ctx('')), status);
    } catch (e2: unknown) {
      // Even the source may be failing (e.g. a state being replaced): answer in plain text.
      this.send(res, status, 'text/plain; charset=utf-8', `${title}: ${message}\n(${e2 instanceof Error ? e2.message : String(e2)})\n`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > STATUS_MAX_URL_BYTES) throw new HttpError(414, 'URI too long', `the request is ${rawUrl.length} bytes long, more than ${STATUS_MAX_URL_BYTES}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.send(res, 405, 'text/plain; charset=utf-8', 'the status page is read-only: GET and HEAD only\n', { Allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(rawUrl, 'http://status.invalid');
    const path = url.pathname;
    const q = url.searchParams;
    const source = this.options.source;
    const parts = path.split('/').slice(1);
    const nowMs = () => source.cellTimeMs();

    if (path === '/') return this.page(res, cellPage(source.summary(), this.ctx(path)));
    if (path === '/metrics') {
      const m = this.options.metrics;
      if (m === undefined) throw new HttpError(404, 'Not found', 'this replica has no metrics registry');
      return this.send(res, 200, m.contentType(), await m.text());
    }
    if (path === '/live') {
      this.live.attach(req, res);
      return;
    }
    if (path === '/healthz') return this.send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/machines.json') return this.send(res, 200, 'application/json', JSON.stringify(source.heatMap()));
    if (path === '/machines') return this.page(res, machinesPage(source.machines(), parseMachineQuery(q), this.ctx(path)));
    if (path === '/jobs') {
      const jq = parseJobQuery(q);
      return this.page(res, jobsPage(source.jobs(jq), jq, nowMs(), this.ctx(path)));
    }
    if (path === '/tasks') {
      const tq = parseTaskQuery(q);
      return this.page(res, tasksPage(source.tasks(tq), tq, nowMs(), this.ctx(path)));
    }
    if (path === '/events') {
      const eq = parseEventQuery(q);
      return this.page(res, eventsPage(source.events(eq), eq, EVENT_TYPE_NAMES, this.ctx(path)));
    }
    if (parts[0] === 'static' && parts.length === 2) {
      const name = parts[1] as string;
      const body = this.assets.get(name);
      const type = ASSETS[name];
      if (body === undefined || type === undefined) throw new NotFound(`asset ${name}`);
      return this.send(res, 200, type, body, { 'Cache-Control': 'no-cache' });
    }
    if (parts[0] === 'machine' && parts.length === 2) {
      const name = decodeSegment(parts[1] as string, 'machine');
      const d = source.machine(name);
      if (d === undefined) throw new NotFound(`machine ${JSON.stringify(name)} in cell ${source.cell}`);
      return this.page(res, machinePage(d, nowMs(), this.ctx(path)));
    }
    if (parts[0] === 'job' && parts.length === 3) {
      const user = decodeSegment(parts[1] as string, 'user');
      const name = decodeSegment(parts[2] as string, 'job');
      const d = source.job(user, name);
      if (d === undefined) throw new NotFound(`job ${JSON.stringify(`${user}/${name}`)} in cell ${source.cell}`);
      const tq = { ...parseTaskQuery(q), user, job: name };
      return this.page(res, jobPage(d, source.tasks(tq), tq, nowMs(), this.ctx(path)));
    }
    if (parts[0] === 'task' && parts.length === 4) {
      const user = decodeSegment(parts[1] as string, 'user');
      const job = decodeSegment(parts[2] as string, 'job');
      const indexText = parts[3] as string;
      if (!/^(0|[1-9][0-9]{0,8})$/.test(indexText)) throw new InvalidArgument('index', `${JSON.stringify(indexText)} is not a task index`);
      const d = source.task(user, job, Number(indexText));
      if (d === undefined) throw new NotFound(`task ${JSON.stringify(`${user}/${job}/${indexText}`)} in cell ${source.cell}`);
      return this.page(res, taskPage(d, await this.logTail(d.task.id, d.task.machine), nowMs(), this.ctx(path)));
    }
    throw new HttpError(404, 'Not found', `no page at ${path}`);
  }

  /** logTail asks the source for the log, bounded in time so a slow Borglet cannot hold the page. */
  private async logTail(taskId: string, machine: string): Promise<LogResult> {
    if (machine === '') return { kind: 'none', message: 'the task is not running on a machine, so there is no live log to read' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<LogResult>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'error', message: `no answer from ${machine} within ${STATUS_LOG_TIMEOUT_MS} ms` }), STATUS_LOG_TIMEOUT_MS);
    });
    try {
      const read = this.options.source.logTail(taskId, 'stdout', STATUS_LOG_TAIL_BYTES).then(
        (tail): LogResult => ({ kind: 'ok', tail }),
        (e: unknown): LogResult => ({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
      );
      return await Promise.race([read, timeout]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
