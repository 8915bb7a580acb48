// A real redis-server for tests, on a free loopback port, with persistence off. stop() kills it; restart()
// brings up a fresh empty server on the same port (what a Redis crash without persistence looks like).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../sim/ports';

export interface TestRedis {
  address: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** waitReady sends a raw PING until the server answers +PONG (no client library state to go stale). */
async function waitReady(port: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port }, () => sock.write('PING\r\n'));
      sock.setTimeout(500, () => { sock.destroy(); resolve(false); });
      sock.on('data', (d) => { sock.destroy(); resolve(d.toString().startsWith('+PONG')); });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitReady(port, 10_000);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
  };
  await launch();
  return { address: `127.0.0.1:${port}`, port, stop, restart: async () => { await stop(); await launch(); } };
}
