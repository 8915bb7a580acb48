// The BCL evaluator: a program's syntax tree -> values, eagerly, under a budget of steps, nesting depth and
// allocated bytes, so no input can hang or exhaust the process that evaluates it. File reading is injected
// (`readFile`), so this core does no IO and the same code runs in the CLI, the master and the fuzzer.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Body, Expr, Stmt } from './ast';
import { BclError, describeIoError, type Pos, type Source } from './errors';
import { numberLiteral } from './literal';
import { parse } from './parser';
import { nearest } from './suggest';
import {
  Scope,
  formatNumber,
  formatQuantity,
  heightOf,
  show,
  sizeOf,
  typeName,
  type Binding,
  type ConstraintOp,
  type Dimension,
  type Field,
  type Value,
} from './values';
import { NAMED_PRIORITIES } from '../model/priority';
import { assert, unreachable } from '../model/assert';
import { BCL_MAX_ALLOC_BYTES, BCL_MAX_DEPTH, BCL_MAX_IMPORTS, BCL_MAX_OUTPUT_BYTES, BCL_MAX_STEPS } from '../cells/limits';

/** Limits bound one evaluation; each defaults to its BCL_MAX_* constant in cells/limits.ts. */
export interface Limits {
  maxSteps: number;
  maxDepth: number;
  maxAllocBytes: number;
  maxOutputBytes: number;
  maxImports: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxSteps: BCL_MAX_STEPS,
  maxDepth: BCL_MAX_DEPTH,
  maxAllocBytes: BCL_MAX_ALLOC_BYTES,
  maxOutputBytes: BCL_MAX_OUTPUT_BYTES,
  maxImports: BCL_MAX_IMPORTS,
});

export interface EvalOptions {
  /** readFile returns a file's text given its resolved path; it throws (any error) when it cannot. */
  readFile: (path: string) => string;
  limits?: Partial<Limits>;
}

/** JobDecl is one `job NAME = expr` of the root file, evaluated but not yet checked against the job schema. */
export interface JobDecl {
  name: string;
  value: Value;
  pos: Pos;
  src: Source;
}

/** Module is an evaluated file: its top-level names (lets and import aliases) and its jobs. */
export interface Module {
  src: Source;
  names: ReadonlyMap<string, Binding>;
  jobs: JobDecl[];
}

/** Builtin functions and their arity ([min, max] arguments). */
const BUILTINS: Readonly<Record<string, readonly [number, number]>> = {
  len: [1, 1],
  range: [1, 2],
  map: [2, 2],
  filter: [2, 2],
  str: [1, 1],
  int: [1, 1],
  min: [1, 64],
  max: [1, 64],
  sum: [1, 1],
  join: [2, 2],
  keys: [1, 1],
  has: [2, 2],
  attr: [1, 1],
  exists: [1, 1],
  port_n: [1, 1],
  fail: [1, 1],
};

/**
 * RUNTIME_PLACEHOLDERS are names whose value is text the Borglet substitutes when it starts a task: `port` is
 * the task's first allocated port, `task_index` its index in the job.
 */
export const RUNTIME_PLACEHOLDERS: Readonly<Record<string, string>> = { port: '${port}', task_index: '${task_index}' };

function builtinScope(): Scope {
  const s = new Scope(undefined);
  for (const name of Object.keys(BUILTINS)) s.vars.set(name, { value: { kind: 'builtin', name }, at: undefined });
  for (const [name, n] of Object.entries(NAMED_PRIORITIES)) s.vars.set(name, { value: { kind: 'number', n }, at: undefined });
  for (const [name, text] of Object.entries(RUNTIME_PLACEHOLDERS)) s.vars.set(name, { value: { kind: 'string', s: text }, at: undefined });
  return s;
}

const BUILTIN_SCOPE = builtinScope();

/** Evaluator evaluates one root file and everything it imports. Use it once: its budget is spent as it runs. */
export class Evaluator {
  private steps = 0;
  private depth = 0;
  private allocBytes = 0;
  private readonly limits: Limits;
  private readonly modules = new Map<string, Module>();
  private readonly loading: string[] = [];

