// The BCL parser: hand-written recursive descent over the lexer's tokens, so every error can say exactly what
// was expected where. The grammar is in bcl/README.md; precedence, loosest first: `if`/lambda, `||`, `&&`,
// comparisons and `in` (non-associative), `+ -`, `* / %`, unary `- !`, postfix `.f [i] (args) {extend}`.
import type { BinaryOp, Body, CompClause, Entry, Expr, ListItem, PathStep, Program, Stmt } from './ast';
import { BclError, type Pos, type Source } from './errors';
import { numberLiteral } from './literal';
import { describe, lex, type Comment, type Keyword, type Punct, type Token } from './lexer';
import { BCL_MAX_FOR_CLAUSES, BCL_MAX_PARSE_DEPTH, BCL_MAX_PATH_STEPS, BCL_MAX_SOURCE_BYTES } from '../cells/limits';

export interface Parsed {
  program: Program;
  comments: Comment[];
}

/** parse turns a whole file into a Program. Throws BclError (with file:line:col) on the first syntax error. */
export function parse(source: Source): Parsed {
  if (source.text.length > BCL_MAX_SOURCE_BYTES) {
    throw new BclError(source, undefined, `file is ${source.text.length} bytes; the limit is ${BCL_MAX_SOURCE_BYTES}`);
  }
  const { tokens, comments } = lex(source);
  const p = new Parser(source, tokens, 0);
  return { program: p.program(), comments };
}

const COMPARISONS: readonly Punct[] = ['==', '!=', '<', '<=', '>', '>='];

class Parser {
  private i = 0;
  private prevEnd = 0;
  private prevEndLine = 1;

  constructor(
    private readonly source: Source,
    private readonly toks: Token[],
    private depth: number,
  ) {}

  private get tok(): Token {
    return this.toks[this.i] ?? (this.toks[this.toks.length - 1] as Token);
  }

  private peek(n: number): Token {
    return this.toks[this.i + n] ?? (this.toks[this.toks.length - 1] as Token);
  }

  private next(): Token {
    const t = this.tok;
    if (t.t !== 'eof') this.i++;
    this.prevEnd = t.end;
    this.prevEndLine = lineAt(this.source.text, t.end, t.pos);
    return t;
  }

  private fail(pos: Pos, problem: string): never {
    throw new BclError(this.source, pos, problem);
  }

  private expected(what: string): never {
    this.fail(this.tok.pos, `expected ${what}, found ${describe(this.tok)}`);
  }

  /** notAtEnd: inside a bracket opened at `open`, the end of the file is an error that names the bracket. */
  private notAtEnd(bracket: '{' | '[', open: Pos): void {
    if (this.tok.t === 'eof') this.fail(this.tok.pos, `found end of file: the "${bracket}" at ${open.line}:${open.col} is not closed`);
  }

  private isP(p: Punct, t: Token = this.tok): boolean {
    return t.t === 'punct' && t.p === p;
  }

  private isKw(kw: Keyword, t: Token = this.tok): boolean {
    return t.t === 'kw' && t.kw === kw;
  }

  private eatP(p: Punct, what?: string): Token {
    if (!this.isP(p)) this.expected(what ?? JSON.stringify(p));
    return this.next();
  }

  private eatKw(kw: Keyword): Token {
    if (!this.isKw(kw)) this.expected(`keyword ${JSON.stringify(kw)}`);
    return this.next();
  }

  private ident(what: string): { name: string; pos: Pos } {
    const t = this.tok;
    if (t.t !== 'ident') {
      if (t.t === 'kw') this.fail(t.pos, `expected ${what}, found keyword ${JSON.stringify(t.kw)} (keywords cannot be names)`);
      this.expected(what);
    }
    this.next();
    return { name: t.name, pos: t.pos };
  }

