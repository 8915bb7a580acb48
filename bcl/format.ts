// The BCL formatter (`borg fmt`): reprints a file in one canonical layout. It keeps the author's choices that
// carry intent (number spellings, parentheses, one-line vs multi-line lists and records, single blank lines,
// comments) and normalises everything else, so its output parses to the same program and formatting is
// idempotent. A comment inside an expression that is not a list or record moves to the line after it.
import type { Body, Entry, Expr, ListItem, PathStep, Stmt } from './ast';
import { isIdent, type Comment } from './lexer';
import { parse } from './parser';
import { unreachable } from '../model/assert';

const INDENT = '  ';

/** format returns the canonical text of a BCL file; it throws BclError if the file does not parse. */
export function format(text: string, file = '<input>'): string {
  const { program, comments } = parse({ file, text });
  return new Printer(comments).program(program.stmts);
}

class Printer {
  private ci = 0;
  constructor(private readonly comments: Comment[]) {}

  program(stmts: Stmt[]): string {
    let out = '';
    let prevEndLine = 0;
    for (const st of stmts) {
      if (prevEndLine > 0 && this.firstLine(st.pos.offset, st.pos.line) - prevEndLine > 1) out += '\n';
      out += this.leading(st.pos.offset, '', st.pos.line);
      out += this.stmt(st) + this.trailing(st.endLine) + '\n';
      prevEndLine = st.endLine;
    }
    if (this.ci < this.comments.length) {
      const c = this.comments[this.ci] as Comment;
      if (stmts.length > 0 && c.pos.line - prevEndLine > 1) out += '\n';
    }
    out += this.leading(Infinity, '');
    return out;
  }

  /** firstLine is where an item's block starts in the source: its first leading comment, or itself. */
  private firstLine(offset: number, line: number): number {
    const c = this.comments[this.ci];
    return c !== undefined && c.pos.offset < offset ? c.pos.line : line;
  }

  /**
   * leading prints, one per line, every comment not yet printed that starts before `offset`, keeping single
   * blank lines between them and, when `itemLine` is given, between the last of them and the item.
   */
  private leading(offset: number, indent: string, itemLine?: number): string {
    let out = '';
    let prevLine = 0;
    for (let c = this.comments[this.ci]; c !== undefined && c.pos.offset < offset; c = this.comments[++this.ci]) {
      if (prevLine > 0 && c.pos.line - prevLine > 1) out += '\n';
      out += `${indent}${c.text}\n`;
      prevLine = c.pos.line;
    }
    if (itemLine !== undefined && prevLine > 0 && itemLine - prevLine > 1) out += '\n';
    return out;
  }

  /** trailing takes a comment written at the end of line `line`, after an item. */
  private trailing(line: number): string {
    const c = this.comments[this.ci];
    if (c === undefined || c.ownLine || c.pos.line !== line) return '';
    this.ci++;
    return ` ${c.text}`;
  }

  private hasCommentBefore(offset: number): boolean {
    const c = this.comments[this.ci];
    return c !== undefined && c.pos.offset < offset;
  }

  private stmt(st: Stmt): string {
    switch (st.s) {
      case 'import':
        return `import ${quote([st.path])} as ${st.alias}`;
      case 'let':
        return `let ${st.name} = ${this.expr(st.value, '')}`;
      case 'job':
        return `job ${isIdent(st.name) ? st.name : quote([st.name])} = ${this.expr(st.value, '')}`;
      default:
        return unreachable(st, 'statement');
    }
  }

