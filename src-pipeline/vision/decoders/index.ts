import type { Decoder, DecoderType } from './types.js';
import { decodeYolox } from './yolox.js';
import { decodeYolov5 } from './yolov5.js';
import { decodeYolov8 } from './yolov8.js';

export type { Decoder, DecoderType, DecodeParams, RawOutput } from './types.js';

/** Registry keyed by the manifest's `decoder` field: a new layout is one entry here. */
export const decoders: Record<DecoderType, Decoder> = {
  yolox: decodeYolox,
  yolov5: decodeYolov5,
  yolov8: decodeYolov8,
};