  /** nest runs f one level deeper, failing once the tree would exceed BCL_MAX_PARSE_DEPTH. */
  private nest<T>(pos: Pos, f: () => T): T {
    if (++this.depth > BCL_MAX_PARSE_DEPTH) this.fail(pos, `expression nests more than ${BCL_MAX_PARSE_DEPTH} levels deep`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  /** deeper accounts for one more level of a left-leaning chain (a + b + c, a.b.c) built in a loop. */
  private deeper(pos: Pos): void {
    if (++this.depth > BCL_MAX_PARSE_DEPTH) this.fail(pos, `expression nests more than ${BCL_MAX_PARSE_DEPTH} levels deep`);
  }

  program(): Program {
    const stmts: Stmt[] = [];
    while (this.tok.t !== 'eof') {
      if (stmts.length > 0 && !this.tok.nl) this.fail(this.tok.pos, `expected a new line before the next statement, found ${describe(this.tok)}`);
      stmts.push(this.stmt());
    }
    return { stmts };
  }

  private stmt(): Stmt {
    const t = this.tok;
    const pos = t.pos;
    if (this.isKw('import')) {
      this.next();
      const pt = this.tok;
      if (pt.t !== 'str') this.expected('a file name in quotes after "import"');
      if (pt.parts.length !== 1 || typeof pt.parts[0] !== 'string') this.fail(pt.pos, 'an import path cannot contain "${...}"');
      this.next();
      this.eatKw('as');
      const alias = this.ident('a name for the import after "as"');
      return { s: 'import', path: pt.parts[0], pathPos: pt.pos, alias: alias.name, pos, ...this.end() };
    }
    if (this.isKw('let')) {
      this.next();
      const name = this.ident('a name after "let"');
      this.eatP('=', '"=" after the name');
      const value = this.expr();
      return { s: 'let', name: name.name, value, pos, ...this.end() };
    }
    if (this.isKw('job')) {
      this.next();
      const nt = this.tok;
      let name: string;
      let nameQuoted = false;
      if (nt.t === 'ident') {
        name = nt.name;
      } else if (nt.t === 'str' && nt.parts.length === 1 && typeof nt.parts[0] === 'string') {
        name = nt.parts[0];
        nameQuoted = true;
      } else {
        this.expected('a job name after "job"');
      }
      this.next();
      this.eatP('=', '"=" after the job name');
      const value = this.expr();
      return { s: 'job', name, nameQuoted, namePos: nt.pos, value, pos, ...this.end() };
    }
    this.expected('"import", "let" or "job" at the start of a statement');
  }

  private end(): { endOffset: number; endLine: number } {
    return { endOffset: this.prevEnd, endLine: this.prevEndLine };
  }

  expr(): Expr {
    const pos = this.tok.pos;
    return this.nest(pos, () => {
      if (this.isKw('if')) {
        this.next();
        const cond = this.expr();
        this.eatKw('then');
        const then = this.expr();
        this.eatKw('else');
        const els = this.expr();
        return { k: 'if', cond, then, else: els, pos };
      }
      if (this.isP('(') && this.lambdaAhead()) return this.lambda();
      return this.or();
    });
  }

  /** lambdaAhead looks past `( a, b )` for `->`, telling a lambda from a parenthesised expression. */
  private lambdaAhead(): boolean {
    let n = 1;
    if (this.isP(')', this.peek(n))) return this.isP('->', this.peek(n + 1));
    for (;;) {
      if (this.peek(n).t !== 'ident') return false;
      n++;
      if (this.isP(')', this.peek(n))) return this.isP('->', this.peek(n + 1));
      if (!this.isP(',', this.peek(n))) return false;
      n++;
    }
  }

  private lambda(): Expr {
    const pos = this.eatP('(').pos;
    const params: string[] = [];
    while (!this.isP(')')) {
      const p = this.ident('a parameter name');
      if (params.includes(p.name)) this.fail(p.pos, `parameter ${JSON.stringify(p.name)} appears twice`);
      params.push(p.name);
      if (!this.isP(')')) this.eatP(',', '"," or ")" in the parameter list');
    }
    this.eatP(')');
    this.eatP('->');
    const body = this.expr();
    return { k: 'lambda', params, body, pos };
  }

  private binaryLoop(ops: readonly BinaryOp[], operand: () => Expr): Expr {
    const saved = this.depth;
    let left = operand();
    for (;;) {
      const t = this.tok;
      const op = t.t === 'punct' ? (ops as readonly string[]).find((o) => o === t.p) : undefined;
      if (op === undefined) break;
      this.deeper(t.pos);
      this.next();
      const broken = t.nl || this.tok.nl;
      const right = operand();
      left = { k: 'binary', op: op as BinaryOp, left, right, broken, pos: t.pos };
    }
    this.depth = saved;
    return left;
  }

  private or(): Expr {
    return this.binaryLoop(['||'], () => this.and());
  }

  private and(): Expr {
    return this.binaryLoop(['&&'], () => this.comparison());
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.tok;
    let op: BinaryOp | undefined;
    if (t.t === 'punct' && COMPARISONS.includes(t.p)) op = t.p as BinaryOp;
    else if (this.isKw('in')) op = 'in';
    if (op === undefined) return left;
    this.next();
    const right = this.nest(t.pos, () => this.additive());
    const n = this.tok;
    if ((n.t === 'punct' && COMPARISONS.includes(n.p)) || this.isKw('in')) {
      this.fail(n.pos, `comparisons do not chain: put parentheses around "a ${op} b" before ${describe(n)}`);
    }
    return { k: 'binary', op, left, right, broken: false, pos: t.pos };
  }

  private additive(): Expr {
    return this.binaryLoop(['+', '-'], () => this.multiplicative());
  }

  private multiplicative(): Expr {
    return this.binaryLoop(['*', '/', '%'], () => this.unary());
  }

  private unary(): Expr {
    const t = this.tok;
    if (this.isP('-') || this.isP('!')) {
      this.next();
      const expr = this.nest(t.pos, () => this.unary());
      return { k: 'unary', op: t.t === 'punct' && t.p === '!' ? '!' : '-', expr, pos: t.pos };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    const saved = this.depth;
    let e = this.primary();
    for (;;) {
      const t = this.tok;
      if (this.isP('.')) {
        this.deeper(t.pos);
        this.next();
        const name = this.fieldName();
        e = { k: 'field', expr: e, name, pos: t.pos };
      } else if (this.isP('[') && !t.nl) {
        this.deeper(t.pos);
        this.next();
        const index = this.expr();
        this.eatP(']', '"]" after the index');
        e = { k: 'index', expr: e, index, pos: t.pos };
      } else if (this.isP('(') && !t.nl) {
        this.deeper(t.pos);
        this.next();
        const args: Expr[] = [];
        while (!this.isP(')')) {
          args.push(this.expr());
          if (!this.isP(')')) this.eatP(',', '"," or ")" after an argument');
        }
        this.next();
        e = { k: 'call', fn: e, args, pos: t.pos };
      } else if (this.isP('{') && !t.nl) {
        this.deeper(t.pos);
        const body = this.body();
        e = { k: 'extend', base: e, body, pos: t.pos };
      } else break;
    }
    this.depth = saved;
    return e;
  }

  private fieldName(): string {
    const t = this.tok;
    if (t.t === 'ident') {
      this.next();
      return t.name;
    }
    this.expected('a field name after "."');
  }

  private primary(): Expr {
    const t = this.tok;
    switch (t.t) {
      case 'num': {
        this.next();
        const v = numberLiteral(t.raw);
        if (!('n' in v) || !Number.isFinite(v.n) || v.n > Number.MAX_SAFE_INTEGER * 1024) this.fail(t.pos, `number ${t.raw} is too large`);
        return { k: 'num', raw: t.raw, pos: t.pos };
      }
      case 'str':
        this.next();
        return this.stringExpr(t.parts, t.pos);
      case 'ident':
        this.next();
        return { k: 'ident', name: t.name, pos: t.pos };
      case 'kw':
        if (t.kw === 'true' || t.kw === 'false') {
          this.next();
          return { k: 'bool', value: t.kw === 'true', pos: t.pos };
        }
        break;
      case 'punct':
        if (t.p === '(') {
          this.next();
          const expr = this.expr();
          this.eatP(')', '")" to close "("');
          return { k: 'paren', expr, pos: t.pos };
        }
        if (t.p === '[') return this.list();
        if (t.p === '{') return { k: 'record', body: this.body(), pos: t.pos };
        break;
      case 'eof':
        break;
    }
    this.expected('an expression');
  }

  private stringExpr(parts: (string | Token[])[], pos: Pos): Expr {
    const out: (string | Expr)[] = [];
    for (const part of parts) {
      if (typeof part === 'string') {
        out.push(part);
        continue;
      }
      const sub = new Parser(this.source, part, this.depth + 1);
      const e = sub.expr();
      if (sub.tok.t !== 'eof') sub.expected('"}" to close "${"');
      out.push(e);
    }
    return { k: 'str', parts: out, pos };
  }

  private list(): Expr {
    const open = this.eatP('[');
    const pos = open.pos;
    if (this.isP(']')) {
      const close = this.next();
      return { k: 'list', items: [], multiline: close.pos.line !== pos.line, pos, close: close.pos };
    }
    const first = this.item(() => this.expr());
    if (this.isKw('for')) {
      const clauses: CompClause[] = [];
      while (this.isKw('for')) {
        const at = this.next().pos;
        if (clauses.length >= BCL_MAX_FOR_CLAUSES) this.fail(at, `a comprehension has at most ${BCL_MAX_FOR_CLAUSES} "for" clauses`);
        const name = this.ident('a loop variable after "for"');
        this.eatKw('in');
        const iter = this.expr();
        let cond: Expr | undefined;
        if (this.isKw('if')) {
          this.next();
          cond = this.expr();
        }
        clauses.push({ name: name.name, iter, cond, pos: at });
      }
      this.eatP(']', '"for", "if" or "]" in the comprehension');
      return { k: 'comp', expr: first.expr, clauses, pos };
    }
    const items: ListItem[] = [first];
    for (;;) {
      if (this.isP(']')) break;
      this.notAtEnd('[', pos);
      this.eatP(',', '"," or "]" in the list');
      if (this.isP(']')) break;
      items.push(this.item(() => this.expr()));
    }
    const close = this.next();
    return { k: 'list', items, multiline: close.pos.line !== pos.line, pos, close: close.pos };
  }

  private item(f: () => Expr): ListItem {
    const pos = this.tok.pos;
    const expr = f();
    return { expr, pos, ...this.end() };
  }

  /** body parses `{ entry (sep entry)* }` where sep is "," or a new line. */
  private body(): Body {
    const open = this.eatP('{').pos;
    const entries: Entry[] = [];
    for (;;) {
      if (this.isP('}')) break;
      this.notAtEnd('{', open);
      if (entries.length > 0) {
        if (this.isP(',')) {
          this.next();
          if (this.isP('}')) break;
        } else if (!this.tok.nl) {
          this.expected('"," or a new line between fields');
        }
      }
      entries.push(this.entry());
    }
    const close = this.next().pos;
    return { entries, multiline: close.line !== open.line, open, close };
  }

  private entry(): Entry {
    const t = this.tok;
    const pos = t.pos;
    const path: PathStep[] = [];
    if (t.t === 'ident') path.push({ s: 'name', name: t.name, pos });
    else if (t.t === 'str' && t.parts.length === 1 && typeof t.parts[0] === 'string') path.push({ s: 'name', name: t.parts[0], pos });
    else if (t.t === 'kw') this.fail(t.pos, `expected a field name, found keyword ${JSON.stringify(t.kw)} (write it in quotes to use it as a field name)`);
    else this.expected('a field name or "}"');
    this.next();
    for (;;) {
      const s = this.tok;
      if (this.isP('.')) {
        this.next();
        path.push({ s: 'name', name: this.fieldName(), pos: s.pos });
      } else if (this.isP('[')) {
        this.next();
        const expr = this.expr();
        this.eatP(']', '"]" after the index');
        path.push({ s: 'index', expr, pos: s.pos });
      } else break;
      if (path.length > BCL_MAX_PATH_STEPS) this.fail(s.pos, `a field path has at most ${BCL_MAX_PATH_STEPS} steps`);
    }
    if (this.isP('=')) {
      this.next();
      const value = this.expr();
      return { path, op: 'set', value, pos, ...this.end() };
    }
    if (this.isP('{')) {
      const body = this.nest(this.tok.pos, () => this.body());
      return { path, op: 'extend', body, pos, ...this.end() };
    }
    this.expected('"=" or "{" after the field name');
  }
}

/** lineAt is the line on which a token ends: a string with a multi-line "${...}" ends below where it starts. */
function lineAt(text: string, end: number, start: Pos): number {
  let line = start.line;
  // Scan only the token itself: searching past its end would make parsing a long one-line file quadratic.
  for (let i = start.offset; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
