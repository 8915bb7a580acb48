// checkRegister decides whether a history of reads and writes on one register is linearizable (Wing & Gong's
// search with Lowe's memoisation of (linearized set, value), as in Knossos/Porcupine). Writes whose outcome is
// unknown (the client gave up or its replica crashed) may take effect at any time after invocation, or never.
import { assert } from '../../model/assert';

export type RegisterOp =
  | { kind: 'write'; value: string; invokeMs: number; responseMs: number | undefined; id: number }
  | { kind: 'read'; value: string; invokeMs: number; responseMs: number; id: number };

export type LinearizabilityResult = { ok: true; explored: number } | { ok: false; explored: number; reason: string } | { ok: 'unknown'; explored: number };

/**
 * checkRegister searches for a linearization. `initial` is the register's value before any write. The search is
 * bounded by maxStates; beyond it the answer is 'unknown' (the caller reports it, never treats it as a pass).
 */
export function checkRegister(history: readonly RegisterOp[], initial: string, maxStates = 2_000_000): LinearizabilityResult {
  const ops = [...history].sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  const n = ops.length;
  const resp = ops.map((o) => o.responseMs ?? Number.POSITIVE_INFINITY);
  const mustLinearize = ops.filter((o) => o.responseMs !== undefined).length;
  // A read of a value no write wrote (other than the initial one) can never be explained.
  const written = new Set(ops.filter((o) => o.kind === 'write').map((o) => o.value));
  for (const o of ops) {
    if (o.kind === 'read' && o.value !== initial && !written.has(o.value)) {
      return { ok: false, explored: 0, reason: `read #${o.id} returned ${JSON.stringify(o.value)}, which no write wrote` };
    }
  }
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let explored = 0;
  let doneCount = 0;
  let doneRequired = 0;
  let firstUndone = 0;

  const key = (value: string): string => {
    // The linearized set is a prefix (firstUndone) plus a sparse tail; encode both.
    let k = `${firstUndone}|`;
    for (let i = firstUndone; i < n; i++) if (done[i]) k += `${i},`;
    return `${k}|${value}`;
  };

  // Iterative DFS over (op chosen, value) with an explicit stack for undo.
  const search = (value: string): boolean | 'budget' => {
    if (doneRequired === mustLinearize) return true;
    const k = key(value);
    if (seen.has(k)) return false;
    seen.add(k);
    explored++;
    if (explored > maxStates) return 'budget';
    // Candidates: undone ops invoked before every undone op's response (none of them is forced to precede).
    let minResp = Number.POSITIVE_INFINITY;
    for (let i = firstUndone; i < n; i++) if (!done[i] && (resp[i] as number) < minResp) minResp = resp[i] as number;
    for (let i = firstUndone; i < n; i++) {
      if (done[i]) continue;
      const o = ops[i] as RegisterOp;
      if (o.invokeMs > minResp) break;
      let next: string;
      if (o.kind === 'write') next = o.value;
      else if (o.value === value) next = value;
      else continue;
      done[i] = 1;
      doneCount++;
      if (o.responseMs !== undefined) doneRequired++;
      const savedFirst = firstUndone;
      while (firstUndone < n && done[firstUndone]) firstUndone++;
      const r = search(next);
      firstUndone = savedFirst;
      done[i] = 0;
      doneCount--;
      if (o.responseMs !== undefined) doneRequired--;
      if (r !== false) return r;
    }
    return false;
  };
  const r = search(initial);
  assert(doneCount === 0, 'search must undo every step');
  if (r === 'budget') return { ok: 'unknown', explored };
  if (r) return { ok: true, explored };
  return { ok: false, explored, reason: `no linearization of ${n} operations (${explored} states explored)` };
}
