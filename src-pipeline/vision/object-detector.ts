/**
 * One detector class for every YOLO-family model in the manifest: the manifest says how to
 * letterbox the input and which decoder reads the output, so a custom plate model is a
 * manifest entry, not code.
 */
import type { Quad } from '../common/geometry.js';
import { decoders } from './decoders/index.js';
import { nms, type Detection } from './detection.js';
import { letterboxToTensor, unletterboxBox, unletterboxPoint, type RgbImage } from './image.js';
import type { DetectionModelEntry } from './model-manifest.js';
import { getSession, ort, runSingle } from './session.js';

export interface DetectOptions {
  scoreThreshold?: number;
  nmsThreshold?: number;
  keepClasses?: readonly number[];
  classAwareNms?: boolean;
}

export interface DetectTimings {
  preMs: number;
  inferMs: number;
  postMs: number;
}

export class ObjectDetector {
  readonly entry: DetectionModelEntry;
  private session!: ort.InferenceSession;

  private constructor(entry: DetectionModelEntry) {
    this.entry = entry;
  }

  static async create(entry: DetectionModelEntry): Promise<ObjectDetector> {
    const d = new ObjectDetector(entry);
    d.session = await getSession(entry);
    return d;
  }

  className(classId: number): string {
    return this.entry.output.classes[String(classId)] ?? String(classId);
  }

  /** Detections in source-image pixel coordinates, best first. */
  async detect(img: RgbImage, opts: DetectOptions = {}, timings?: DetectTimings): Promise<Detection[]> {
    const { input, output, thresholds } = this.entry;
    const t0 = performance.now();
    const { tensor, lb } = letterboxToTensor(img, {
      size: input.size,
      centre: input.letterbox === 'centre',
      order: input.order,
      scale: input.scale,
      mean: input.mean,
      std: input.std,
      padValue: input.padValue,
    });
    const t1 = performance.now();
    const out = await runSingle(this.session, input.name, new ort.Tensor('float32', tensor, [1, 3, input.size, input.size]));
    const t2 = performance.now();
    const raw = decoders[output.decoder](
      { data: out.data as Float32Array, dims: out.dims },
      {
        inputSize: input.size,
        scoreThreshold: opts.scoreThreshold ?? thresholds.score,
        numClasses: output.numClasses,
        numKeypoints: output.numKeypoints,
        keepClasses: opts.keepClasses,
      },
    );
    const kept = nms(raw, opts.nmsThreshold ?? thresholds.nms, opts.classAwareNms ?? false);
    const mapped = kept.map((d) => ({
      ...d,
      box: unletterboxBox(d.box, lb),
      ...(d.corners ? { corners: d.corners.map((p) => unletterboxPoint(p.x, p.y, lb)) as Quad } : {}),
    }));
    const t3 = performance.now();
    if (timings) {
      timings.preMs += t1 - t0;
      timings.inferMs += t2 - t1;
      timings.postMs += t3 - t2;
    }
    return mapped;
  }
}
