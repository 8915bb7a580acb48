// Starting and signalling task processes: the IO edge of the Borglet. A long-lived launcher shell forks a
// wrapper per run (see launchScript); the wrapper, outside the task's cgroup, waits for the task and records its
// exit status in a file, so a restarted Borglet still learns how a task it adopted ended; the inner shell writes
// its own pid into every cgroup.procs file *before* it execs anything, so not one instruction of the task runs
// outside its cgroup (Node cannot run code between fork and exec, and writing the pid from the parent after
// spawn would leave a window), sets its OOM score, reports its pid and execs the task, inside new PID and mount
// namespaces (unshare) and as an unprivileged user (setpriv) where the host allows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidArgument } from '../model/errors';

/** Isolation says how tasks are confined on this host, detected once at start and reported in machine facts. */
export interface Isolation {
  namespaces: boolean;
  user: { name: string; uid: number; gid: number } | null;
  /** Absolute paths of the helpers, resolved once so a task's PATH cannot redirect them. */
  unsharePath: string;
  setprivPath: string;
  /** summary is a human line for the machine facts (`borglet.isolation`). */
  summary: string;
}

function lookupUser(name: string): { uid: number; gid: number } | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file: no unprivileged user
  }
  return null;
}

/** detectIsolation probes unshare and setpriv once (a few ms) and picks the task user. */
export function detectIsolation(userName = 'nobody'): Isolation {
  const notes: string[] = [];
  const root = process.getuid?.() === 0;
  let user: Isolation['user'] = null;
  const u = lookupUser(userName);
  const find = (cmd: string): string => {
    try {
      return resolveCommand(cmd, {}, '/', cmd);
    } catch {
      return '';
    }
  };
  const setprivPath = find('setpriv');
  const unsharePath = find('unshare');
  const setpriv = setprivPath !== '' && spawnSync(setprivPath, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root) notes.push('borglet is not root: tasks run as its own user');
  else if (u === null) notes.push(`no user ${userName}: tasks run as root`);
  else if (!setpriv) notes.push('setpriv (util-linux) missing: tasks run as root');
  else user = { name: userName, ...u };
  const probe = root && unsharePath !== '' ? spawnSync(unsharePath, ['--pid', '--fork', '--mount', '--mount-proc', '/bin/true'], { stdio: 'ignore', timeout: 5_000 }) : undefined;
  const namespaces = probe?.status === 0;
  if (!namespaces) notes.push(root ? 'unshare of pid+mount namespaces refused by this host: tasks share the host namespaces' : 'no namespaces without root');
  const summary = [`user=${user ? user.name : root ? 'root' : String(process.getuid?.())}`, `namespaces=${namespaces ? 'pid,mount' : 'none'}`, ...notes].join('; ');
  return { namespaces, user, summary, unsharePath, setprivPath };
}

/**
 * blockedAncestor: the first directory on the way to `dir` (itself included) that `user` may not pass through, or
 * undefined. Search permission is read as the kernel does: the owner's bit for its owner, else the group's for its
 * group (tasks run with their primary group only, --clear-groups), else the others'.
 */
export function blockedAncestor(dir: string, user: { uid: number; gid: number }): string | undefined {
  let path = '/';
  for (const part of ['', ...resolve(dir).split('/').filter((x) => x !== '')]) {
    path = join(path, part);
    const st = statSync(path);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return path;
  }
  return undefined;
}

/**
 * sandboxRoot says where tasks' working directories go: undefined for beside each task's own files in the state
 * dir (`tasks/ID/work`), when the task user can reach them there. A state dir under a private directory (a home
 * directory, a mktemp dir, a local cell's .borg) would leave a task a working directory it cannot open by its path
 * (Python's http.server serving "/" answers 404 there); those Borglets put them under the system's temp dir instead,
 * in a directory only root may list (`borg-sandboxes/CELL.MACHINE/ID`). `log` hears which, and why.
 */
export function sandboxRoot(tasksDir: string, isolation: Isolation, cell: string | undefined, machine: string, log: (line: string) => void): string | undefined {
  const user = isolation.user;
  if (user === null) return undefined;
  const blocked = blockedAncestor(tasksDir, user);
  if (blocked === undefined) return undefined;
  const root = sandboxDir(cell, machine);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  for (const d of [join(tmpdir(), 'borg-sandboxes'), root]) chmodSync(d, 0o711);
  const why = `task user ${user.name} cannot pass ${blocked} (mode ${(statSync(blocked).mode & 0o777).toString(8)})`;
  const alsoBlocked = blockedAncestor(root, user);
  if (alsoBlocked !== undefined) {
    log(`${why}, nor ${alsoBlocked}: tasks that open their working directory by its path will fail`);
    return undefined;
  }
  log(`${why}: tasks' working directories go under ${root}`);
  return root;
}