  expr(e: Expr, indent: string): string {
    switch (e.k) {
      case 'num':
        return e.raw;
      case 'str':
        return quote(e.parts.map((p) => (typeof p === 'string' ? p : { expr: this.expr(p, indent) })));
      case 'bool':
        return String(e.value);
      case 'ident':
        return e.name;
      case 'paren':
        return `(${this.expr(e.expr, indent)})`;
      case 'list':
        return this.list(e.items, e.multiline, e.close.offset, indent);
      case 'comp': {
        const clauses = e.clauses.map((c) => ` for ${c.name} in ${this.expr(c.iter, indent)}${c.cond ? ` if ${this.expr(c.cond, indent)}` : ''}`);
        return `[${this.expr(e.expr, indent)}${clauses.join('')}]`;
      }
      case 'record':
        return this.body(e.body, indent);
      case 'extend':
        return `${this.expr(e.base, indent)} ${this.body(e.body, indent)}`;
      case 'lambda':
        return `(${e.params.join(', ')}) -> ${this.expr(e.body, indent)}`;
      case 'if':
        return `if ${this.expr(e.cond, indent)} then ${this.expr(e.then, indent)} else ${this.expr(e.else, indent)}`;
      case 'binary':
        if (e.broken) return `${this.expr(e.left, indent)}\n${indent}${INDENT}${e.op} ${this.expr(e.right, indent)}`;
        return `${this.expr(e.left, indent)} ${e.op} ${this.expr(e.right, indent)}`;
      case 'unary':
        return `${e.op}${this.expr(e.expr, indent)}`;
      case 'field':
        return `${this.expr(e.expr, indent)}.${e.name}`;
      case 'index':
        return `${this.expr(e.expr, indent)}[${this.expr(e.index, indent)}]`;
      case 'call':
        return `${this.expr(e.fn, indent)}(${e.args.map((a) => this.expr(a, indent)).join(', ')})`;
    }
    return unreachable(e as never, 'expression');
  }

  private list(items: ListItem[], multiline: boolean, closeOffset: number, indent: string): string {
    if (!multiline || (items.length === 0 && !this.hasCommentBefore(closeOffset))) {
      return `[${items.map((it) => this.expr(it.expr, indent)).join(', ')}]`;
    }
    const inner = indent + INDENT;
    let out = '[\n';
    let prevEndLine = 0;
    for (const it of items) {
      if (prevEndLine > 0 && this.firstLine(it.pos.offset, it.pos.line) - prevEndLine > 1) out += '\n';
      out += this.leading(it.pos.offset, inner, it.pos.line);
      out += `${inner}${this.expr(it.expr, inner)},${this.trailing(it.endLine)}\n`;
      prevEndLine = it.endLine;
    }
    return `${out}${this.leading(closeOffset, inner)}${indent}]`;
  }

  private body(b: Body, indent: string): string {
    if (b.entries.length === 0 && !(b.multiline && this.hasCommentBefore(b.close.offset))) return '{}';
    if (!b.multiline) return `{ ${b.entries.map((en) => this.entry(en, indent)).join(', ')} }`;
    const inner = indent + INDENT;
    let out = '{\n';
    let prevEndLine = 0;
    for (const en of b.entries) {
      if (prevEndLine > 0 && this.firstLine(en.pos.offset, en.pos.line) - prevEndLine > 1) out += '\n';
      out += this.leading(en.pos.offset, inner, en.pos.line);
      out += `${inner}${this.entry(en, inner)}${this.trailing(en.endLine)}\n`;
      prevEndLine = en.endLine;
    }
    return `${out}${this.leading(b.close.offset, inner)}${indent}}`;
  }

  private entry(en: Entry, indent: string): string {
    const path = en.path.map((s, i) => this.step(s, i, indent)).join('');
    return en.op === 'set' ? `${path} = ${this.expr(en.value, indent)}` : `${path} ${this.body(en.body, indent)}`;
  }

  private step(s: PathStep, i: number, indent: string): string {
    if (s.s === 'index') return `[${this.expr(s.expr, indent)}]`;
    if (i === 0) return isIdent(s.name) ? s.name : quote([s.name]);
    return `.${s.name}`;
  }
}

/** quote writes a BCL string literal: text parts escaped, `${...}` parts as given. */
export function quote(parts: (string | { expr: string })[]): string {
  let out = '"';
  for (const p of parts) {
    if (typeof p !== 'string') {
      out += `\${${p.expr}}`;
      continue;
    }
    for (let i = 0; i < p.length; i++) {
      const c = p[i] as string;
      const code = c.charCodeAt(0);
      if (c === '"') out += '\\"';
      else if (c === '\\') out += '\\\\';
      else if (c === '\n') out += '\\n';
      else if (c === '\t') out += '\\t';
      else if (c === '\r') out += '\\r';
      // "$" only needs escaping where it would open an interpolation.
      else if (c === '$' && p[i + 1] === '{') out += '\\$';
      else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
      else out += c;
    }
  }
  return out + '"';
}
