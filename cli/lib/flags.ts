// The one flag parser every `borg` command uses: a command declares its flags and positionals once, and gets
// typed values back or an InvalidArgument naming the flag (exit 2). Accepts `--name value`, `--name=value`,
// repeated flags where declared, and `--` to end the flags.
import { InvalidArgument } from '../../model/errors';
import { parseDurationMs } from '../../model/units';

export type FlagKind = 'string' | 'boolean' | 'int' | 'duration';

export interface FlagSpec {
  kind: FlagKind;
  /** value is the placeholder the help text shows (FILE, N, HOST:PORT). */
  value?: string;
  help: string;
  /** multiple: the flag may be repeated; its value is then the list of values given (also comma-split). */
  multiple?: boolean;
  /** short is a one-letter alias, e.g. `h` for -h. */
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['multiple'] extends true
  ? string[]
  : S['kind'] extends 'boolean'
    ? boolean
    : S['kind'] extends 'int' | 'duration'
      ? number | undefined
      : string | undefined;

export type ParsedFlags<S extends FlagSpecs> = { [K in keyof S]: ValueOf<S[K]> };

export interface Parsed<S extends FlagSpecs> {
  flags: ParsedFlags<S>;
  positionals: string[];
}

const INT = /^-?(0|[1-9][0-9]{0,15})$/;

/** parseFlags parses `args` against `specs`; anything starting with `-` that is not declared is refused. */
export function parseFlags<S extends FlagSpecs>(args: readonly string[], specs: S): Parsed<S> {
  const out: Record<string, string | boolean | number | string[] | undefined> = {};
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = spec.multiple ? [] : spec.kind === 'boolean' ? false : undefined;
    if (spec.short !== undefined) shorts.set(spec.short, name);
  }
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || /^-[0-9]/.test(a)) {
      positionals.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      const long = shorts.get(a.slice(1));
      if (long === undefined) throw new InvalidArgument(a, `unknown option${suggestion(a.slice(1), Object.keys(specs))}`);
      name = long;
    }
    const spec = specs[name];
    if (spec === undefined) throw new InvalidArgument(`--${name}`, `unknown option${suggestion(name, Object.keys(specs))}`);
    const flag = `--${name}`;
    if (spec.kind === 'boolean') {
      if (inline !== undefined) {
        if (inline !== 'true' && inline !== 'false') throw new InvalidArgument(flag, `takes no value or =true/=false, got ${JSON.stringify(inline)}`);
        out[name] = inline === 'true';
      } else {
        out[name] = true;
      }
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new InvalidArgument(flag, `needs a value (${spec.value ?? spec.kind})`);
      raw = next;
      i++;
    }
    if (spec.multiple) {
      (out[name] as string[]).push(...raw.split(',').filter((x) => x !== ''));
      continue;
    }
    if (out[name] !== undefined && out[name] !== false) throw new InvalidArgument(flag, 'is given twice');
    out[name] = convert(flag, spec.kind, raw);
  }
  return { flags: out as ParsedFlags<S>, positionals };
}

function convert(flag: string, kind: Exclude<FlagKind, 'boolean'>, raw: string): string | number {
  switch (kind) {
    case 'string':
      if (raw === '') throw new InvalidArgument(flag, 'must not be empty');
      return raw;
    case 'int':
      if (!INT.test(raw)) throw new InvalidArgument(flag, `must be an integer, got ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'duration':
      // A unit is required ("10s", "500ms"): a bare number on a command line is too easy to misread.
      return parseDurationMs(raw, flag);
  }
}

/** positionals checks the count of positional arguments and names what is missing or extra. */
export function expectPositionals(got: readonly string[], names: readonly string[], optional = 0, usage = ''): string[] {
  const min = names.length - optional;
  const tail = usage === '' ? '' : ` (usage: ${usage})`;
  if (got.length < min) throw new InvalidArgument(names[got.length] ?? 'argument', `is required${tail}`);
  if (got.length > names.length) throw new InvalidArgument(JSON.stringify(got[names.length]), `unexpected argument${tail}`);
  return [...got];
}

/** flagHelp renders the flags of a command, aligned, for its --help text. */
export function flagHelp(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : ''}--${name}${s.kind === 'boolean' ? '' : ` ${s.value ?? s.kind.toUpperCase()}`}`;
    return [left, s.help] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`).join('\n');
}

function suggestion(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? `; did you mean --${best}?` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
