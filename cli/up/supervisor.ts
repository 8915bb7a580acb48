// Supervisor runs the daemons of a local cell as child processes: it starts them, keeps their output in log
// files, reports any that die, and stops them in a given order. Children stay in borg up's process group, so a
// Ctrl-C (or a kill of the group) reaches them even if borg up itself is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { COMPILED_NODE_FLAGS, compileEntry, TSX_NODE_FLAGS } from './compiled';

export interface Daemon {
  name: string;
  args: string[];
  child: ChildProcess;
  log: WriteStream;
  exited: Promise<number | null>;
}

export class Supervisor {
  readonly daemons: Daemon[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly onUnexpectedExit: (d: Daemon, code: number | null) => void,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** start runs COMMAND ARGS with output to LOGDIR/NAME.log. */
  start(name: string, command: string, args: string[], cwd: string): Daemon {
    const log = createWriteStream(join(this.logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const d: Daemon = { name, args, child, log, exited };
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(d, code);
    });
    this.daemons.push(d);
    return d;
  }

  /** startScript runs one of the project's TypeScript daemons under node with tsx. */
  startScript(name: string, script: string, args: string[], cwd: string): Daemon {
    return this.start(name, process.execPath, [...TSX_NODE_FLAGS, script, ...args], cwd);
  }

  /** startCompiled runs one of them compiled to JavaScript first (compiled.ts), for a daemon whose speed counts. */
  async startCompiled(name: string, script: string, args: string[], cwd: string): Promise<Daemon> {
    const bundle = await compileEntry(script);
    return this.start(name, process.execPath, [...COMPILED_NODE_FLAGS, bundle, ...args], cwd);
  }

  /** stop signals the named daemons (all when omitted) and waits for them, killing stragglers after graceMs. */
  async stop(names?: readonly string[], graceMs = 5000): Promise<void> {
    this.stopping = true;
    const targets = this.daemons.filter((d) => names === undefined || names.includes(d.name)).filter((d) => d.child.exitCode === null && d.child.signalCode === null);
    for (const d of targets) d.child.kill('SIGTERM');
    await Promise.all(
      targets.map(async (d) => {
        const timer = setTimeout(() => d.child.kill('SIGKILL'), graceMs);
        await d.exited;
        clearTimeout(timer);
        d.log.end();
      }),
    );
  }
}