/** sandboxDir: where a machine's sandboxes go when its state dir is out of its tasks' reach (sandboxRoot). */
export function sandboxDir(cell: string | undefined, machine: string): string {
  return join(tmpdir(), 'borg-sandboxes', `${cell ?? 'cell'}.${machine}`);
}

/**
 * removeMachineFiles removes what a Borglet keeps on disk for its machine: its state dir and its sandboxes (after
 * its tasks were killed: `borg up` stopping a cell, `borglet --cleanup`, tests).
 */
export function removeMachineFiles(stateDir: string, cell: string | undefined, machine: string): void {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sandboxDir(cell, machine), { recursive: true, force: true });
}

/** resolveCommand finds the executable now, so a missing binary is an error before anything starts. */
export function resolveCommand(command: string, env: Record<string, string>, cwd: string, field: string): string {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : join(cwd, command)]
    : (env.PATH ?? DEFAULT_PATH).split(':').filter((d) => d !== '').map((d) => join(d, command));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  throw new InvalidArgument(field, command.includes('/') ? `${JSON.stringify(command)} does not exist or is not executable` : `${JSON.stringify(command)} not found in PATH ${env.PATH ?? DEFAULT_PATH}`);
}

export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

/** shellQuote single-quotes a string for sh (NUL was refused by validation; newlines are fine inside quotes). */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

// The launcher is one long-lived dash process that starts every task: a fork of a 1 MB shell costs a fraction
// of a millisecond, while a fork of the Borglet (a Node process of ~100 MB) costs tens of milliseconds, all of
// it on the Borglet's event loop. It reads one launch-file path per line and sources it in a forked subshell
// (no exec); an empty line just lets it reap.
const LAUNCHER = `exec 3>&1 1>/dev/null
while IFS= read -r f; do
  case "$f" in
    '') ;;
    *) . "$f" & ;;
  esac
done`;

export interface LaunchSpec {
  /** token names this run in the launcher's reports (no spaces). */
  token: string;
  /** command is already resolved to an absolute path. */
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  procsFiles: string[];
  oomScoreAdj: number;
  statusFile: string;
  stdoutPath: string;
  stderrPath: string;
  /** launchFile is where the run's script is written (in the task's directory). */
  launchFile: string;
  isolation: Isolation;
}

/**
 * launchScript is the per-run wrapper, sourced by a forked subshell of the launcher: it reports its own pid,
 * enters the working directory, points stdio at the log files (O_APPEND), and forks the task's subshell, which
 * joins the cgroups, sets its OOM score and reports its pid using shell builtins only (so nothing runs outside
 * the cgroup), then execs env, which sets exactly the task's environment and default signal dispositions (a
 * background job of the launcher would otherwise ignore SIGINT and SIGQUIT) and execs the task (through
 * unshare and setpriv where available). The wrapper records the exit status in a file before reporting it, so
 * a restarted Borglet can still learn how a task it adopted ended. `$$` is the launcher's pid in a subshell,
 * hence the reads of /proc/self/stat.
 */
export function launchScript(s: LaunchSpec): string {
  const q = shellQuote;
  const prefix: string[] = [];
  if (s.isolation.namespaces) prefix.push(s.isolation.unsharePath, '--pid', '--fork', '--mount', '--mount-proc', '--kill-child', '--');
  if (s.isolation.user) {
    prefix.push(s.isolation.setprivPath, `--reuid=${s.isolation.user.uid}`, `--regid=${s.isolation.user.gid}`, '--clear-groups', '--no-new-privs', '--');
  }
  const envArgs = Object.entries(s.env).map(([k, v]) => q(`${k}=${v}`));
  const exec = ['/usr/bin/env', '-i', '--default-signal', ...envArgs.map((a) => a), ...[...prefix, s.command, ...s.args].map(q)];
  const t = q(s.token);
  return [
    'read -r w _ < /proc/self/stat',
    `echo "w "${t}" $w" >&3`,
    `cd ${q(s.cwd)} || { echo 126 > ${q(s.statusFile)}; echo "x "${t}" 126" >&3; exit 126; }`,
    `exec </dev/null >>${q(s.stdoutPath)} 2>>${q(s.stderrPath)}`,
    '(',
    '  read -r p _ < /proc/self/stat',
    ...s.procsFiles.map((f) => `  echo "$p" > ${q(f)} || exit 125`),
    `  echo ${s.oomScoreAdj} > /proc/self/oom_score_adj 2>/dev/null`,
    `  echo "p "${t}" $p" >&3`,
    '  exec 3>&-',
    `  exec ${exec.join(' ')}`,
    ')',
    'st=$?',
    `echo $st > ${q(`${s.statusFile}.tmp`)} && /bin/mv -f ${q(`${s.statusFile}.tmp`)} ${q(s.statusFile)}`,
    // Only now, with the task gone: a Borglet that died meanwhile has closed the report pipe.
    "trap '' PIPE",
    `echo "x "${t}" $st" >&3 2>/dev/null`,
    'exit $st',
    '',
  ].join('\n');
}

