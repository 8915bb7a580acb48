// A real local cell for end-to-end tests: `borg up` on a generated config (free loopback ports, temporary data),
// run as its own process group, plus an authenticated API client and helpers to find and kill its daemons.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { loadIdentity } from '../../cells/identity';
import { clientCredentials } from '../../cells/security/index';
import { BorgMasterClient, CHANNEL_OPTIONS, invoke } from '../../proto/index';
import { NotLeader, BorgError } from '../../model/errors';
import { freePort } from '../../sim/ports';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LocalCell {
  name: string;
  dir: string;
  cellFile: string;
  config: CellConfig;
  up: ChildProcess;
  output(): string;
  /** logs: the tail of every daemon's log (for failure messages). */
  logs(): string;
  client(user?: string): Promise<CellClient>;
  daemonPids(pattern: string): number[];
  stop(): Promise<void>;
}

export interface CellClient {
  /** leader runs f against the elected master, following redirects while an election settles. */
  leader<T>(f: (c: InstanceType<typeof BorgMasterClient>) => Promise<T>, timeoutMs?: number): Promise<T>;
  replica(id: number): InstanceType<typeof BorgMasterClient>;
  close(): void;
}

export const call = invoke;
export const md = (): Metadata => new Metadata();

export async function startLocalCell(opts: { name: string; machines?: number; redis?: boolean; extra?: string }): Promise<LocalCell> {
  const dir = mkdtempSync(join(tmpdir(), `borg-${opts.name}-`));
  const ports = await Promise.all(Array.from({ length: 6 + (opts.machines ?? 2) + 1 }, () => freePort()));
  const at = (i: number) => `"127.0.0.1:${ports[i]}"`;
  const machines = Array.from({ length: opts.machines ?? 2 }, (_, i) => `  - { name: ${opts.name}-m${i}, address: ${at(6 + i)}, capacity: { cpu: 500m, ram: 1GiB, disk: 5GiB, ports: 50 }, portBase: ${30000 + i * 100}, attributes: { os: linux }, rack: rack-${i % 2} }`);
  const cellFile = join(dir, 'cell.yaml');
  writeFileSync(
    cellFile,
    `cell: ${opts.name}
replicas:
  - { id: 1, address: ${at(0)}, statusAddress: ${at(1)}, dataDir: ${dir}/r1 }
  - { id: 2, address: ${at(2)}, statusAddress: ${at(3)}, dataDir: ${dir}/r2 }
  - { id: 3, address: ${at(4)}, statusAddress: ${at(5)}, dataDir: ${dir}/r3 }
scheduler: { passInterval: 200ms }
link: { pollInterval: 300ms, missedPollsBeforeDown: 4, rescheduleTasksPerSecond: 20 }
machines:
${machines.join('\n')}
quotas:
  - { user: ubar, priority: prod, limit: { cpu: 1, ram: 2GiB, disk: 10GiB, ports: 100 } }
  - { user: ubar, priority: batch, limit: { cpu: 1, ram: 2GiB, disk: 10GiB, ports: 100 } }
admins: [admin]
${opts.redis === false ? '' : `bns: { redis: ${at(6 + (opts.machines ?? 2))} }`}
security: { caDir: ${dir}/ca }
${opts.extra ?? ''}
`,
  );
  const config = loadCellConfig(cellFile);
  let out = '';
  const up = spawn(process.execPath, [join(ROOT, 'cli/borg.mjs'), 'up', '--cell', cellFile, '--state-dir', join(dir, 'state')], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  up.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 90_000;
  while (!out.includes('is up.')) {
    if (up.exitCode !== null || Date.now() > end) {
      try {
        process.kill(-(up.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
      throw new Error(`borg up did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const clients: CellClient[] = [];
  const cell: LocalCell = {
    name: opts.name,
    dir,
    cellFile,
    config,
    up,
    output: () => out,
    logs: () => {
      const dir2 = join(dir, 'state', 'logs');
      if (!existsSync(dir2)) return '';
      return readdirSync(dir2)
        .map((f) => `== ${f}\n${readFileSync(join(dir2, f), 'utf8').split('\n').slice(-15).join('\n')}`)
        .join('\n');
    },
    async client(user = 'admin') {
      const creds = clientCredentials(await loadIdentity(config, user));
      const byId = new Map(config.replicas.map((r) => [r.id, new BorgMasterClient(r.address, creds, CHANNEL_OPTIONS)]));
      const byAddress = new Map(config.replicas.map((r) => [r.address, byId.get(r.id) as InstanceType<typeof BorgMasterClient>]));
      const c: CellClient = {
        replica: (id) => byId.get(id) as InstanceType<typeof BorgMasterClient>,
        async leader(f, timeoutMs = 20_000) {
          const stop = Date.now() + timeoutMs;
          let target = config.replicas[0]?.address ?? '';
          for (let i = 0; ; i++) {
            try {
              return await f(byAddress.get(target) as InstanceType<typeof BorgMasterClient>);
            } catch (e: unknown) {
              const retry = e instanceof NotLeader || (e instanceof BorgError && (e.code === 'unavailable' || e.code === 'deadline_exceeded'));
              if (!retry || Date.now() > stop) throw e;
              target = e instanceof NotLeader && e.leaderAddress ? e.leaderAddress : (config.replicas[i % config.replicas.length]?.address ?? target);
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        },
        close: () => byId.forEach((x) => x.close()),
      };
      clients.push(c);
      return c;
    },
    daemonPids(pattern) {
      const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
      return ps
        .split('\n')
        .filter((l) => l.includes(pattern) && l.includes(cellFile))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    },
    async stop() {
      for (const c of clients) c.close();
      if (up.exitCode === null) {
        const exited = new Promise((r) => up.once('exit', r));
        process.kill(-(up.pid ?? 0), 'SIGINT');
        const timer = setTimeout(() => {
          try {
            process.kill(-(up.pid ?? 0), 'SIGKILL');
          } catch {
            // gone
          }
        }, 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (existsSync(dir) && !process.env.BORG_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  return cell;
}
