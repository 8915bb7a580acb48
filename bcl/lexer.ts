// The BCL lexer: source text -> tokens (with the newline-before flag records use as a separator) and comments
// (kept for the formatter). Strings carry their `${...}` interpolations already split into sub-token lists.
import { BclError, type Pos, type Source } from './errors';
import { BYTE_UNITS } from '../model/units';
import { BCL_MAX_INTERPOLATION_DEPTH } from '../cells/limits';

export type Punct =
  | '{' | '}' | '[' | ']' | '(' | ')' | ',' | '.' | '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '+' | '-' | '*' | '/' | '%' | '!' | '&&' | '||' | '->';

export const KEYWORDS = ['let', 'job', 'import', 'as', 'if', 'then', 'else', 'for', 'in', 'true', 'false'] as const;
export type Keyword = (typeof KEYWORDS)[number];
const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

/** Unit is the dimension a number literal's suffix gives it. */
export type Unit = 'cpu' | 'bytes' | 'duration';

/**
 * UNITS maps a literal suffix to its dimension and scale to the base unit (millicores, bytes, milliseconds).
 * `m` is millicores (as in Kubernetes), so minutes are spelled `min`.
 */
export const UNITS: ReadonlyMap<string, { unit: Unit; scale: number }> = new Map([
  ['m', { unit: 'cpu', scale: 1 }],
  ...Object.entries(BYTE_UNITS).map(([s, scale]): [string, { unit: Unit; scale: number }] => [s, { unit: 'bytes', scale }]),
  ['ms', { unit: 'duration', scale: 1 }],
  ['s', { unit: 'duration', scale: 1000 }],
  ['min', { unit: 'duration', scale: 60_000 }],
  ['h', { unit: 'duration', scale: 3_600_000 }],
]);

export type StringPart = string | Token[];

export type Token =
  | { t: 'ident'; name: string; pos: Pos; end: number; nl: boolean }
  | { t: 'kw'; kw: Keyword; pos: Pos; end: number; nl: boolean }
  | { t: 'num'; raw: string; pos: Pos; end: number; nl: boolean }
  | { t: 'str'; parts: StringPart[]; pos: Pos; end: number; nl: boolean }
  | { t: 'punct'; p: Punct; pos: Pos; end: number; nl: boolean }
  | { t: 'eof'; pos: Pos; end: number; nl: boolean };

/** Comment is `# ...` or `// ...` up to the end of the line; ownLine is true when nothing precedes it on its line. */
export interface Comment {
  text: string;
  pos: Pos;
  ownLine: boolean;
}

const PUNCT2: readonly Punct[] = ['==', '!=', '<=', '>=', '&&', '||', '->'];
const PUNCT1: readonly Punct[] = ['{', '}', '[', ']', '(', ')', ',', '.', '=', '<', '>', '+', '-', '*', '/', '%', '!'];

export function describe(tok: Token): string {
  switch (tok.t) {
    case 'ident':
      return `name ${JSON.stringify(tok.name)}`;
    case 'kw':
      return `keyword ${JSON.stringify(tok.kw)}`;
    case 'num':
      return `number ${tok.raw}`;
    case 'str':
      return 'a string';
    case 'punct':
      return JSON.stringify(tok.p);
    case 'eof':
      return 'end of file';
  }
}

/** lex splits a whole file into tokens (ending with eof) and comments. Throws BclError on a bad character. */
export function lex(source: Source): { tokens: Token[]; comments: Comment[] } {
  const lx = new Lexer(source);
  const tokens = lx.run(false);
  return { tokens, comments: lx.comments };
}

class Lexer {
  i = 0;
  line = 1;
  lineStart = 0;
  comments: Comment[] = [];
  interpDepth = 0;
  private readonly text: string;
  constructor(private readonly source: Source) {
    this.text = source.text;
    // Editors on some systems start UTF-8 files with a byte-order mark; it is not part of the program.
    if (this.text.charCodeAt(0) === 0xfeff) this.i = this.lineStart = 1;
  }

  pos(): Pos {
    return { offset: this.i, line: this.line, col: this.i - this.lineStart + 1 };
  }

  fail(pos: Pos, problem: string): never {
    throw new BclError(this.source, pos, problem);
  }

