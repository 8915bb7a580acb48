// Runs the real `borg` binary (node cli/borg.mjs ARGS) as a child process and captures its exit code, stdout
// and stderr. Asynchronous on purpose: tests often serve the cell from the same process, and a synchronous
// spawn would freeze the servers the CLI is talking to. Reusable by any end-to-end test of the CLI.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** env entries added to (or, as undefined, removed from) the test's environment. */
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  /** timeoutMs kills the CLI (SIGKILL) if it runs longer; the result then has signal set. */
  timeoutMs?: number;
}

/** runBorg runs `node cli/borg.mjs ...args` and resolves when it exits. */
export function runBorg(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // The CLI decides colour and paging by nothing, but keep node's own warnings out of captured stderr.
  env.NODE_NO_WARNINGS = '1';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO_ROOT}/cli/borg.mjs`, ...args], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
