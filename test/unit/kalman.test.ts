import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boxToMeasurement, KalmanBoxFilter, stateToBox, type KalmanState } from '../../src-pipeline/track/kalman.js';
import { cholesky, choleskySolve, matMul, transpose, type Matrix } from '../../src-pipeline/track/matrix.js';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function assertSymmetricPositive(m: Matrix): void {
  for (let i = 0; i < m.length; i++) {
    for (let j = 0; j < m.length; j++) assert.ok(Math.abs(m[i][j] - m[j][i]) < 1e-9, `asymmetric at ${i},${j}`);
  }
  // Cholesky succeeds only for symmetric positive-definite matrices.
  assert.doesNotThrow(() => cholesky(m));
}

describe('track: matrix helpers', () => {
  it('cholesky solve inverts a positive-definite system', () => {
    const a = [
      [4, 1, 0.5],
      [1, 3, 0.2],
      [0.5, 0.2, 2],
    ];
    const b = [[1], [2], [3]];
    const x = choleskySolve(cholesky(a), b);
    const back = matMul(a, x);
    back.forEach((row, i) => assert.ok(Math.abs(row[0] - b[i][0]) < 1e-12));
    const l = cholesky(a);
    const llt = matMul(l, transpose(l));
    llt.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - a[i][j]) < 1e-12)));
  });

  it('cholesky rejects a matrix that is not positive definite', () => {
    assert.throws(() =>
      cholesky([
        [1, 2],
        [2, 1],
      ]),
    );
  });
});

describe('track: Kalman filter', () => {
  it('round-trips boxes through the measurement form', () => {
    const box = { x1: 10, y1: 20, x2: 70, y2: 60 };
    const back = stateToBox([...boxToMeasurement(box), 0, 0, 0, 0]);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(back[k] - box[k]) < 1e-9);
  });

  it('learns a constant velocity and predicts ahead within tolerance', () => {
    const kf = new KalmanBoxFilter();
    const random = rng(7);
    const vx = 5;
    const vy = -2;
    const at = (t: number) => ({ x1: 100 + vx * t, y1: 300 + vy * t, x2: 180 + vx * t, y2: 360 + vy * t });
    let state: KalmanState = kf.initiate(boxToMeasurement(at(0)));
    for (let t = 1; t <= 10; t++) {
      state = kf.predict(state);
      const noisy = boxToMeasurement(at(t)).map((v, i) => (i === 2 ? v : v + (random() - 0.5)));
      state = kf.correct(state, noisy);
      assertSymmetricPositive(state.covariance);
    }
    assert.ok(Math.abs(state.mean[4] - vx) < 0.6, `vx ${state.mean[4]}`);
    assert.ok(Math.abs(state.mean[5] - vy) < 0.6, `vy ${state.mean[5]}`);
    // Coast five frames without measurements.
    for (let t = 0; t < 5; t++) {
      state = kf.predict(state);
      assertSymmetricPositive(state.covariance);
    }
    const predicted = stateToBox(state.mean);
    const truth = at(15);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(predicted[k] - truth[k]) < 4, `${k}: ${predicted[k]} vs ${truth[k]}`);
  });

  it('prediction grows uncertainty and a measurement shrinks it', () => {
    const kf = new KalmanBoxFilter();
    const z = boxToMeasurement({ x1: 0, y1: 0, x2: 50, y2: 100 });
    const s0 = kf.initiate(z);
    const s1 = kf.predict(s0);
    assert.ok(s1.covariance[0][0] > s0.covariance[0][0]);
    const s2 = kf.correct(s1, z);
    assert.ok(s2.covariance[0][0] < s1.covariance[0][0]);
    assertSymmetricPositive(s2.covariance);
    // The projected covariance includes measurement noise on top of the state's.
    const p = kf.project(s2);
    assert.ok(p.covariance[0][0] > s2.covariance[0][0]);
  });

  it('stays positive definite for a long coast and for tiny boxes', () => {
    const kf = new KalmanBoxFilter();
    let s = kf.initiate(boxToMeasurement({ x1: 0, y1: 0, x2: 2, y2: 1 }));
    for (let i = 0; i < 200; i++) s = kf.predict(s);
    assertSymmetricPositive(s.covariance);
    s = kf.correct(s, boxToMeasurement({ x1: 1, y1: 1, x2: 3, y2: 2 }));
    assertSymmetricPositive(s.covariance);
  });
});
