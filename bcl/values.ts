// BCL runtime values. Quantities keep their dimension (cpu, bytes, duration) so `cpu = 2GiB` is a type error
// rather than a silent 2-billion-core request. Lists and records carry their size so output stays bounded.
import type { Expr } from './ast';
import type { Pos, Source } from './errors';
import { formatDurationMs } from '../model/units';

export type Dimension = 'cpu' | 'bytes' | 'duration';

export type ConstraintOp = 'EQ' | 'NE' | 'IN' | 'EXISTS' | 'NOT_EXISTS';

/** Field is one record field: its value and where it was last set (errors about the field point there). */
export interface Field {
  value: Value;
  at: Pos;
  /** src is the file that set it. */
  src: Source;
}

export type Value =
  | { kind: 'number'; n: number }
  /** n is in the dimension's base unit: millicores, bytes, milliseconds. */
  | { kind: Dimension; n: number }
  | { kind: 'string'; s: string }
  | { kind: 'bool'; b: boolean }
  /** size approximates the encoded bytes; height is how deeply lists and records nest inside (bounded). */
  | { kind: 'list'; items: readonly Value[]; size: number; height: number }
  | { kind: 'record'; fields: ReadonlyMap<string, Field>; size: number; height: number }
  | { kind: 'lambda'; params: readonly string[]; body: Expr; scope: Scope; src: Source }
  | { kind: 'builtin'; name: string }
  | { kind: 'attr'; key: string }
  | { kind: 'constraint'; key: string; op: ConstraintOp; values: readonly string[] };

export type Kind = Value['kind'];

/** Binding is a name in scope and where it was defined (for "already defined" errors). */
export interface Binding {
  value: Value;
  at: Pos | undefined;
}

/** Scope is a chain of name tables. Lambdas capture theirs; the module scope grows as `let`s run. */
export class Scope {
  readonly vars = new Map<string, Binding>();
  constructor(readonly parent: Scope | undefined) {}

  lookup(name: string): Binding | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const b = s.vars.get(name);
      if (b) return b;
    }
    return undefined;
  }
}

/** typeName is how errors name a value's type. */
export function typeName(v: Value | Kind): string {
  const kind = typeof v === 'string' ? v : v.kind;
  switch (kind) {
    case 'lambda':
    case 'builtin':
      return 'function';
    case 'attr':
      return 'attribute';
    default:
      return kind;
  }
}

/** sizeOf approximates a value's encoded size in bytes; lists and records carry theirs. */
export function sizeOf(v: Value): number {
  switch (v.kind) {
    case 'string':
      return v.s.length + 2;
    case 'list':
    case 'record':
      return v.size;
    case 'constraint':
      return v.key.length + v.values.reduce((a, s) => a + s.length + 2, 8);
    case 'attr':
      return v.key.length + 8;
    default:
      return 8;
  }
}

/** heightOf is 1 + how deeply lists and records nest inside v; scalars are 0. */
export function heightOf(v: Value): number {
  return v.kind === 'list' || v.kind === 'record' ? v.height : 0;
}

/** formatNumber spells a number the way BCL reads it back (integers without exponent where possible). */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  return String(n);
}

const BYTE_SPELLINGS: readonly [number, string][] = [
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/** formatQuantity spells a quantity as a BCL literal: `500m`, `2GiB`, `1536MiB`, `10s`, `250ms`. */
export function formatQuantity(kind: Dimension, n: number): string {
  switch (kind) {
    case 'cpu':
      return `${formatNumber(n)}m`;
    case 'bytes': {
      for (const [scale, unit] of BYTE_SPELLINGS) if (n !== 0 && Number.isInteger(n / scale)) return `${formatNumber(n / scale)}${unit}`;
      return `${formatNumber(n)}B`;
    }
    case 'duration':
      return formatDurationMs(n);
  }
}

/** show renders a value for error messages: short, and never the whole of a large value. */
export function show(v: Value): string {
  const s = showInner(v, 3);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function showInner(v: Value, budget: number): string {
  switch (v.kind) {
    case 'number':
      return formatNumber(v.n);
    case 'cpu':
    case 'bytes':
    case 'duration':
      return formatQuantity(v.kind, v.n);
    case 'string':
      return JSON.stringify(v.s.length > 60 ? v.s.slice(0, 57) + '...' : v.s);
    case 'bool':
      return String(v.b);
    case 'list':
      if (budget <= 0) return '[...]';
      return `[${v.items.slice(0, 5).map((x) => showInner(x, budget - 1)).join(', ')}${v.items.length > 5 ? ', ...' : ''}]`;
    case 'record': {
      if (budget <= 0) return '{...}';
      const entries = [...v.fields].slice(0, 5).map(([k, f]) => `${k} = ${showInner(f.value, budget - 1)}`);
      return `{ ${entries.join(', ')}${v.fields.size > 5 ? ', ...' : ''} }`;
    }
    case 'lambda':
      return `(${v.params.join(', ')}) -> ...`;
    case 'builtin':
      return `builtin ${v.name}`;
    case 'attr':
      return `attr(${JSON.stringify(v.key)})`;
    case 'constraint':
      return constraintText(v);
  }
}

function constraintText(v: { key: string; op: ConstraintOp; values: readonly string[] }): string {
  const a = `attr(${JSON.stringify(v.key)})`;
  switch (v.op) {
    case 'EQ':
      return `${a} == ${JSON.stringify(v.values[0] ?? '')}`;
    case 'NE':
      return `${a} != ${JSON.stringify(v.values[0] ?? '')}`;
    case 'IN':
      return `${a} in ${JSON.stringify(v.values)}`;
    case 'EXISTS':
      return `exists(${a})`;
    case 'NOT_EXISTS':
      return `!exists(${a})`;
  }
}

/** Json is a plain JSON value (what property tests compare). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * toJson turns a value into plain JSON for comparisons: quantities become `{cpu: n}` etc., functions their
 * parameter list. Walks at most `budget.left` nodes (shared sub-values count each time they are reached).
 */
export function toJson(v: Value, budget: { left: number }): Json {
  if (--budget.left < 0) return '<truncated>';
  switch (v.kind) {
    case 'number':
      return v.n;
    case 'cpu':
    case 'bytes':
    case 'duration':
      return { [v.kind]: v.n };
    case 'string':
      return v.s;
    case 'bool':
      return v.b;
    case 'list':
      return v.items.map((x) => toJson(x, budget));
    case 'record': {
      const o: { [k: string]: Json } = {};
      // defineProperty, not assignment: a field named "__proto__" must stay a field.
      for (const [k, f] of v.fields) Object.defineProperty(o, k, { value: toJson(f.value, budget), enumerable: true, writable: true, configurable: true });
      return { record: o };
    }
    case 'lambda':
      return { lambda: v.params.join(',') };
    case 'builtin':
      return { builtin: v.name };
    case 'attr':
      return { attr: v.key };
    case 'constraint':
      return { constraint: constraintText(v) };
  }
}
