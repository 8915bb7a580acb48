// nearest: "did you mean" hints for misspelt names and fields. Unlike cells/config.ts's suggest (used for job
// fields, where listing every valid field helps), it says nothing when no candidate is close.

/** nearest returns `; did you mean "x"?` for the closest candidate within a small edit distance, else "". */
export function nearest(name: string, candidates: readonly string[]): string {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of new Set(candidates)) {
    if (c === name || Math.abs(c.length - name.length) > limit) continue;
    const d = editDistance(name, c, bestD);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best === undefined ? '' : `; did you mean ${JSON.stringify(best)}?`;
}

/**
 * editDistance counts insertions, deletions, substitutions and swaps of neighbours (optimal string alignment),
 * so "nmae" is one edit from "name". Gives up (returning cap) once the distance cannot be below cap.
 */
export function editDistance(a: string, b: string, cap = Infinity): number {
  if (a.length > 64 || b.length > 64) return a === b ? 0 : cap;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (prev2[j - 2] ?? 0) + 1);
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? cap;
}