  /** run lexes until eof, or (inInterp) until the `}` closing a `${`; depth counts braces opened inside. */
  run(inInterp: boolean): Token[] {
    const out: Token[] = [];
    let nl = false;
    let braces = 0;
    const text = this.text;
    for (;;) {
      // Skip blanks and comments, noting newlines.
      while (this.i < text.length) {
        const c = text.charCodeAt(this.i);
        if (c === 10) {
          this.i++;
          this.line++;
          this.lineStart = this.i;
          nl = true;
        } else if (c === 32 || c === 9 || c === 13) {
          this.i++;
        } else if (c === 35 || (c === 47 && text.charCodeAt(this.i + 1) === 47)) {
          const pos = this.pos();
          const ownLine = text.slice(this.lineStart, this.i).trim() === '';
          let e = text.indexOf('\n', this.i);
          if (e < 0) e = text.length;
          this.comments.push({ text: text.slice(this.i, e).replace(/\s+$/, ''), pos, ownLine });
          this.i = e;
        } else break;
      }
      const pos = this.pos();
      if (this.i >= text.length) {
        if (inInterp) this.fail(pos, 'unterminated "${": expected "}"');
        out.push({ t: 'eof', pos, end: this.i, nl: true });
        return out;
      }
      const c = text[this.i] as string;
      if (isIdentStart(c)) {
        let e = this.i + 1;
        while (e < text.length && isIdentPart(text[e] as string)) e++;
        const name = text.slice(this.i, e);
        this.i = e;
        out.push(KEYWORD_SET.has(name) ? { t: 'kw', kw: name as Keyword, pos, end: e, nl } : { t: 'ident', name, pos, end: e, nl });
      } else if (c >= '0' && c <= '9') {
        out.push(this.number(pos, nl));
      } else if (c === '"') {
        out.push(this.string(pos, nl));
      } else {
        const two = text.slice(this.i, this.i + 2);
        const p = PUNCT2.find((x) => x === two) ?? PUNCT1.find((x) => x === c);
        if (p === undefined) {
          const cp = text.codePointAt(this.i) ?? 0;
          this.fail(pos, `unexpected character ${JSON.stringify(String.fromCodePoint(cp))}`);
        }
        if (inInterp && p === '}' && braces === 0) {
          this.i++;
          out.push({ t: 'eof', pos, end: this.i, nl });
          return out;
        }
        if (p === '{') braces++;
        if (p === '}') braces--;
        this.i += p.length;
        out.push({ t: 'punct', p, pos, end: this.i, nl });
      }
      nl = false;
    }
  }

  number(pos: Pos, nl: boolean): Token {
    const text = this.text;
    let e = this.i;
    while (e < text.length && isDigit(text[e])) e++;
    if (text[e] === '.' && isDigit(text[e + 1])) {
      e++;
      while (e < text.length && isDigit(text[e])) e++;
    }
    let u = e;
    while (u < text.length && /[A-Za-z]/.test(text[u] as string)) u++;
    const suffix = text.slice(e, u);
    if (suffix !== '' && !UNITS.has(suffix)) {
      this.fail({ offset: e, line: pos.line, col: pos.col + (e - this.i) }, `unknown unit ${JSON.stringify(suffix)}; expected one of ${[...UNITS.keys()].join(', ')}`);
    }
    if (u < text.length && isIdentPart(text[u] as string)) {
      this.fail({ offset: u, line: pos.line, col: pos.col + (u - this.i) }, `unexpected ${JSON.stringify(text[u])} after number`);
    }
    const raw = text.slice(this.i, u);
    this.i = u;
    return { t: 'num', raw, pos, end: u, nl };
  }

  string(pos: Pos, nl: boolean): Token {
    const text = this.text;
    this.i++; // opening quote
    const parts: StringPart[] = [];
    let buf = '';
    for (;;) {
      if (this.i >= text.length || text[this.i] === '\n') this.fail(pos, 'unterminated string: expected a closing "');
      const c = text[this.i] as string;
      if (c === '"') {
        this.i++;
        break;
      }
      if (c === '\\') {
        const escPos = this.pos();
        const n = text[this.i + 1];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', $: '$' };
        if (n !== undefined && simple[n] !== undefined) {
          buf += simple[n];
          this.i += 2;
        } else if (n === 'u' && text[this.i + 2] === '{') {
          const close = text.indexOf('}', this.i + 3);
          const hex = close < 0 ? '' : text.slice(this.i + 3, close);
          const cp = /^[0-9A-Fa-f]{1,6}$/.test(hex) ? parseInt(hex, 16) : -1;
          if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(escPos, 'bad \\u{...} escape: expected 1 to 6 hex digits of a Unicode scalar value');
          buf += String.fromCodePoint(cp);
          this.i = close + 1;
        } else {
          this.fail(escPos, `unknown escape ${JSON.stringify('\\' + (n ?? ''))}; expected one of \\n \\t \\r \\" \\\\ \\$ \\u{...}`);
        }
      } else if (c === '$' && text[this.i + 1] === '{') {
        if (buf !== '') parts.push(buf);
        buf = '';
        this.i += 2;
        // Interpolations nest ("${"${x}"}"); bound the recursion so no input can overflow the stack.
        if (++this.interpDepth > BCL_MAX_INTERPOLATION_DEPTH) this.fail(pos, `strings nest more than ${BCL_MAX_INTERPOLATION_DEPTH} interpolations deep`);
        const inner = this.run(true);
        this.interpDepth--;
        if (inner.length === 1) this.fail(pos, 'empty "${}" in string: expected an expression');
        parts.push(inner);
      } else {
        buf += c;
        this.i++;
      }
    }
    if (buf !== '' || parts.length === 0) parts.push(buf);
    return { t: 'str', parts, pos, end: this.i, nl };
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

/** isIdent says whether a record key can be written bare (an identifier that is not a keyword). */
export function isIdent(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !KEYWORD_SET.has(s);
}
