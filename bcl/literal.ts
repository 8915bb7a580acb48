// numberLiteral: the value of a number literal such as `42`, `1.5`, `500m`, `2GiB`, `10s`. Shared by the parser
// (which rejects literals too large to be exact) and the evaluator.
import { assert } from '../model/assert';
import { UNITS } from './lexer';
import type { Value } from './values';

/** numberLiteral reads `42`, `1.5`, `500m`, `2GiB`, `10s` (the lexer has checked the shape and the unit). */
export function numberLiteral(raw: string): Value {
  const m = /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$/.exec(raw);
  assert(m !== null, `lexer produced a bad number ${raw}`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix === '') return { kind: 'number', n };
  const u = UNITS.get(suffix);
  assert(u !== undefined, `lexer produced an unknown unit ${suffix}`);
  return { kind: u.unit, n: n * u.scale };
}
