/**
 * Minimum-cost linear assignment with a cost limit (what ByteTrack gets from `lap.lapjv` with
 * `extend_cost=True, cost_limit=thresh`).
 *
 * The rectangular n×m problem with a threshold is turned into a square (n+m)×(n+m) one:
 * every row and every column may instead be "left unmatched" at cost thresh/2, so a real
 * pair (cost c) is only worth taking when c < thresh (otherwise the two halves are cheaper).
 * This is the exact optimum under the threshold, unlike solving first and discarding
 * expensive pairs afterwards, which can leave a cheap pair unmatched.
 *
 * The square problem is solved with the Hungarian method using potentials and shortest
 * augmenting paths (the Jonker-Volgenant style O(N³) formulation).
 */

export interface AssignmentResult {
  /** [row, col] pairs with cost ≤ thresh. */
  matches: [number, number][];
  unmatchedRows: number[];
  unmatchedCols: number[];
}

/**
 * Square Hungarian solver. Returns `rowToCol` for an N×N cost matrix (all entries finite).
 * Exported for tests; callers normally use `linearAssignment`.
 */
export function solveSquare(cost: readonly (readonly number[])[]): number[] {
  const n = cost.length;
  // 1-based arrays with a virtual column 0 that anchors each augmenting path.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const colOwner = new Int32Array(n + 1); // row assigned to column j (0 = none)
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    colOwner[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = colOwner[j0];
      const row = cost[i0 - 1];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const reduced = row[j - 1] - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[colOwner[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (colOwner[j0] !== 0);
    // Flip the augmenting path back to the virtual column.
    do {
      const j1 = way[j0];
      colOwner[j0] = colOwner[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (colOwner[j] > 0) rowToCol[colOwner[j] - 1] = j - 1;
  return rowToCol;
}

/**
 * Optimal assignment of rows to columns where pairs costing more than `thresh` are never
 * matched. `cost` is n rows × m columns; non-finite entries count as "too expensive".
 * `cols` gives m explicitly, which matters when there are no rows (no tracks yet): every
 * column (detection) must then come back unmatched.
 */
export function linearAssignment(cost: readonly (readonly number[])[], thresh: number, cols?: number): AssignmentResult {
  const n = cost.length;
  const m = cols ?? (n === 0 ? 0 : cost[0].length);
  if (n === 0 || m === 0) {
    return { matches: [], unmatchedRows: range(n), unmatchedCols: range(m) };
  }
  // Any value above thresh is never chosen (its dummies are strictly cheaper), so cap the
  // forbidden pairs at a finite number to keep the potentials' arithmetic well defined.
  const forbidden = thresh + 1;
  const half = thresh / 2;
  const size = n + m;
  const ext: number[][] = [];
  for (let i = 0; i < size; i++) {
    const row = new Array<number>(size);
    for (let j = 0; j < size; j++) {
      if (i < n && j < m) {
        const c = cost[i][j];
        row[j] = Number.isFinite(c) && c <= thresh ? c : forbidden;
      } else if (i >= n && j >= m) {
        row[j] = 0; // dummy-to-dummy is free: it absorbs the rows/columns that did match
      } else {
        row[j] = half;
      }
    }
    ext.push(row);
  }
  const rowToCol = solveSquare(ext);
  const matches: [number, number][] = [];
  const colMatched = new Uint8Array(m);
  const unmatchedRows: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = rowToCol[i];
    if (j >= 0 && j < m && cost[i][j] <= thresh) {
      matches.push([i, j]);
      colMatched[j] = 1;
    } else {
      unmatchedRows.push(i);
    }
  }
  const unmatchedCols = range(m).filter((j) => !colMatched[j]);
  return { matches, unmatchedRows, unmatchedCols };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
