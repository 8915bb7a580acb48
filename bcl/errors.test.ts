// Error tests: each bad program and the exact message it must produce (file:line:col: problem), plus full
// renderings with the source line and caret. Imports come from an in-memory file table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { BclError, evaluateSource, type EvaluateOptions } from './index';

function fsOf(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = files[basename(path)];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

function errorOf(text: string, files: Record<string, string> = {}, options: EvaluateOptions = {}): BclError {
  try {
    evaluateSource(text, 't.bcl', { readFile: fsOf(files), ...options });
  } catch (e: unknown) {
    if (e instanceof BclError) return e;
    throw e;
  }
  assert.fail('expected a BclError');
}

const JOB = 'job a = {\n  user = "u"\n  priority = 0\n  command = "/bin/true"\n  requirements = { cpu = 10m, ram = 8MiB }\n';

const cases: [string, string, string, Record<string, string>?][] = [
  // Syntax.
  ['missing value', 'job a = {\n  replicas = }', 't.bcl:2:14: expected an expression, found "}"'],
  ['unterminated string', 'let s = "abc', 't.bcl:1:9: unterminated string: expected a closing "'],
  ['unknown unit', 'let r = 5Gb', 't.bcl:1:10: unknown unit "Gb"; expected one of m, B, K, KB, M, MB, G, GB, T, TB, Ki, KiB, Mi, MiB, Gi, GiB, Ti, TiB, ms, s, min, h'],
  ['fields need a separator', 'let r = { a = 1 b = 2 }', 't.bcl:1:17: expected "," or a new line between fields, found name "b"'],
  ['bad statement', 'x = 1', 't.bcl:1:1: expected "import", "let" or "job" at the start of a statement, found name "x"'],
  ['two statements on a line', 'let a = 1 let b = 2', 't.bcl:1:11: expected a new line before the next statement, found keyword "let"'],
  ['keyword as a name', 'let if = 1', 't.bcl:1:5: expected a name after "let", found keyword "if" (keywords cannot be names)'],
  ['keyword as a field', 'let r = { in = 1 }', 't.bcl:1:11: expected a field name, found keyword "in" (write it in quotes to use it as a field name)'],
  ['chained comparison', 'let b = 1 < 2 < 3', 't.bcl:1:15: comparisons do not chain: put parentheses around "a < b" before "<"'],
  ['unknown escape', 'let s = "a\\qb"', 't.bcl:1:11: unknown escape "\\\\q"; expected one of \\n \\t \\r \\" \\\\ \\$ \\u{...}'],
  ['bad character', 'let s = 1 @ 2', 't.bcl:1:11: unexpected character "@"'],
  ['unclosed interpolation', 'let s = "${1 + }"', 't.bcl:1:16: expected an expression, found end of file'],
  ['unclosed record', 'job b = {\n  replicas = 2\n  requirements = { cpu = 1, ram = 1GiB\n}\n', 't.bcl:5:1: found end of file: the "{" at 1:9 is not closed'],
  ['unclosed list', 'let l = [1, 2', 't.bcl:1:14: found end of file: the "[" at 1:9 is not closed'],
  ['interpolations too deep', `let s = ${'"${'.repeat(40)}1${'}"'.repeat(40)}`, 't.bcl:1:105: strings nest more than 32 interpolations deep'],
  ['path too long', `let r = { a${'.b'.repeat(40)} = 1 }`, 't.bcl:1:74: a field path has at most 32 steps'],
  ['too many for clauses', `let x = [1 ${'for a in [1] '.repeat(9)}]`, 't.bcl:1:116: a comprehension has at most 8 "for" clauses'],
  ['too deep', `let x = ${'('.repeat(300)}1${')'.repeat(300)}`, 't.bcl:1:209: expression nests more than 200 levels deep'],
  // Names and types.
  ['undefined name', 'let replicas = 1\nlet y = replicsa', 't.bcl:2:9: undefined name "replicsa"; did you mean "replicas"?'],
  ['add string and number', 'let x = "a" + 1', 't.bcl:1:13: cannot add string and number'],
  ['add bytes and cpu', 'let x = 1GiB + 500m', 't.bcl:1:14: cannot add bytes and cpu'],
  ['compare number and string', 'let x = 1 == "1"', 't.bcl:1:11: cannot compare number and string'],
  ['if needs bool', 'let x = if 1 then 2 else 3', 't.bcl:1:12: "if" needs a bool condition, got number'],
  ['division by zero', 'let x = 1 / (2 - 2)', 't.bcl:1:11: division by zero'],
  ['call arity', 'let f = (a, b) -> a\nlet x = f(1)', 't.bcl:2:10: function takes 2 arguments, got 1'],
  ['builtin arity', 'let x = len()', 't.bcl:1:12: len takes 1 argument, got 0'],
  ['call a number', 'let x = 3(1)', 't.bcl:1:10: cannot call a number'],
  ['missing field', 'let r = { name = 1 }\nlet x = r.nmae', 't.bcl:2:10: no field "nmae" in { name = 1 }; did you mean "name"?'],
  ['index out of range', 'let x = [1, 2][2]', 't.bcl:1:16: index 2 is out of range for a list of 2'],
  ['extend a number', 'let x = 3 { a = 1 }', 't.bcl:1:11: only a record can be extended with "{ ... }", got number'],
  ['set twice', 'let x = { a = 1, a = 2 }', 't.bcl:1:18: field a is set twice in this record'],
  ['set through a number', 'let x = { a = 1, a.b = 2 }', 't.bcl:1:18: cannot set a.b: a is a number, not a record'],
  ['already defined', 'let x = 1\nlet x = 2', 't.bcl:2:1: "x" is already defined at line 1'],
  ['comprehension over a number', 'let x = [y for y in 3]', 't.bcl:1:21: "for ... in" needs a list, got number'],
  ['comprehension filter not bool', 'let x = [y for y in [1] if y]', 't.bcl:1:28: the "if" of a comprehension needs a bool, got number'],
  ['comprehension unclosed', 'let x = [y for y in [1] 2]', 't.bcl:1:25: expected "for", "if" or "]" in the comprehension, found number 2'],
  ['fail()', 'let x = fail("custom message")', 't.bcl:1:13: custom message'],
  ['negate an in', 'let c = !(attr("a") in ["x"])', 't.bcl:1:9: cannot negate an "in" constraint; machines only match "in" positively'],
  ['interpolate a list', 'let s = "${[1]}"', 't.bcl:1:12: cannot put a list into a string; only strings, numbers, quantities and bools interpolate'],
  // Bounds.
  ['unbounded recursion', 'let f = (n) -> f(n + 1)\nlet x = f(0)', 't.bcl:1:18: evaluation nests more than 512 levels deep (is there unbounded recursion?)'],
  ['too many steps', 'let f = (n) -> if n == 0 then 0 else f(n - 1) + f(n - 1)\nlet x = f(40)', 't.bcl:1:50: evaluation takes more than 10000000 steps (is there unbounded recursion?)'],
  ['too large', `let d = (s) -> s + s\nlet x = ${'d('.repeat(30)}"0123456789abcdef"${')'.repeat(30)}`, 't.bcl:1:18: value is larger than 16777216 bytes'],
  ['values nested through lets', Array.from({ length: 600 }, (_, i) => (i === 0 ? 'let a0 = [0]' : `let a${i} = [a${i - 1}]`)).join('\n'), 't.bcl:513:12: lists and records nest more than 512 levels deep'],
  ['huge range', 'let x = range(100000000)', 't.bcl:1:14: value is larger than 16777216 bytes'],
  // Imports.
  ['import cycle', 'import "a.bcl" as a', 'b.bcl:1:8: import cycle: a.bcl -> b.bcl -> a.bcl', { 'a.bcl': 'import "b.bcl" as b', 'b.bcl': 'import "a.bcl" as a' }],
  ['missing import', 'import "nope.bcl" as n', 't.bcl:1:8: cannot import "nope.bcl": no such file'],
  ['imported file declares a job', 'import "lib.bcl" as l', 't.bcl:1:8: "lib.bcl" declares job "x" (line 2); an imported file may only define names with let', { 'lib.bcl': 'let y = 1\njob x = {}' }],
  ['error inside an import', 'import "lib.bcl" as l', 'lib.bcl:1:11: cannot add number and string', { 'lib.bcl': 'let y = 1 + "a"' }],
  // The job schema.
  ['unknown job field', `${JOB}  replica = 3\n}`, 't.bcl:6:3: job "a": replica is not a field of a job; did you mean "replicas"?'],
  ['unknown requirement', 'job a = {\n  user = "u"\n  priority = 0\n  command = "/bin/true"\n  requirements = { cpu = 10m, rma = 8MiB }\n}', 't.bcl:5:31: job "a": requirements.rma is not a field of requirements; did you mean "ram"?'],
  ['cpu given bytes', 'job a = {\n  user = "u"\n  priority = 0\n  command = "/bin/true"\n  requirements = { cpu = 2GiB, ram = 8MiB }\n}', 't.bcl:5:20: job "a": requirements.cpu must be cpu (e.g. 500m) or a number of cores, got bytes 2GiB'],
  ['fraction of a millicore', 'job a = {\n  user = "u"\n  priority = 0\n  command = "/bin/true"\n  requirements = { cpu = 0.0005, ram = 8MiB }\n}', 't.bcl:5:20: job "a": requirements.cpu must be a whole number of millicores, got 0.5m'],
  ['ram below the minimum', 'job a = {\n  user = "u"\n  priority = 0\n  command = "/bin/true"\n  requirements = { cpu = 10m, ram = 1KiB }\n}', 't.bcl:5:31: job "a": requirements.ram must be in [4MiB, 16TiB], got 1KiB'],
  ['missing command', 'job a = {\n  user = "u"\n  priority = 0\n  requirements = { cpu = 10m, ram = 8MiB }\n}', 't.bcl:1:5: job "a": command is required'],
  ['missing user', 'job a = { priority = 0 }', 't.bcl:1:5: job "a": user is required'],
  ['missing priority', 'job a = { user = "u" }', 't.bcl:1:5: job "a": priority is required: a number in [0, 1000] or one of free, batch, best_effort, mid, prod, production, monitoring'],
  ['unknown priority', 'job a = { user = "u", priority = "prd" }', 't.bcl:1:23: job "a": priority "prd" is not a priority; did you mean "prod"?'],
  ['priority out of range', 'job a = { user = "u", priority = 5000 }', 't.bcl:1:23: job "a": priority must be in [0, 1000], got 5000'],
  ['bad user name', 'job a = { user = "Bob" }', 't.bcl:1:11: job "a": user "Bob" is not a valid name (a lower-case letter, then up to 62 of a-z 0-9 _ -)'],
  ['bad job name', 'job "Web" = {}', 't.bcl:1:5: job "Web": has an invalid name: "Web" is not a lower-case letter followed by up to 62 of a-z 0-9 _ -'],
  ['job is not a record', 'job a = 3', 't.bcl:1:5: job "a": must be a record, got number 3'],
  ['duplicate job', 'job a = {}\njob a = {}', 't.bcl:2:5: job "a" is already declared at line 1'],
  ['not a constraint', `${JOB}  constraints = [attr("os") == "linux", true]\n}`, 't.bcl:6:3: job "a": constraints[1] must be a constraint such as attr("os") == "linux", got bool true'],
  ['override out of range', `${JOB}  replicas = 2\n  tasks[5] = { args = ["x"] }\n}`, 't.bcl:7:3: job "a": tasks[5] overrides task 5, but the job has 2 tasks (0 to 1)'],
  ['override of a job field', `${JOB}  tasks[0] = { priority = 3 }\n}`, 't.bcl:6:16: job "a": tasks[0].priority is not a field of tasks[0]; expected one of command, args, env, working_dir, requirements, constraints, health_check, restart_policy, latency_sensitive, kill_grace'],
  ['health port without ports', `${JOB}  health_check = { path = "/" }\n}`, 't.bcl:6:3: job "a": health_check.port_index is 0, but the task asks for 0 ports (set requirements.ports)'],
  ['bad env name', `${JOB}  env = { "A-B" = "x" }\n}`, 't.bcl:6:3: job "a": env.A-B "A-B" is not an environment variable name (up to 256 of A-Z a-z 0-9 _, not starting with a digit)'],
  ['NUL in an argument', `${JOB}  args = ["a\\u{0}b"]\n}`, 't.bcl:6:3: job "a": args[0] must not contain NUL characters'],
  ['bad annotation name', `${JOB}  annotations = { Owner = "x" }\n}`, 't.bcl:6:3: job "a": annotations.Owner "Owner" is not an annotation name (a-z 0-9 then up to 126 of a-z 0-9 _ . / -)'],
  ['health timeout above interval', `${JOB.replace('ram = 8MiB', 'ram = 8MiB, ports = 1')}  health_check = { path = "/", interval = 1s, timeout = 2s }\n}`, 't.bcl:6:47: job "a": health_check.timeout (2s) is longer than interval (1s)'],
  ['bad attribute name', 'let c = attr("OS") == "linux"', 't.bcl:1:14: attr: "OS" is not an attribute name (a-z, then up to 62 of a-z 0-9 _ . -)'],
  ['empty constraint value', `${JOB}  constraints = [attr("os") == ""]\n}`, 't.bcl:6:3: job "a": constraints[0] compares with ""; a value is 1 to 256 bytes without NUL'],
  ['args not a list', `${JOB}  args = "x"\n}`, 't.bcl:6:3: job "a": args must be a list of strings, got string "x"'],
  ['restart kind', `${JOB}  restart_policy = { kind = "allways" }\n}`, 't.bcl:6:22: job "a": restart_policy.kind "allways" is not a restart kind; did you mean "always"?'],
  ['reset_after of zero', `${JOB}  restart_policy = { reset_after = 0s }\n}`, 't.bcl:6:22: job "a": restart_policy.reset_after must be in [1ms, 720h], got 0ms'],
];

for (const [name, text, want, files] of cases) {
  test(`error: ${name}`, () => {
    const e = errorOf(text, files);
    assert.equal(e.message.split('\n')[0], want);
    assert.equal(e.code, 'invalid_argument');
  });
}

test('an error shows the source line and a caret under the column', () => {
  const e = errorOf('let x = 1\njob a = {\n  replicas = }\n');
  assert.equal(e.message, 't.bcl:3:14: expected an expression, found "}"\n 3 |   replicas = }\n   |              ^');
  assert.deepEqual([e.file, e.line, e.col, e.problem], ['t.bcl', 3, 14, 'expected an expression, found "}"']);
});

test('a bad field set in a template points into the template file', () => {
  const lib = 'let service = {\n  user = "u"\n  priority = prod\n  command = "/bin/true"\n  requirements = { cpu = 2GiB, ram = 8MiB }\n}\n';
  const e = errorOf('import "lib.bcl" as t\njob web = t.service { replicas = 2 }\n', { 'lib.bcl': lib });
  assert.equal(
    e.message,
    'lib.bcl:5:20: job "web": requirements.cpu must be cpu (e.g. 500m) or a number of cores, got bytes 2GiB\n 5 |   requirements = { cpu = 2GiB, ram = 8MiB }\n   |                    ^',
  );
});

test('a user default fills a missing user, and --cell defaults the cell', () => {
  const r = evaluateSource('job a = { priority = 0, command = "/bin/true", requirements = { cpu = 1, ram = 8MiB } }', 't.bcl', { user: 'ann', cell: 'west' });
  assert.equal(r.jobs[0]?.user, 'ann');
  assert.equal(r.jobs[0]?.cell, 'west');
});

test('a bad default cell from the caller is reported at the job', () => {
  const e = errorOf('job a = { user = "u", priority = 0 }', {}, { cell: 'West' });
  assert.equal(e.message.split('\n')[0], 't.bcl:1:5: job "a": cell default "West" is not a valid name (a lower-case letter, then up to 62 of a-z 0-9 _ -)');
});

test('tight limits are enforced exactly', () => {
  const e = errorOf('let x = [1, 2, 3, 4, 5]', {}, { limits: { maxSteps: 5 } });
  assert.equal(e.problem, 'evaluation takes more than 5 steps (is there unbounded recursion?)');
  const f = errorOf('import "a.bcl" as a', { 'a.bcl': 'import "b.bcl" as b', 'b.bcl': 'let x = 1' }, { limits: { maxImports: 1 } });
  assert.equal(f.message.split('\n')[0], 'a.bcl:1:8: too many imported files (the limit is 1)');
});

test('a byte-order mark at the start of a file is not part of the program', () => {
  const r = evaluateSource('\uFEFFjob a = { user = "u", priority = 0, command = "/bin/true", requirements = { cpu = 1, ram = 8MiB } }', 't.bcl');
  assert.equal(r.jobs[0]?.name, 'a');
  const e = errorOf('\uFEFFlet x = }');
  assert.equal(e.message.split('\n')[0], 't.bcl:1:9: expected an expression, found "}"');
});
