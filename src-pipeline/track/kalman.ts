/**
 * Constant-velocity Kalman filter over a box in (cx, cy, aspect, h) form, as used by SORT,
 * DeepSORT and ByteTrack.
 *
 * State: [cx, cy, a, h, vcx, vcy, va, vh] where a = w / h. Aspect rather than width is
 * filtered because a vehicle's aspect changes slowly while its size changes with distance;
 * the noise of position and size is scaled by the box height so a far (small) vehicle and a
 * near (large) one get the same relative uncertainty.
 */
import type { Box } from '../common/geometry.js';
import { add, cholesky, choleskySolve, diag, identity, matMul, matVec, sub, symmetrize, transpose, type Matrix, type Vector } from './matrix.js';

export interface KalmanState {
  mean: Vector;
  covariance: Matrix;
}

export interface Projection {
  mean: Vector;
  covariance: Matrix;
}

const NDIM = 4;

/** Observation noise weights from the ByteTrack/DeepSORT reference (relative to box height). */
export const STD_WEIGHT_POSITION = 1 / 20;
export const STD_WEIGHT_VELOCITY = 1 / 160;

export class KalmanBoxFilter {
  /** F: x' = x + v·dt with dt = 1 frame. */
  private readonly motion: Matrix;
  /** H: only the first four components (the box) are observed. */
  private readonly update: Matrix;
  private readonly updateT: Matrix;
  private readonly motionT: Matrix;

  constructor(
    private readonly stdPosition = STD_WEIGHT_POSITION,
    private readonly stdVelocity = STD_WEIGHT_VELOCITY,
  ) {
    this.motion = identity(2 * NDIM);
    for (let i = 0; i < NDIM; i++) this.motion[i][NDIM + i] = 1;
    this.motionT = transpose(this.motion);
    this.update = identity(2 * NDIM).slice(0, NDIM);
    this.updateT = transpose(this.update);
  }

  /** New track from one measurement: velocities start at zero with a wide uncertainty. */
  initiate(measurement: Vector): KalmanState {
    const h = noiseScale(measurement[3]);
    const mean = [...measurement, 0, 0, 0, 0];
    const std = [
      2 * this.stdPosition * h,
      2 * this.stdPosition * h,
      1e-2,
      2 * this.stdPosition * h,
      10 * this.stdVelocity * h,
      10 * this.stdVelocity * h,
      1e-5,
      10 * this.stdVelocity * h,
    ];
    return { mean, covariance: diag(std.map((s) => s * s)) };
  }

  /** One frame ahead. The process noise lets the filter follow gentle accelerations. */
  predict(state: KalmanState): KalmanState {
    const h = noiseScale(state.mean[3]);
    const std = [
      this.stdPosition * h,
      this.stdPosition * h,
      1e-2,
      this.stdPosition * h,
      this.stdVelocity * h,
      this.stdVelocity * h,
      1e-5,
      this.stdVelocity * h,
    ];
    const q = diag(std.map((s) => s * s));
    const mean = matVec(this.motion, state.mean);
    const covariance = symmetrize(add(matMul(matMul(this.motion, state.covariance), this.motionT), q));
    return { mean, covariance };
  }

  /** The state distribution in measurement space, with the measurement noise added. */
  project(state: KalmanState): Projection {
    const h = noiseScale(state.mean[3]);
    const std = [this.stdPosition * h, this.stdPosition * h, 1e-1, this.stdPosition * h];
    const r = diag(std.map((s) => s * s));
    const mean = matVec(this.update, state.mean);
    const covariance = add(matMul(matMul(this.update, state.covariance), this.updateT), r);
    return { mean, covariance };
  }

  /** Standard correction step; K = P·Hᵀ·S⁻¹ is computed by a Cholesky solve, not an inverse. */
  correct(state: KalmanState, measurement: Vector): KalmanState {
    const projected = this.project(state);
    const chol = cholesky(projected.covariance);
    // S and P are symmetric, so Kᵀ = S⁻¹·(H·P): one solve with the 4x8 right-hand side.
    const kT = choleskySolve(chol, matMul(this.update, state.covariance));
    const gain = transpose(kT);
    const innovation = measurement.map((z, i) => z - projected.mean[i]);
    const correction = matVec(gain, innovation);
    const mean = state.mean.map((x, i) => x + correction[i]);
    const covariance = symmetrize(sub(state.covariance, matMul(matMul(gain, projected.covariance), kT)));
    return { mean, covariance };
  }
}

/**
 * Height used to scale the noise. Clamped to 1 px so a degenerate (or, after a long coast,
 * collapsing) box cannot zero the covariance and break the Cholesky factorisation.
 */
function noiseScale(h: number): number {
  return Math.max(Math.abs(h), 1);
}

/** xyxy pixels → (cx, cy, aspect, h). */
export function boxToMeasurement(b: Box): Vector {
  const w = b.x2 - b.x1;
  const h = b.y2 - b.y1;
  return [b.x1 + w / 2, b.y1 + h / 2, h > 0 ? w / h : 0, h];
}

/** (cx, cy, aspect, h, …) → xyxy pixels. */
export function stateToBox(mean: Vector): Box {
  const h = mean[3];
  const w = mean[2] * h;
  return { x1: mean[0] - w / 2, y1: mean[1] - h / 2, x2: mean[0] + w / 2, y2: mean[1] + h / 2 };
}
