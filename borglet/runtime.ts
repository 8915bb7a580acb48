// Starting and signalling task processes: the IO edge of the Borglet. A task starts through two tiny shells:
// the outer one (the Borglet's child, outside the task's cgroup) waits for the task and records its exit status
// in a file, so a restarted Borglet still learns how a task it adopted ended; the inner one writes its own pid
// into every cgroup.procs file *before* it execs anything, so not one instruction of the task runs outside its
// cgroup (Node cannot run code between fork and exec, and writing the pid from the parent after spawn would
// leave a window), sets its OOM score, reports its pid on fd 3 and execs the task, inside new PID and mount
// namespaces (unshare) and as an unprivileged user (setpriv) where the host allows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
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

const OUTER = `s=$1; shift
/bin/sh -c '${'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; echo "$1" > /proc/self/oom_score_adj 2>/dev/null; shift; echo $$ >&3; exec 3>&-; exec "$@"'}' borg-task "$@"
st=$?
echo $st > "$s.tmp" && /bin/mv -f "$s.tmp" "$s"
exit $st`;

export interface LaunchSpec {
  /** command is already resolved to an absolute path. */
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  procsFiles: string[];
  oomScoreAdj: number;
  statusFile: string;
  stdoutFd: number;
  stderrFd: number;
  isolation: Isolation;
}

export interface Launched {
  child: ChildProcess;
  wrapperPid: number;
  /** pid resolves with the task's pid once it is inside its cgroup, or rejects if the start failed. */
  pid: Promise<number>;
}

/** launch starts a task; see the file comment for the process layout. */
export function launch(s: LaunchSpec): Launched {
  const prefix: string[] = [];
  if (s.isolation.namespaces) prefix.push(s.isolation.unsharePath, '--pid', '--fork', '--mount', '--mount-proc', '--kill-child', '--');
  if (s.isolation.user) {
    prefix.push(s.isolation.setprivPath, `--reuid=${s.isolation.user.uid}`, `--regid=${s.isolation.user.gid}`, '--clear-groups', '--no-new-privs', '--');
  }
  const argv = [s.statusFile, String(s.procsFiles.length), ...s.procsFiles, String(s.oomScoreAdj), ...prefix, s.command, ...s.args];
  // detached: the task gets its own session, so signals aimed at the Borglet's process group (a Ctrl-C, a
  // supervisor stopping the Borglet) never reach tasks: losing the Borglet must not kill them.
  const child = spawn('/bin/sh', ['-c', OUTER, 'borg-wrapper', ...argv], {
    cwd: s.cwd,
    env: s.env,
    stdio: ['ignore', s.stdoutFd, s.stderrFd, 'pipe'],
    detached: true,
  });
  const pid = new Promise<number>((resolve, reject) => {
    const pipe = child.stdio[3];
    let buf = '';
    let done = false;
    const finish = (err: Error | null, value = 0): void => {
      if (done) return;
      done = true;
      pipe?.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    if (!pipe) return finish(new Error('no pid pipe'));
    pipe.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const n = Number(buf.slice(0, nl).trim());
        if (Number.isInteger(n) && n > 0) finish(null, n);
        else finish(new Error(`bad pid line ${JSON.stringify(buf.slice(0, nl))}`));
      }
    });
    pipe.on('error', (e: Error) => finish(e));
    pipe.on('close', () => finish(new Error('the task wrapper ended before the task entered its cgroup')));
    child.on('error', (e: Error) => finish(e));
  });
  pid.catch(() => undefined);
  child.unref();
  return { child, wrapperPid: child.pid ?? 0, pid };
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
