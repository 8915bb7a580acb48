// BclError: every problem with a BCL program (syntax, types, bounds, job fields) is one of these, carrying the
// file, line and column and a rendered message with the source line and a caret, so users fix it in one look.
import { BorgError } from '../model/errors';

/** Pos is a place in a source file: 0-based offset, 1-based line and column (in UTF-16 units, as editors count). */
export interface Pos {
  offset: number;
  line: number;
  col: number;
}

/** Source is one loaded file: its display name and text, so errors can quote the offending line. */
export interface Source {
  file: string;
  text: string;
}

export class BclError extends BorgError {
  override name = 'BclError';
  /** problem is the message without location or quoted source, e.g. `cannot add string and number`. */
  readonly problem: string;
  readonly file: string;
  /** line and col are 0 when the error is about a whole file (e.g. it cannot be read). */
  readonly line: number;
  readonly col: number;
  constructor(source: Source, pos: Pos | undefined, problem: string) {
    super('invalid_argument', render(source, pos, problem));
    this.problem = problem;
    this.file = source.file;
    this.line = pos?.line ?? 0;
    this.col = pos?.col ?? 0;
  }
}

/**
 * render formats `file:line:col: problem`, then the source line and a caret under the column:
 *
 *     web.bcl:3:14: expected an expression, found "}"
 *        3 |   replicas = }
 *          |              ^
 */
export function render(source: Source, pos: Pos | undefined, problem: string): string {
  if (pos === undefined) return `${source.file}: ${problem}`;
  const head = `${source.file}:${pos.line}:${pos.col}: ${problem}`;
  const lineText = sourceLine(source.text, pos.line);
  if (lineText === undefined) return head;
  const gutter = String(pos.line);
  // Tabs keep their width under the caret, so the caret lines up in a terminal.
  const shown = lineText.length > 200 ? lineText.slice(0, 200) + '...' : lineText;
  const pad = lineText.slice(0, Math.max(0, Math.min(pos.col - 1, 200))).replace(/[^\t]/g, ' ');
  return `${head}\n ${gutter} | ${shown}\n ${' '.repeat(gutter.length)} | ${pad}^`;
}

function sourceLine(text: string, line: number): string | undefined {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

/** describeIoError turns ENOENT and friends into a short phrase. */
export function describeIoError(e: unknown): string {
  if (e instanceof Error && 'code' in e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
  }
  return e instanceof Error ? e.message : String(e);
}