export type LaunchEvent = { kind: 'wrapper' | 'pid' | 'exit'; token: string; value: number };

/**
 * Launcher owns the launcher process. Its reports arrive as events; if it dies (it never should), the next
 * launch starts a new one. Tasks never depend on it: they keep running, and their ends are also detected by
 * polling /proc (see Borglet.tick), which is how tasks of an earlier Borglet are watched anyway.
 */
export class Launcher {
  private child: ChildProcess | null = null;
  private buf = '';

  constructor(private readonly onEvent: (e: LaunchEvent) => void, private readonly log: (line: string) => void) {}

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.child.stdin?.writable) return this.child;
    // detached: its own session, so a signal to the Borglet's process group never reaches the tasks.
    const c = spawn('/bin/sh', ['-c', LAUNCHER], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    c.stdout?.on('data', (d: Buffer) => this.onData(d));
    c.stdin?.on('error', (e: Error) => this.log(`launcher stdin: ${e.message}`));
    c.on('exit', (code, sig) => {
      if (this.child === c) this.child = null;
      this.log(`the task launcher exited (${sig ?? code}); the next start makes a new one`);
    });
    c.unref();
    this.child = c;
    return c;
  }

  private onData(d: Buffer): void {
    this.buf += d.toString('latin1');
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^([wpx]) (\S+) (\d+)$/.exec(line);
      if (!m) {
        this.log(`launcher: unexpected report ${JSON.stringify(line)}`);
        continue;
      }
      const kind = m[1] === 'w' ? 'wrapper' : m[1] === 'p' ? 'pid' : 'exit';
      try {
        this.onEvent({ kind, token: m[2] as string, value: Number(m[3]) });
      } catch (e: unknown) {
        // A failure handling one report (e.g. a cgroup file write) must not take the daemon down.
        this.log(`handling launcher report ${JSON.stringify(line)} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
  }

  /** launch writes the run's script and hands it to the launcher. Reports follow as events. */
  launch(s: LaunchSpec): void {
    writeFileSync(s.launchFile, launchScript(s), { mode: 0o600 });
    this.ensure().stdin?.write(`${s.launchFile}\n`);
  }

  /** pid of the launcher process, for diagnostics. */
  get pid(): number {
    return this.child?.pid ?? 0;
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = null;
  }
}

/** procStat reads /proc/<pid>/stat: state letter and start time (clock ticks since boot), or null if gone. */
export function procStat(pid: number): { state: string; ppid: number; startTicks: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The comm field may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '?';
  const startTicks = Number(rest[19]);
  return { state, ppid: Number(rest[1]), startTicks };
}

/** processAlive is true for a live (not zombie) process whose start time matches, guarding against pid reuse. */
export function processAlive(pid: number, startTicks: number): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X' && (startTicks === 0 || s.startTicks === startTicks);
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

/**
 * ignoresAsNamespaceInit: a PID-namespace init receives from outside only the signals it has a handler for, so a
 * task without a SIGTERM handler would ignore the polite stop. Such a process is sent SIGKILL at once instead,
 * which is what the default disposition would have done. Reads NSpid and SigCgt from /proc/<pid>/status.
 */
export function ignoresAsNamespaceInit(pid: number, signal: NodeJS.Signals): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return false;
  }
  const nspid = /^NSpid:\s*(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  if (!nspid || nspid.length < 2 || nspid[nspid.length - 1] !== '1') return false;
  const num = SIGNALS[signal];
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (num === undefined || caught === undefined) return false;
  return ((BigInt(`0x${caught}`) >> BigInt(num - 1)) & 1n) === 0n;
}

/** decodeStatus turns a shell exit status into an exit code or a signal (128 + n, as sh reports). */
export function decodeStatus(status: number): { code: number | null; signal: string | null } {
  if (status > 128 && status <= 128 + 64) {
    const n = status - 128;
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0] ?? `SIG${n}`;
    return { code: null, signal: name };
  }
  return { code: status, signal: null };
}

/**
 * runDelayNs sums, over the given processes, the time their main threads spent runnable but waiting for a CPU
 * (/proc/<pid>/schedstat, second field). Its rate is CPU demand the machine did not serve: on a host shared with
 * other work (or a logical machine carved from one), usage alone never shows that CPU is short.
 */
export function runDelayNs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ');
      total += Number(f[1]) || 0;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