  constructor(private readonly options: EvalOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** stepsUsed reports the budget spent, for benchmarks and tests of the bounds. */
  stepsUsed(): number {
    return this.steps;
  }

  /**
   * evalFile parses and evaluates a file. `path` is the resolved path (the module cache key and the base for
   * relative imports); `src.file` is the name errors show.
   */
  evalFile(src: Source, path: string): Module {
    const { program } = parse(src);
    const scope = new Scope(BUILTIN_SCOPE);
    const jobs: JobDecl[] = [];
    this.loading.push(path);
    try {
      for (const st of program.stmts) this.stmt(st, scope, src, path, jobs);
    } finally {
      this.loading.pop();
    }
    const m: Module = { src, names: scope.vars, jobs };
    this.modules.set(path, m);
    return m;
  }

  private stmt(st: Stmt, scope: Scope, src: Source, path: string, jobs: JobDecl[]): void {
    switch (st.s) {
      case 'import': {
        const m = this.importFile(st.path, st.pathPos, src, path);
        const fields = new Map<string, Field>();
        for (const [name, b] of m.names) fields.set(name, { value: b.value, at: b.at ?? st.pos, src: m.src });
        this.define(scope, st.alias, this.record(fields, st.pos, src), st.pos, src);
        return;
      }
      case 'let':
        this.define(scope, st.name, this.eval(st.value, scope, src), st.pos, src);
        return;
      case 'job': {
        const dup = jobs.find((j) => j.name === st.name);
        if (dup) this.fail(src, st.namePos, `job ${JSON.stringify(st.name)} is already declared at line ${dup.pos.line}`);
        jobs.push({ name: st.name, value: this.eval(st.value, scope, src), pos: st.namePos, src });
        return;
      }
      default:
        unreachable(st, 'statement');
    }
  }

  private define(scope: Scope, name: string, value: Value, pos: Pos, src: Source): void {
    const prev = scope.vars.get(name);
    if (prev) this.fail(src, pos, `${JSON.stringify(name)} is already defined at line ${prev.at?.line ?? 0}`);
    scope.vars.set(name, { value, at: pos });
  }

  private importFile(rel: string, pos: Pos, src: Source, fromPath: string): Module {
    if (rel === '') this.fail(src, pos, 'empty import path');
    const path = isAbsolute(rel) ? rel : resolve(dirname(fromPath), rel);
    const cycleAt = this.loading.indexOf(path);
    if (cycleAt >= 0) {
      const chain = [...this.loading.slice(cycleAt), path].map((p) => p.split('/').pop() ?? p).join(' -> ');
      this.fail(src, pos, `import cycle: ${chain}`);
    }
    const cached = this.modules.get(path);
    if (cached) return cached;
    if (this.modules.size + this.loading.length >= this.limits.maxImports + 1) {
      this.fail(src, pos, `too many imported files (the limit is ${this.limits.maxImports})`);
    }
    let text: string;
    try {
      text = this.options.readFile(path);
    } catch (e: unknown) {
      const why = describeIoError(e);
      this.fail(src, pos, `cannot import ${JSON.stringify(rel)}: ${why}`);
    }
    const display = isAbsolute(rel) ? rel : join(dirname(src.file), rel);
    const m = this.evalFile({ file: display, text }, path);
    if (m.jobs.length > 0) {
      const j = m.jobs[0] as JobDecl;
      this.fail(src, pos, `${JSON.stringify(rel)} declares job ${JSON.stringify(j.name)} (line ${j.pos.line}); an imported file may only define names with let`);
    }
    return m;
  }

  fail(src: Source, pos: Pos | undefined, problem: string): never {
    throw new BclError(src, pos, problem);
  }

  /** charge spends n steps of the budget; every node visited, field copied or element compared costs one. */
  private charge(n: number, src: Source, pos: Pos): void {
    this.steps += n;
    if (this.steps > this.limits.maxSteps) {
      this.fail(src, pos, `evaluation takes more than ${this.limits.maxSteps} steps (is there unbounded recursion?)`);
    }
  }

  private alloc(bytes: number, src: Source, pos: Pos): void {
    this.allocBytes += bytes;
    if (this.allocBytes > this.limits.maxAllocBytes) {
      this.fail(src, pos, `evaluation allocates more than ${this.limits.maxAllocBytes} bytes`);
    }
  }

  private checkSize(size: number, src: Source, pos: Pos): void {
    if (size > this.limits.maxOutputBytes) this.fail(src, pos, `value is larger than ${this.limits.maxOutputBytes} bytes`);
  }

  /**
   * checkHeight bounds how deeply values nest. Without it, a chain of lets (`let a1 = [a0]`, `let a2 = [a1]`, ...)
   * builds a value deeper than any recursion limit, and comparing or converting it would overflow the stack.
   */
  private checkHeight(height: number, src: Source, pos: Pos): void {
    if (height > this.limits.maxDepth) this.fail(src, pos, `lists and records nest more than ${this.limits.maxDepth} levels deep`);
  }

  private string(s: string, src: Source, pos: Pos): Value {
    this.alloc(s.length + 8, src, pos);
    this.checkSize(s.length, src, pos);
    return { kind: 'string', s };
  }

  private list(items: Value[], src: Source, pos: Pos): Value {
    let size = 2;
    let height = 1;
    for (const v of items) {
      size += sizeOf(v) + 1;
      height = Math.max(height, heightOf(v) + 1);
    }
    this.charge(items.length, src, pos);
    this.alloc(items.length * 8 + 16, src, pos);
    this.checkSize(size, src, pos);
    this.checkHeight(height, src, pos);
    return { kind: 'list', items, size, height };
  }

  record(fields: Map<string, Field>, pos: Pos, src: Source): Value & { kind: 'record' } {
    let size = 2;
    let height = 1;
    for (const [k, f] of fields) {
      size += k.length + sizeOf(f.value) + 4;
      height = Math.max(height, heightOf(f.value) + 1);
    }
    this.charge(fields.size, src, pos);
    this.alloc(fields.size * 32 + 16, src, pos);
    this.checkSize(size, src, pos);
    this.checkHeight(height, src, pos);
    return { kind: 'record', fields, size, height };
  }

  eval(e: Expr, scope: Scope, src: Source): Value {
    this.charge(1, src, e.pos);
    if (++this.depth > this.limits.maxDepth) {
      this.fail(src, e.pos, `evaluation nests more than ${this.limits.maxDepth} levels deep (is there unbounded recursion?)`);
    }
    try {
      return this.evalInner(e, scope, src);
    } finally {
      this.depth--;
    }
  }

  private evalInner(e: Expr, scope: Scope, src: Source): Value {
    switch (e.k) {
      case 'num':
        return numberLiteral(e.raw);
      case 'str': {
        let s = '';
        for (const part of e.parts) {
          if (typeof part === 'string') s += part;
          else s += this.interpolate(this.eval(part, scope, src), src, part.pos);
          if (s.length > this.limits.maxOutputBytes) this.checkSize(s.length, src, e.pos);
        }
        return this.string(s, src, e.pos);
      }
      case 'bool':
        return { kind: 'bool', b: e.value };
      case 'ident': {
        const b = scope.lookup(e.name);
        if (!b) this.fail(src, e.pos, `undefined name ${JSON.stringify(e.name)}${nearest(e.name, namesInScope(scope))}`);
        return b.value;
      }
      case 'paren':
        return this.eval(e.expr, scope, src);
      case 'list':
        return this.list(
          e.items.map((it) => this.eval(it.expr, scope, src)),
          src,
          e.pos,
        );
      case 'comp': {
        const out: Value[] = [];
        this.comprehend(e, 0, scope, src, out, { size: 2 });
        return this.list(out, src, e.pos);
      }
      case 'record':
        return this.applyBody(new Map(), e.body, scope, src);
      case 'extend': {
        const base = this.eval(e.base, scope, src);
        if (base.kind !== 'record') this.fail(src, e.pos, `only a record can be extended with "{ ... }", got ${typeName(base)}`);
        this.charge(base.fields.size, src, e.pos);
        return this.applyBody(new Map(base.fields), e.body, scope, src);
      }
      case 'lambda':
        return { kind: 'lambda', params: e.params, body: e.body, scope, src };
      case 'if': {
        const c = this.eval(e.cond, scope, src);
        if (c.kind !== 'bool') this.fail(src, e.cond.pos, `"if" needs a bool condition, got ${typeName(c)}`);
        return this.eval(c.b ? e.then : e.else, scope, src);
      }
      case 'unary': {
        const v = this.eval(e.expr, scope, src);
        if (e.op === '-') {
          if (v.kind === 'number' || isQuantity(v)) return { ...v, n: -v.n } as Value;
          this.fail(src, e.pos, `cannot negate a ${typeName(v)}`);
        }
        if (v.kind === 'bool') return { kind: 'bool', b: !v.b };
        if (v.kind === 'constraint') return this.negate(v, src, e.pos);
        return this.fail(src, e.pos, `"!" needs a bool or a constraint, got ${typeName(v)}`);
      }
      case 'binary':
        return this.binary(e, scope, src);
      case 'field': {
        const v = this.eval(e.expr, scope, src);
        if (v.kind !== 'record') this.fail(src, e.pos, `cannot read field ${JSON.stringify(e.name)} of a ${typeName(v)}`);
        const f = v.fields.get(e.name);
        if (!f) this.fail(src, e.pos, `no field ${JSON.stringify(e.name)} in ${show(v)}${nearest(e.name, [...v.fields.keys()])}`);
        return f.value;
      }
      case 'index': {
        const v = this.eval(e.expr, scope, src);
        const i = this.eval(e.index, scope, src);
        if (v.kind === 'list') {
          if (i.kind !== 'number' || !Number.isInteger(i.n)) this.fail(src, e.index.pos, `a list index must be an integer, got ${show(i)}`);
          const item = v.items[i.n];
          if (i.n < 0 || item === undefined) this.fail(src, e.index.pos, `index ${i.n} is out of range for a list of ${v.items.length}`);
          return item;
        }
        if (v.kind === 'record') {
          const key = this.key(i, src, e.index.pos);
          const f = v.fields.get(key);
          if (!f) this.fail(src, e.index.pos, `no field ${JSON.stringify(key)} in ${show(v)}${nearest(key, [...v.fields.keys()])}`);
          return f.value;
        }
        return this.fail(src, e.pos, `cannot index a ${typeName(v)}; only lists and records have "[...]"`);
      }
      case 'call': {
        const fn = this.eval(e.fn, scope, src);
        const args = e.args.map((a) => this.eval(a, scope, src));
        return this.call(fn, args, src, e.pos, e.args.map((a) => a.pos));
      }
    }
    return unreachable(e as never, 'expression');
  }

  /** comprehend runs clause i of a comprehension in `scope`, appending results to out (size-bounded as it goes). */
  private comprehend(e: Expr & { k: 'comp' }, i: number, scope: Scope, src: Source, out: Value[], acc: { size: number }): void {
    const clause = e.clauses[i];
    if (clause === undefined) {
      const v = this.eval(e.expr, scope, src);
      acc.size += sizeOf(v) + 1;
      this.checkSize(acc.size, src, e.pos);
      out.push(v);
      return;
    }
    const iter = this.eval(clause.iter, scope, src);
    if (iter.kind !== 'list') this.fail(src, clause.iter.pos, `"for ... in" needs a list, got ${typeName(iter)}`);
    for (const item of iter.items) {
      const inner = new Scope(scope);
      inner.vars.set(clause.name, { value: item, at: clause.pos });
      if (clause.cond) {
        const c = this.eval(clause.cond, inner, src);
        if (c.kind !== 'bool') this.fail(src, clause.cond.pos, `the "if" of a comprehension needs a bool, got ${typeName(c)}`);
        if (!c.b) continue;
      }
      this.charge(1, src, clause.pos);
      this.comprehend(e, i + 1, inner, src, out, acc);
    }
  }

  private key(i: Value, src: Source, pos: Pos): string {
    if (i.kind === 'string') return i.s;
    if (i.kind === 'number' && Number.isInteger(i.n)) return formatNumber(i.n);
    this.fail(src, pos, `a record key must be a string or an integer, got ${typeName(i)}`);
  }

  /** applyBody applies `{ entries }` on top of `fields` (which it owns) and returns the new record. */
  private applyBody(fields: Map<string, Field>, body: Body, scope: Scope, src: Source): Value & { kind: 'record' } {
    const seen = new Set<string>();
    for (const entry of body.entries) {
      const keys = entry.path.map((step) => (step.s === 'name' ? step.name : this.key(this.eval(step.expr, scope, src), src, step.pos)));
      const id = keys.join('\u0000');
      if (seen.has(id)) this.fail(src, entry.pos, `field ${keys.join('.')} is set twice in this record`);
      seen.add(id);
      let value: Value;
      if (entry.op === 'set') {
        value = this.eval(entry.value, scope, src);
      } else {
        const inherited = this.getPath(fields, keys);
        if (inherited !== undefined && inherited.kind !== 'record') {
          this.fail(src, entry.pos, `cannot extend ${keys.join('.')} with "{ ... }": it is a ${typeName(inherited)}, not a record (use "=" to replace it)`);
        }
        this.charge(inherited?.fields.size ?? 0, src, entry.pos);
        value = this.applyBody(new Map(inherited?.fields ?? []), entry.body, scope, src);
      }
      this.setPath(fields, keys, 0, value, entry.pos, src);
    }
    return this.record(fields, body.open, src);
  }

  private getPath(fields: ReadonlyMap<string, Field>, keys: string[]): Value | undefined {
    let cur: ReadonlyMap<string, Field> = fields;
    for (let i = 0; i < keys.length; i++) {
      const f = cur.get(keys[i] as string);
      if (f === undefined) return undefined;
      if (i === keys.length - 1) return f.value;
      if (f.value.kind !== 'record') return f.value;
      cur = f.value.fields;
    }
    return undefined;
  }

  /** setPath sets keys[i..] below `fields` (owned), copying the records on the way down (values are immutable). */
  private setPath(fields: Map<string, Field>, keys: string[], i: number, value: Value, at: Pos, src: Source): void {
    const k = keys[i] as string;
    if (i === keys.length - 1) {
      fields.set(k, { value, at, src });
      return;
    }
    const cur = fields.get(k)?.value;
    if (cur !== undefined && cur.kind !== 'record') {
      this.fail(src, at, `cannot set ${keys.join('.')}: ${keys.slice(0, i + 1).join('.')} is a ${typeName(cur)}, not a record`);
    }
    this.charge(cur?.fields.size ?? 0, src, at);
    const inner = new Map(cur?.fields ?? []);
    this.setPath(inner, keys, i + 1, value, at, src);
    fields.set(k, { value: this.record(inner, at, src), at, src });
  }

  private interpolate(v: Value, src: Source, pos: Pos): string {
    switch (v.kind) {
      case 'string':
        return v.s;
      case 'number':
        return formatNumber(v.n);
      case 'cpu':
      case 'bytes':
      case 'duration':
        return formatQuantity(v.kind, v.n);
      case 'bool':
        return String(v.b);
      default:
        this.fail(src, pos, `cannot put a ${typeName(v)} into a string; only strings, numbers, quantities and bools interpolate`);
    }
  }

  private negate(v: Value & { kind: 'constraint' }, src: Source, pos: Pos): Value {
    const flip: Partial<Record<ConstraintOp, ConstraintOp>> = { EQ: 'NE', NE: 'EQ', EXISTS: 'NOT_EXISTS', NOT_EXISTS: 'EXISTS' };
    const op = flip[v.op];
    if (op === undefined) this.fail(src, pos, `cannot negate an "in" constraint; machines only match "in" positively`);
    return { ...v, op };
  }

  private binary(e: Expr & { k: 'binary' }, scope: Scope, src: Source): Value {
    const pos = e.pos;
    if (e.op === '&&' || e.op === '||') {
      const l = this.eval(e.left, scope, src);
      if (l.kind !== 'bool') this.fail(src, e.left.pos, `"${e.op}" needs bools, got ${typeName(l)} on the left`);
      if (e.op === '&&' ? !l.b : l.b) return l;
      const r = this.eval(e.right, scope, src);
      if (r.kind !== 'bool') this.fail(src, e.right.pos, `"${e.op}" needs bools, got ${typeName(r)} on the right`);
      return r;
    }
    const l = this.eval(e.left, scope, src);
    const r = this.eval(e.right, scope, src);
    switch (e.op) {
      case '==':
      case '!=': {
        if (l.kind === 'attr') return this.attrCompare(l.key, e.op, r, src, e.right.pos);
        if (r.kind === 'attr') this.fail(src, pos, `write the attribute on the left: attr(${JSON.stringify(r.key)}) ${e.op} ...`);
        const same = this.equal(l, r, true, src, pos);
        return { kind: 'bool', b: e.op === '==' ? same : !same };
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const c = this.order(l, r, src, pos, e.op);
        const b = e.op === '<' ? c < 0 : e.op === '<=' ? c <= 0 : e.op === '>' ? c > 0 : c >= 0;
        return { kind: 'bool', b };
      }
      case 'in':
        return this.member(l, r, src, pos);
      case '+':
        if (l.kind === 'string' && r.kind === 'string') return this.string(l.s + r.s, src, pos);
        if (l.kind === 'list' && r.kind === 'list') return this.list([...l.items, ...r.items], src, pos);
        return this.arith(l, r, '+', src, pos);
      case '-':
      case '*':
      case '/':
      case '%':
        return this.arith(l, r, e.op, src, pos);
    }
    return unreachable(e.op, 'operator');
  }

  private arith(l: Value, r: Value, op: '+' | '-' | '*' | '/' | '%', src: Source, pos: Pos): Value {
    const verb = { '+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide', '%': 'take the remainder of' }[op];
    const cannot = (): never => this.fail(src, pos, `cannot ${verb} ${typeName(l)} and ${typeName(r)}`);
    if (!(l.kind === 'number' || isQuantity(l)) || !(r.kind === 'number' || isQuantity(r))) cannot();
    const ln = (l as { n: number }).n;
    const rn = (r as { n: number }).n;
    let kind: 'number' | Dimension = 'number';
    if (op === '+' || op === '-' || op === '%') {
      if (l.kind !== r.kind) cannot();
      kind = l.kind as 'number' | Dimension;
    } else if (op === '*') {
      if (l.kind !== 'number' && r.kind !== 'number') cannot();
      kind = (l.kind === 'number' ? r.kind : l.kind) as 'number' | Dimension;
    } else {
      if (r.kind === 'number') kind = l.kind as 'number' | Dimension;
      else if (l.kind !== r.kind) cannot();
    }
    if ((op === '/' || op === '%') && rn === 0) this.fail(src, pos, op === '/' ? 'division by zero' : 'remainder by zero');
    const n = op === '+' ? ln + rn : op === '-' ? ln - rn : op === '*' ? ln * rn : op === '/' ? ln / rn : ln % rn;
    if (!Number.isFinite(n)) this.fail(src, pos, `the result of ${op} is too large`);
    // -0 would print as "0" but compare unequal in JSON round trips; normalise it.
    return { kind, n: n === 0 ? 0 : n } as Value;
  }

  /** equal compares structurally. At the top (strict) different types are an error; inside, simply unequal. */
  private equal(a: Value, b: Value, strict: boolean, src: Source, pos: Pos): boolean {
    this.charge(1, src, pos);
    if (a.kind !== b.kind) {
      if (strict) this.fail(src, pos, `cannot compare ${typeName(a)} and ${typeName(b)}`);
      return false;
    }
    switch (a.kind) {
      case 'number':
      case 'cpu':
      case 'bytes':
      case 'duration':
        return a.n === (b as { n: number }).n;
      case 'string':
        return a.s === (b as { s: string }).s;
      case 'bool':
        return a.b === (b as { b: boolean }).b;
      case 'list': {
        const bl = b as typeof a;
        return a.items.length === bl.items.length && a.items.every((x, i) => this.equal(x, bl.items[i] as Value, false, src, pos));
      }
      case 'record': {
        const br = b as typeof a;
        if (a.fields.size !== br.fields.size) return false;
        for (const [k, f] of a.fields) {
          const g = br.fields.get(k);
          if (!g || !this.equal(f.value, g.value, false, src, pos)) return false;
        }
        return true;
      }
      case 'attr':
        return a.key === (b as typeof a).key;
      case 'constraint': {
        const bc = b as typeof a;
        return a.key === bc.key && a.op === bc.op && a.values.join('\u0000') === bc.values.join('\u0000');
      }
      case 'lambda':
      case 'builtin':
        return this.fail(src, pos, 'functions cannot be compared');
    }
  }

  private order(l: Value, r: Value, src: Source, pos: Pos, op: string): number {
    if (l.kind === r.kind && (l.kind === 'number' || isQuantity(l))) {
      const a = (l as { n: number }).n;
      const b = (r as { n: number }).n;
      return a < b ? -1 : a > b ? 1 : 0;
    }
    if (l.kind === 'string' && r.kind === 'string') return l.s < r.s ? -1 : l.s > r.s ? 1 : 0;
    return this.fail(src, pos, `cannot order ${typeName(l)} and ${typeName(r)} with "${op}"`);
  }

  private member(l: Value, r: Value, src: Source, pos: Pos): Value {
    if (l.kind === 'attr') {
      if (r.kind !== 'list') this.fail(src, pos, `attr(...) in needs a list of values, got ${typeName(r)}`);
      const values = r.items.map((v) => this.constraintValue(v, src, pos));
      if (values.length === 0) this.fail(src, pos, `attr(${JSON.stringify(l.key)}) in [] matches no machine`);
      return { kind: 'constraint', key: l.key, op: 'IN', values };
    }
    if (r.kind === 'list') return { kind: 'bool', b: r.items.some((x) => this.equal(l, x, false, src, pos)) };
    if (r.kind === 'record') {
      if (l.kind !== 'string') this.fail(src, pos, `"in" a record needs a string key on the left, got ${typeName(l)}`);
      return { kind: 'bool', b: r.fields.has(l.s) };
    }
    if (r.kind === 'string') {
      if (l.kind !== 'string') this.fail(src, pos, `"in" a string needs a string on the left, got ${typeName(l)}`);
      return { kind: 'bool', b: r.s.includes(l.s) };
    }
    return this.fail(src, pos, `"in" needs a list, record or string on the right, got ${typeName(r)}`);
  }

  private constraintValue(v: Value, src: Source, pos: Pos): string {
    if (v.kind === 'string') return v.s;
    if (v.kind === 'number') return formatNumber(v.n);
    if (v.kind === 'bool') return String(v.b);
    return this.fail(src, pos, `a machine attribute is compared with a string, number or bool, got ${typeName(v)}`);
  }

  private attrCompare(key: string, op: '==' | '!=', r: Value, src: Source, pos: Pos): Value {
    return { kind: 'constraint', key, op: op === '==' ? 'EQ' : 'NE', values: [this.constraintValue(r, src, pos)] };
  }

  /** call applies a lambda or builtin; argPos locates each argument for errors. */
  call(fn: Value, args: Value[], src: Source, pos: Pos, argPos: Pos[]): Value {
    if (fn.kind === 'lambda') {
      if (args.length !== fn.params.length) {
        this.fail(src, pos, `function takes ${plural(fn.params.length, 'argument')}, got ${args.length}`);
      }
      const scope = new Scope(fn.scope);
      fn.params.forEach((p, i) => scope.vars.set(p, { value: args[i] as Value, at: pos }));
      return this.eval(fn.body, scope, fn.src);
    }
    if (fn.kind === 'builtin') return this.builtin(fn.name, args, src, pos, argPos);
    return this.fail(src, pos, `cannot call a ${typeName(fn)}`);
  }

  private builtin(name: string, args: Value[], src: Source, pos: Pos, argPos: Pos[]): Value {
    const arity = BUILTINS[name];
    assert(arity !== undefined, `builtin ${name} has an arity`);
    const [lo, hi] = arity;
    if (args.length < lo || args.length > hi) {
      const want = lo === hi ? plural(lo, 'argument') : `${lo} to ${hi} arguments`;
      this.fail(src, pos, `${name} takes ${want}, got ${args.length}`);
    }
    const at = (i: number): Pos => argPos[i] ?? pos;
    const arg = (i: number): Value => args[i] as Value;
    const want = (i: number, kind: Value['kind'], what = kind as string): never =>
      this.fail(src, at(i), `${name}: argument ${i + 1} must be a ${what}, got ${typeName(arg(i))}`);
    const int = (i: number): number => {
      const v = arg(i);
      if (v.kind !== 'number' || !Number.isSafeInteger(v.n)) return want(i, 'number', 'whole number');
      return v.n;
    };
    const listArg = (i: number): readonly Value[] => {
      const v = arg(i);
      if (v.kind !== 'list') return want(i, 'list');
      return v.items;
    };
    switch (name) {
      case 'len': {
        const v = arg(0);
        if (v.kind === 'string') return { kind: 'number', n: v.s.length };
        if (v.kind === 'list') return { kind: 'number', n: v.items.length };
        if (v.kind === 'record') return { kind: 'number', n: v.fields.size };
        return want(0, 'list', 'string, list or record');
      }
      case 'range': {
        const from = args.length === 2 ? int(0) : 0;
        const to = args.length === 2 ? int(1) : int(0);
        const count = Math.max(0, to - from);
        this.checkSize(count * 9, src, pos);
        this.charge(count, src, pos);
        const items: Value[] = [];
        for (let i = from; i < to; i++) items.push({ kind: 'number', n: i });
        return this.list(items, src, pos);
      }
      case 'map':
      case 'filter': {
        const fn = arg(0);
        if (fn.kind !== 'lambda' && fn.kind !== 'builtin') return want(0, 'lambda', 'function');
        const out: Value[] = [];
        let size = 2;
        for (const item of listArg(1)) {
          const v = this.call(fn, [item], src, at(0), [at(1)]);
          if (name === 'map') {
            size += sizeOf(v) + 1;
            this.checkSize(size, src, pos);
            out.push(v);
          } else {
            if (v.kind !== 'bool') this.fail(src, at(0), `filter: the function must return a bool, got ${typeName(v)}`);
            if (v.b) out.push(item);
          }
        }
        return this.list(out, src, pos);
      }
      case 'str': {
        const v = arg(0);
        return this.string(this.interpolate(v, src, at(0)), src, pos);
      }
      case 'int': {
        const v = arg(0);
        if (v.kind === 'number' || isQuantity(v)) return { kind: 'number', n: Math.trunc(v.n) === 0 ? 0 : Math.trunc(v.n) };
        if (v.kind === 'string') {
          const t = v.s.trim();
          if (!/^-?[0-9]+$/.test(t) || !Number.isSafeInteger(Number(t))) this.fail(src, at(0), `int: ${show(v)} is not a whole number`);
          return { kind: 'number', n: Number(t) === 0 ? 0 : Number(t) };
        }
        return want(0, 'number', 'number, quantity or string');
      }
      case 'min':
      case 'max': {
        const items = args.length === 1 && arg(0).kind === 'list' ? listArg(0) : args;
        if (items.length === 0) this.fail(src, at(0), `${name} of an empty list`);
        let best = items[0] as Value;
        for (const v of items.slice(1)) {
          const c = this.order(v, best, src, pos, name);
          if (name === 'min' ? c < 0 : c > 0) best = v;
        }
        if (items.length === 1) this.order(best, best, src, pos, name);
        return best;
      }
      case 'sum': {
        const items = listArg(0);
        if (items.length === 0) return { kind: 'number', n: 0 };
        let acc = items[0] as Value;
        for (const v of items.slice(1)) acc = this.arith(acc, v, '+', src, at(0));
        if (acc.kind !== 'number' && !isQuantity(acc)) this.fail(src, at(0), `sum: needs numbers or quantities, got ${typeName(acc)}`);
        return acc;
      }
      case 'join': {
        const sep = arg(1);
        if (sep.kind !== 'string') return want(1, 'string');
        const parts = listArg(0).map((v) => this.interpolate(v, src, at(0)));
        let total = 0;
        for (const p of parts) total += p.length + sep.s.length;
        this.checkSize(total, src, pos);
        return this.string(parts.join(sep.s), src, pos);
      }
      case 'keys': {
        const r = arg(0);
        if (r.kind !== 'record') return want(0, 'record');
        return this.list(
          [...r.fields.keys()].map((k) => this.string(k, src, pos)),
          src,
          pos,
        );
      }
      case 'has': {
        const r = arg(0);
        const k = arg(1);
        if (r.kind !== 'record') return want(0, 'record');
        if (k.kind !== 'string') return want(1, 'string');
        return { kind: 'bool', b: r.fields.has(k.s) };
      }
      case 'attr': {
        const k = arg(0);
        if (k.kind !== 'string') return want(0, 'string');
        // The machine attribute names of cells/config.ts and the master: a-z, then up to 62 of a-z 0-9 _ . -
        if (!/^[a-z][a-z0-9_.-]{0,62}$/.test(k.s)) this.fail(src, at(0), `attr: ${show(k)} is not an attribute name (a-z, then up to 62 of a-z 0-9 _ . -)`);
        return { kind: 'attr', key: k.s };
      }
      case 'exists': {
        const a = arg(0);
        if (a.kind !== 'attr') return want(0, 'attr', 'attribute (attr("name"))');
        return { kind: 'constraint', key: a.key, op: 'EXISTS', values: [] };
      }
      case 'port_n': {
        const i = int(0);
        if (i < 0 || i >= 64) this.fail(src, at(0), `port_n: index must be in [0, 64), got ${i}`);
        return this.string(i === 0 ? '${port}' : `\${port${i}}`, src, pos);
      }
      case 'fail': {
        const m = arg(0);
        return this.fail(src, pos, m.kind === 'string' ? m.s : show(m));
      }
    }
    return unreachable(name as never, 'builtin');
  }
}

function isQuantity(v: Value): v is Value & { kind: Dimension } {
  return v.kind === 'cpu' || v.kind === 'bytes' || v.kind === 'duration';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function namesInScope(scope: Scope): string[] {
  const out: string[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) out.push(...s.vars.keys());
  return out;
}
