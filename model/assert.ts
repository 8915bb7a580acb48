// assert() states an invariant. It stays on in production: a broken invariant is a bug, and a bug should crash
// loudly rather than corrupt a cell (TigerBeetle style). Operating errors are BorgErrors, not assertions.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** unreachable marks the end of an exhaustive switch: it only compiles when every case is handled. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unreachable: unexpected ${what} ${JSON.stringify(value)}`);
}
