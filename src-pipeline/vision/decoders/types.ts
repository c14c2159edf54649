import type { Detection } from '../detection.js';

/** A raw model output tensor as onnxruntime returns it. */
export interface RawOutput {
  data: Float32Array;
  dims: readonly number[];
}

export interface DecodeParams {
  /** Square input size the model was fed (after letterbox). */
  inputSize: number;
  scoreThreshold: number;
  /** Number of class scores in each row. */
  numClasses: number;
  /** Corner/keypoints per detection (4 for plate corners, 0 for none). */
  numKeypoints: number;
  /** Only these class ids are kept (all when omitted). */
  keepClasses?: readonly number[];
}

/** Output layouts we can decode; chosen per model in the manifest. */
export type DecoderType = 'yolox' | 'yolov5' | 'yolov8';

export type Decoder = (out: RawOutput, p: DecodeParams) => Detection[];
