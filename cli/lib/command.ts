// How a `borg` command is declared: its usage, flags (parsed by the one parser in flags.ts), an example, and a
// run function. defineCommand registers it and gives every command the same --help, and liveCommand adds the
// flags that pick a cell and a user, connects, and always closes the connection.
import { register, EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { connectCell, DEFAULT_CELL_FILE, DEFAULT_TIMEOUT_MS, type Connection } from './client';
import { flagHelp, parseFlags, type FlagSpecs, type Parsed } from './flags';

export interface CommandDef<S extends FlagSpecs> {
  name: string;
  summary: string;
  /** usage: the line after `usage: borg ` (e.g. `kill JOB [options]`). */
  usage: string;
  description: string;
  examples: readonly string[];
  flags: S;
  run(p: Parsed<S>): Promise<number>;
}

export const HELP_FLAG = { help: { kind: 'boolean', short: 'h', help: 'show this help' } } as const;

/** CELL_FLAGS pick the cell, the replicas and the user; every live command takes them. */
export const CELL_FLAGS = {
  cell: { kind: 'string', value: 'FILE', help: `the cell's config file (default ${DEFAULT_CELL_FILE})` },
  master: { kind: 'string', value: 'HOST:PORT', multiple: true, help: "replica address(es) to talk to instead of the config's (repeat or comma-separate)" },
  user: { kind: 'string', value: 'NAME', help: 'act as NAME: present its certificate (default $BORG_USER, else ubar)' },
  timeout: { kind: 'duration', value: 'DURATION', help: `give up after this long, retries included (default ${DEFAULT_TIMEOUT_MS / 1000}s)` },
  json: { kind: 'boolean', help: 'print JSON for scripts instead of a table' },
} as const;

export const CELL_HELP = `Certificates: the user is the common name of the client certificate presented, read from the cell's
security.caDir (certs/USER.crt). On a local cell, where the CA key is readable, a missing certificate is issued on
the spot (admins listed in the cell config get the admin role). Writes go to the elected master (a follower's
redirect is followed) and are retried with the same request id, so a retry is applied once.

Exit codes: 0 ok, 1 internal error, 2 bad input (or not found), 3 refused (permission, quota, precondition),
4 cell unreachable.`;

export function helpText<S extends FlagSpecs>(def: Omit<CommandDef<S>, 'run'>, live: boolean): string {
  return [
    `usage: borg ${def.usage}`,
    '',
    def.description,
    '',
    'options:',
    flagHelp(def.flags),
    ...(live ? ['', CELL_HELP] : []),
    '',
    def.examples.length === 1 ? 'example:' : 'examples:',
    ...def.examples.map((e) => `  ${e}`),
  ].join('\n');
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const head = end < 0 ? args : args.slice(0, end);
  return head.includes('--help') || head.includes('-h');
}

/** defineCommand registers a command with the shared --help and flag parsing. */
export function defineCommand<S extends FlagSpecs>(def: CommandDef<S>, live = false): void {
  register(def.name, {
    summary: def.summary,
    async run(args) {
      if (wantsHelp(args)) {
        console.log(helpText(def, live));
        return EXIT.ok;
      }
      return def.run(parseFlags(args, def.flags));
    },
  });
}

export interface CellFlags {
  cell: string | undefined;
  master: string[];
  user: string | undefined;
  timeout: number | undefined;
}

const ADDRESS = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/;

/** cellConfig loads the config of the cell the flags name (before connecting, e.g. to evaluate BCL). */
export function cellConfig(flags: Pick<CellFlags, 'cell'>): CellConfig {
  return loadCellConfig(flags.cell ?? DEFAULT_CELL_FILE);
}

/**
 * withCell connects to the cell the flags name (or `config`, already loaded), runs `f`, and closes the
 * connection whatever happens.
 */
export async function withCell<T>(flags: CellFlags, f: (c: Connection) => Promise<T>, config?: CellConfig): Promise<T> {
  for (const a of flags.master) {
    const m = ADDRESS.exec(a);
    if (!m || Number(m[2]) > 65535) throw new InvalidArgument('--master', `${JSON.stringify(a)} is not host:port`);
  }
  if (flags.timeout !== undefined && flags.timeout <= 0) throw new InvalidArgument('--timeout', 'must be more than 0');
  const conn = await connectCell({ cell: flags.cell, config, master: flags.master, user: flags.user, timeoutMs: flags.timeout });
  if (conn.issued) process.stderr.write(`borg: issued a certificate for ${conn.client.user} from cell ${conn.config.name}'s CA\n`);
  try {
    return await f(conn);
  } finally {
    conn.client.close();
  }
}

/** out writes a line to standard output. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** note writes a line for people to standard error (progress, hints), keeping stdout clean for scripts. */
export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** allPages follows next-page tokens until the last page, at most `maxPages` pages (a bound, not a guess). */
export async function allPages<T>(fetch: (pageToken: string) => Promise<{ items: T[]; next: string }>, maxPages: number): Promise<{ items: T[]; complete: boolean }> {
  const items: T[] = [];
  let token = '';
  for (let i = 0; i < maxPages; i++) {
    const p = await fetch(token);
    items.push(...p.items);
    if (p.next === '') return { items, complete: true };
    token = p.next;
  }
  return { items, complete: false };
}
