// Generators of random well-formed BCL programs (fast-check), with random layout: line breaks, comments, blank
// lines, trailing commas. Shared by the property tests and the fuzzer.
import fc from 'fast-check';

export type Arb = fc.Arbitrary<string>;

const brk = fc.constantFrom('\n', '\n  ', ' # note\n', '\n\n', ' // why\n  ');
const sep = fc.oneof(fc.constant(', '), fc.constant(','), brk.map((b) => `,${b}`));
const pad = fc.constantFrom(' ', '  ', '');

function pick(names: readonly string[], fallback: Arb): Arb {
  return names.length === 0 ? fallback : fc.oneof(fc.constantFrom(...names), fallback);
}

function num(d: number, vars: readonly string[]): Arb {
  const leaf = fc.oneof(fc.integer({ min: 0, max: 1000 }).map(String), fc.constantFrom('1.5', '0.25', '10'));
  const base = pick(vars, leaf);
  if (d <= 0) return base;
  const sub = num(d - 1, vars);
  return fc.oneof(
    { weight: 3, arbitrary: base },
    {
      weight: 3,
      arbitrary: fc
        .tuple(sub, fc.constantFrom('+', '-', '*', '/', '%'), sub, pad, fc.boolean())
        .map(([a, op, b, p, br]) => (br ? `(${a}\n  ${op} ${b})` : `(${a}${p}${op}${p}${b})`)),
    },
    { weight: 1, arbitrary: sub.map((a) => `-${a}`) },
    { weight: 1, arbitrary: fc.tuple(bool(d - 1, vars), sub, sub).map(([c, a, b]) => `(if ${c} then ${a} else ${b})`) },
    { weight: 1, arbitrary: list(d - 1, vars).map((l) => `len(${l})`) },
    { weight: 1, arbitrary: sub.map((a) => `((x) -> x * 2 + 1)(${a})`) },
    { weight: 1, arbitrary: list(d - 1, vars).map((l) => `sum(${l})`) },
  );
}

function bool(d: number, vars: readonly string[]): Arb {
  const leaf = fc.constantFrom('true', 'false');
  if (d <= 0) return leaf;
  const n = num(d - 1, vars);
  return fc.oneof(
    leaf,
    fc.tuple(n, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), n).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(bool(d - 1, vars), fc.constantFrom('&&', '||'), bool(d - 1, vars)).map(([a, op, b]) => `(${a} ${op} ${b})`),
    bool(d - 1, vars).map((b) => `!${b}`),
    fc.tuple(n, list(d - 1, vars)).map(([a, l]) => `(${a} in ${l})`),
  );
}

const strChars = fc.constantFrom('a', 'b', ' ', '-', '"', '\\', '$', '{', '}', '\t', 'é', '\n');

function str(d: number, vars: readonly string[]): Arb {
  const text = fc.array(strChars, { maxLength: 8 }).map((cs) => cs.join(''));
  const lit = text.map((t) => JSON.stringify(t).replace(/\$\{/g, '\\${'));
  if (d <= 0) return lit;
  return fc.oneof(
    lit,
    fc.tuple(text, num(d - 1, vars), text).map(([a, n, b]) => `"${esc(a)}\${${n}}${esc(b)}"`),
    fc.tuple(str(d - 1, vars), str(d - 1, vars)).map(([a, b]) => `${a} + ${b}`),
    num(d - 1, vars).map((n) => `str(${n})`),
  );
}

function esc(t: string): string {
  return JSON.stringify(t).slice(1, -1).replace(/\$\{/g, '\\${');
}

function list(d: number, vars: readonly string[]): Arb {
  const n = num(Math.max(0, d - 1), vars);
  const items = fc.array(n, { maxLength: 4 });
  return fc.oneof(
    fc.tuple(items, fc.boolean()).map(([xs, trail]) => `[${xs.join(', ')}${trail && xs.length > 0 ? ',' : ''}]`),
    fc.tuple(fc.array(n, { minLength: 1, maxLength: 4 }), sep).map(([xs, s]) => `[\n  ${xs.join(s)}\n]`),
    fc.tuple(n, fc.array(n, { maxLength: 4 }), fc.boolean()).map(([k, xs, f]) => `[x * ${k} for x in [${xs.join(', ')}]${f ? ' if x > 1' : ''}]`),
    fc.tuple(fc.array(n, { maxLength: 3 }), fc.array(n, { maxLength: 3 })).map(([xs, ys]) => `[x + y for x in [${xs.join(', ')}] if x != 2 for y in [${ys.join(', ')}]]`),
    fc.array(n, { maxLength: 3 }).map((xs) => `map((v) -> v + 1, [${xs.join(', ')}])`),
  );
}

function record(d: number, vars: readonly string[]): Arb {
  const key = fc.constantFrom('a', 'b', 'c', '"d-e"', 'f');
  const value = fc.oneof(num(d, vars), str(d, vars), bool(d, vars), list(d, vars));
  const entries = fc.uniqueArray(fc.tuple(key, value), { maxLength: 4, selector: ([k]) => k });
  return fc.oneof(
    entries.map((es) => (es.length === 0 ? '{}' : `{ ${es.map(([k, v]) => `${k} = ${v}`).join(', ')} }`)),
    fc.tuple(entries, brk).map(([es, b]) => `{${b}${es.map(([k, v]) => `${k} = ${v}`).join(b)}${b}}`),
  );
}

/** program is a file of lets, each using the ones before, then a job built from them. */
export const program: Arb = fc
  .tuple(num(2, []), num(2, ['n0']), str(2, ['n0', 'n1']), list(2, ['n0']), record(1, ['n0', 'n1']), fc.tuple(key1(), num(1, ['n0'])), brk, brk)
  .map(
    ([n0, n1, s0, l0, r0, [k, v], b1, b2]) =>
      `# a random program\nlet n0 = ${n0}\nlet n1 = ${n1}${b1}let s0 = ${s0}\nlet l0 = ${l0}\nlet r0 = ${r0}\n` +
      `let r1 = r0 { ${k} = ${v} }${b2}let f0 = (x, y) -> x * y + n0\n` +
      `job j = {\n  user = "u"\n  priority = batch\n  replicas = 2\n  command = "/bin/echo"\n` +
      `  args = [s0, str(n1), str(f0(2, 3))] + [str(x) for x in l0]\n  requirements = { cpu = 100m, ram = 64MiB }\n` +
      `  tasks[1] = { env = { N = str(n0) } }\n}\n`,
  );

function key1(): Arb {
  return fc.constantFrom('a', 'b', 'zz');
}
