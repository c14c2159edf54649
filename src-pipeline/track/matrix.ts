/**
 * Tiny dense-matrix helpers for the Kalman filter (8x8 state, 4x4 measurement).
 *
 * Hand-written rather than pulled from a linear-algebra package: the sizes are fixed and small,
 * the tracker runs once per frame per track, and plain nested arrays keep the code readable and
 * dependency-free. Nothing here is tuned for large matrices.
 */
export type Vector = number[];
export type Matrix = number[][];

export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}

export function identity(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m[i][i] = 1;
  return m;
}

export function diag(values: readonly number[]): Matrix {
  const m = zeros(values.length, values.length);
  values.forEach((v, i) => (m[i][i] = v));
  return m;
}

export function transpose(a: Matrix): Matrix {
  const rows = a.length;
  const cols = rows === 0 ? 0 : a[0].length;
  const t = zeros(cols, rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j][i] = a[i][j];
  return t;
}

export function matMul(a: Matrix, b: Matrix): Matrix {
  const n = a.length;
  const k = b.length;
  const m = k === 0 ? 0 : b[0].length;
  const out = zeros(n, m);
  for (let i = 0; i < n; i++) {
    const ai = a[i];
    const oi = out[i];
    for (let p = 0; p < k; p++) {
      const aip = ai[p];
      if (aip === 0) continue; // F and H are mostly zeros; skipping them halves the work
      const bp = b[p];
      for (let j = 0; j < m; j++) oi[j] += aip * bp[j];
    }
  }
  return out;
}

export function matVec(a: Matrix, v: Vector): Vector {
  return a.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
}

export function add(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => x + b[i][j]));
}

export function sub(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => x - b[i][j]));
}

/** (A + Aᵀ) / 2: removes the asymmetry that floating-point round-off adds to covariances. */
export function symmetrize(a: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => (x + a[j][i]) / 2));
}

/**
 * Lower-triangular L with A = L·Lᵀ, for a symmetric positive-definite A.
 * Throws on a non-positive pivot, which for a covariance means the filter has diverged.
 */
export function cholesky(a: Matrix): Matrix {
  const n = a.length;
  const l = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${s} at ${i})`);
        l[i][i] = Math.sqrt(s);
      } else {
        l[i][j] = s / l[j][j];
      }
    }
  }
  return l;
}

/**
 * Solves A·X = B for X given A's Cholesky factor L (A = L·Lᵀ), column by column.
 * Used instead of an explicit inverse because it is cheaper and numerically kinder.
 */
export function choleskySolve(l: Matrix, b: Matrix): Matrix {
  const n = l.length;
  const cols = b[0].length;
  const x = zeros(n, cols);
  for (let c = 0; c < cols; c++) {
    // forward substitution: L·y = b
    const y = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = b[i][c];
      for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
      y[i] = s / l[i][i];
    }
    // back substitution: Lᵀ·x = y
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k][c];
      x[i][c] = s / l[i][i];
    }
  }
  return x;
}
