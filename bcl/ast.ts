// The BCL syntax tree. It keeps what the formatter needs to reprint a file faithfully (number spellings,
// parentheses, whether a list or record was written over several lines, where each item ends).
import type { Pos } from './errors';

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | '+' | '-' | '*' | '/' | '%';
export type UnaryOp = '-' | '!';

/** Item is anything the formatter lays out one per line: it knows where it ends in the source. */
export interface Item {
  pos: Pos;
  /** endOffset and endLine locate the end of the item's last token. */
  endOffset: number;
  endLine: number;
}

export type Expr =
  | { k: 'num'; raw: string; pos: Pos }
  | { k: 'str'; parts: (string | Expr)[]; pos: Pos }
  | { k: 'bool'; value: boolean; pos: Pos }
  | { k: 'ident'; name: string; pos: Pos }
  | { k: 'list'; items: ListItem[]; multiline: boolean; pos: Pos; close: Pos }
  /** comp is `[expr for a in xs if c for b in ys ...]`: clauses nest left to right, like Python's. */
  | { k: 'comp'; expr: Expr; clauses: CompClause[]; pos: Pos }
  | { k: 'record'; body: Body; pos: Pos }
  | { k: 'extend'; base: Expr; body: Body; pos: Pos }
  | { k: 'lambda'; params: string[]; body: Expr; pos: Pos }
  | { k: 'if'; cond: Expr; then: Expr; else: Expr; pos: Pos }
  /** broken: the source had a line break at the operator; the formatter keeps it (operator first on the line). */
  | { k: 'binary'; op: BinaryOp; left: Expr; right: Expr; broken: boolean; pos: Pos }
  | { k: 'unary'; op: UnaryOp; expr: Expr; pos: Pos }
  | { k: 'field'; expr: Expr; name: string; pos: Pos }
  | { k: 'index'; expr: Expr; index: Expr; pos: Pos }
  | { k: 'call'; fn: Expr; args: Expr[]; pos: Pos }
  | { k: 'paren'; expr: Expr; pos: Pos };

export interface CompClause {
  name: string;
  iter: Expr;
  cond: Expr | undefined;
  pos: Pos;
}

export interface ListItem extends Item {
  expr: Expr;
}

/** Body is the inside of `{ ... }`: entries, and where the braces are (for comments and layout). */
export interface Body {
  entries: Entry[];
  multiline: boolean;
  open: Pos;
  close: Pos;
}

/** PathStep is one step of an entry's target: `a`, `.b`, `["k"]` or `[0]`. */
export type PathStep = { s: 'name'; name: string; pos: Pos } | { s: 'index'; expr: Expr; pos: Pos };

/**
 * Entry is `path = expr` (set the field) or `path { ... }` (extend the inherited record at path).
 * The first step of a path is always a name (possibly written as a string).
 */
export type Entry = Item & { path: PathStep[] } & ({ op: 'set'; value: Expr } | { op: 'extend'; body: Body });

export type Stmt = Item &
  (
    | { s: 'import'; path: string; pathPos: Pos; alias: string }
    | { s: 'let'; name: string; value: Expr }
    | { s: 'job'; name: string; nameQuoted: boolean; namePos: Pos; value: Expr }
  );

export interface Program {
  stmts: Stmt[];
}
