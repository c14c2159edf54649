/**
 * Still-image plate recognition: vehicles, plates (full frame, then vehicle crops), several
 * views of each plate read in one OCR batch, format-aware decoding and a confidence-weighted
 * vote between views, plates assigned to vehicles.
 */
import { boxArea, clampBox, iou, padBox, roundBox, type Box, type Quad } from '../common/geometry.js';
import { decodeSlots, guessRegion, judgePlate, PLATE_FORMATS, normalizePlate, type PlateFormat, type PlateFormatId } from '../common/plate-text.js';
import { RecognitionConfig as RecognitionConfigSchema, type RecognitionConfig, type RecognitionConfigInput } from '../common/recognition-config.js';
import { padConstant } from './enhance.js';
import { cropImage, shrinkImage, type RgbImage } from './image.js';
import { findModel, loadManifest, type Manifest } from './model-manifest.js';
import { ObjectDetector, type DetectTimings } from './object-detector.js';
import {
  assignVehicle,
  dedupePlates,
  holdsPlate,
  mapDetection,
  round3,
  scaleBox,
  shiftBox,
  TEXT_CLASS,
  VEHICLE_CLASSES,
  type PlateCandidate,
  type PlateResult,
  type RecognitionResult,
  type RejectedRead,
  type ScaledView,
  type VehicleResult,
} from './plate-candidates.js';
import { createPlateReader, plateCharsOf, type PlateRead, type PlateReader } from './plate-reader.js';
import { cropViewPlan, plateViewPlan, settled, type View, type ViewPlan, type Vote, voteReads } from './plate-views.js';
import { PpOcrTextDetector } from './text-detector-ppocr.js';
import { configureExecutionProvider } from './session.js';

export type { PlateCandidate, PlateResult, RecognitionResult, RejectedRead, StageTimings, VehicleResult } from './plate-candidates.js';

export class Recognizer {
  readonly config: RecognitionConfig;
  private readonly format: PlateFormat;

  private constructor(
    config: RecognitionConfig,
    private readonly vehicleDetector: ObjectDetector,
    private readonly plateDetector: ObjectDetector,
    private readonly cropDetector: ObjectDetector | null,
    private readonly reader: PlateReader,
    private readonly secondReader: PlateReader | null,
    private readonly textDetector: PpOcrTextDetector | null,
  ) {
    this.config = config;
    this.format = PLATE_FORMATS[config.plate_format];
  }

  static async create(config: RecognitionConfigInput = {}, manifest: Manifest = loadManifest()): Promise<Recognizer> {
    const cfg = RecognitionConfigSchema.parse(config);
    configureExecutionProvider(cfg.execution_provider, cfg.gpu_device_id);
    const [vehicle, plate, crop, reader, second, text] = await Promise.all([
      ObjectDetector.create(findModel(manifest, cfg.models.vehicle, 'vehicle-detection')),
      ObjectDetector.create(findModel(manifest, cfg.models.plate, 'plate-detection')),
      cfg.crop_search && cfg.models.plate_crop ? ObjectDetector.create(findModel(manifest, cfg.models.plate_crop, 'plate-detection')) : Promise.resolve(null),
      createPlateReader(findModel(manifest, cfg.models.ocr, 'plate-ocr')),
      cfg.models.ocr_second ? createPlateReader(findModel(manifest, cfg.models.ocr_second, 'plate-ocr')) : Promise.resolve(null),
      cfg.text_fallback && cfg.models.text_detector
        ? PpOcrTextDetector.create(findModel(manifest, cfg.models.text_detector, 'text-detection'), { minSide: 256, maxSide: 640 })
        : Promise.resolve(null),
    ]);
    return new Recognizer(cfg, vehicle, plate, crop, reader, second, text);
  }

  async recognize(img: RgbImage): Promise<RecognitionResult> {
    const t0 = performance.now();
    const vt: DetectTimings = { preMs: 0, inferMs: 0, postMs: 0 };
    const pt: DetectTimings = { preMs: 0, inferMs: 0, postMs: 0 };
    const small = await this.detectorView(img);
    const tPlates = performance.now();
    // The two whole-frame detectors are started together, so their stage timings overlap
    // (vehicle_ms + plate_ms can exceed the wall time). onnxruntime-node runs session.run on
    // the calling thread, so the inference itself takes turns; the video path moves plate
    // reads to a thread of their own for real overlap (pipeline/threaded-reader.ts).
    let t1 = 0;
    const [vehicles, frameCands] = await Promise.all([
      this.detectVehicles(small, vt).then((v) => {
        t1 = performance.now();
        return v;
      }),
      this.detectFramePlates(small, pt),
    ]);
    const candidates = await this.detectPlates(img, frameCands, vehicles, pt);
    const t2 = performance.now();
    const ocr = { inferMs: 0 };
    const { plates, rejected } = await this.readPlates(img, candidates, ocr);
    const t3 = performance.now();
    return {
      width: img.width,
      height: img.height,
      plates,
      vehicles,
      rejected,
      timings: {
        vehicle_ms: t1 - t0,
        plate_ms: t2 - tPlates,
        ocr_ms: t3 - t2,
        total_ms: t3 - t0,
        inference_ms: vt.inferMs + pt.inferMs + ocr.inferMs,
      },
    };
  }

  /**
   * Video path, per frame: vehicles on the full frame. The frame is first shrunk to the
   * detector's input size by libvips (SIMD, in its own thread pool): measured on 720p clip 07
   * that is ~4 ms of CPU off the JS thread against ~8-12 ms on it for letterboxing the full
   * frame in JS, and the JS thread is what the per-frame stages share.
   */
  async findVehicles(img: RgbImage, t: DetectTimings = { preMs: 0, inferMs: 0, postMs: 0 }): Promise<VehicleResult[]> {
    const side = this.vehicleDetector.entry.input.size;
    const scale = side / Math.max(img.width, img.height);
    if (scale >= 0.75) return this.detectVehicles({ image: img, factor: 1 }, t);
    const t0 = performance.now();
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    const small = await shrinkImage(img, w, h);
    t.preMs += performance.now() - t0;
    return this.detectVehicles({ image: small, factor: img.width / w }, t);
  }

  /**
   * Video path, per tracked vehicle (or ROI): plates inside one region of the frame, found by
   * the small plate detector at native resolution and read with the configured views. With
   * `fullSize`, a big region the small detector found nothing in gets the large detector too
   * (close-ups; it costs as much as a whole-frame pass, so the caller rations it). With
   * `primaryOnly`, each plate gets its two primary views and no extra views or second OCR
   * opinion: in video the vote over many frames does that job for less.
   */
  async readRegion(
    img: RgbImage,
    region: Box,
    opts: { fullSize?: boolean; primaryOnly?: boolean } = {},
    t: DetectTimings = { preMs: 0, inferMs: 0, postMs: 0 },
  ): Promise<{ plates: PlateResult[]; rejected: RejectedRead[]; ocrMs: number }> {
    const box = clampBox(region, img.width, img.height);
    if (box.x2 - box.x1 < 8 || box.y2 - box.y1 < 8) return { plates: [], rejected: [], ocrMs: 0 };
    const small = this.cropDetector ?? this.plateDetector;
    let cands = await this.detectIn(small, img, box, t);
    const big = Math.max(box.x2 - box.x1, box.y2 - box.y1) > small.entry.input.size * 1.5;
    if (cands.length === 0 && opts.fullSize && big && small !== this.plateDetector) cands = await this.detectIn(this.plateDetector, img, box, t);
    if (cands.length === 0) return { plates: [], rejected: [], ocrMs: 0 };
    const ocr = { inferMs: 0 };
    const { plates, rejected } = await this.readPlates(img, cands.slice(0, 2), ocr, opts.primaryOnly);
    return { plates, rejected, ocrMs: ocr.inferMs };
  }

  /** Reads an image that is already a plate crop (no detection), as the crops benchmark needs. */
  async readCrop(
    img: RgbImage,
  ): Promise<{ text: string; confidence: number; charConfidences: number[]; strategy: string; verdict: ReturnType<typeof judgePlate> }> {
    const plan = cropViewPlan(img, this.config.strategies);
    const [votes] = await this.readViews([plan]);
    const choice = voteReads(votes);
    const c = choice ?? { text: '', confidence: 0, charConfidences: [], strategy: 'none' };
    return { ...c, verdict: judgePlate(c.text, c.confidence, this.format, this.config.min_plate_confidence) };
  }

  /**
   * Where the views of a plate disagree, a second OCR model of another family reads the
   * chars (or first) view and votes too. Plates every view agrees on never pay for it.
   */
  private async addSecondOpinions(views: View[][], votes: Vote[][]): Promise<void> {
    if (!this.secondReader) return;
    const todo: { i: number; image: RgbImage }[] = [];
    votes.forEach((vs, i) => {
      const texts = new Set(vs.map((v) => v.text));
      if (texts.size <= 1 && vs.every((v) => v.confidence >= this.config.settle_confidence)) return;
      const view = views[i].find((v) => v.strategy === 'chars') ?? views[i][0];
      if (view) todo.push({ i, image: view.image });
    });
    if (todo.length === 0) return;
    const reads = await this.secondReader.read(todo.map((x) => x.image));
    reads.forEach((r, j) => {
      const d = this.decode(r);
      if (!d.text) return;
      votes[todo[j].i].push({ ...d, confidence: d.confidence * this.config.second_opinion_weight, strategy: 'second-opinion' });
    });
  }

  /** Format-aware decoding where the model gives per-slot probabilities, plain filtering otherwise. */
  private decode(r: PlateRead): { text: string; confidence: number; charConfidences: number[] } {
    if (r.slots && r.alphabet && r.pad !== undefined) {
      const d = decodeSlots(r.slots, r.alphabet, r.pad, this.format);
      return { text: d.text, confidence: d.confidence, charConfidences: d.charConfidences };
    }
    const kept = plateCharsOf(r.text, r.charConfidences);
    const confidence = kept.charConfidences.length ? kept.charConfidences.reduce((a, b) => a + b, 0) / kept.charConfidences.length : 0;
    return { ...kept, confidence };
  }

  /**
   * One shrunken copy of the frame, just large enough for the biggest whole-frame detector,
   * shared by both whole-frame passes. Plates are still read from the full-resolution frame.
   */
  private async detectorView(img: RgbImage): Promise<ScaledView> {
    const side = Math.max(this.vehicleDetector.entry.input.size, this.plateDetector.entry.input.size);
    const scale = side / Math.max(img.width, img.height);
    if (scale >= 0.75) return { image: img, factor: 1 };
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    return { image: await shrinkImage(img, w, h), factor: img.width / w };
  }

  private async detectVehicles(view: ScaledView, t: DetectTimings): Promise<VehicleResult[]> {
    const dets = await this.vehicleDetector.detect(
      view.image,
      { scoreThreshold: this.config.vehicle_score, keepClasses: [2, 3, 5, 7], classAwareNms: false },
      t,
    );
    const W = view.image.width * view.factor;
    const H = view.image.height * view.factor;
    return dets.map((d) => ({
      type: VEHICLE_CLASSES[d.classId] ?? this.vehicleDetector.className(d.classId),
      score: round3(d.score),
      box: roundBox(clampBox(scaleBox(d.box, view.factor), W, H)),
    }));
  }

  /** The plate detector on the shrunken frame, mapped back to full-frame coordinates. */
  private async detectFramePlates(view: ScaledView, t: DetectTimings): Promise<PlateCandidate[]> {
    const f = view.factor;
    return (await this.detectIn(this.plateDetector, view.image, null, t)).map((c) => mapDetection(c, (p) => ({ x: p.x * f, y: p.y * f })));
  }

  private async detectPlates(img: RgbImage, frameCands: PlateCandidate[], vehicles: VehicleResult[], t: DetectTimings): Promise<PlateCandidate[]> {
    const cands = [...frameCands];
    if (this.cropDetector) {
      let fullSizePasses = 0;
      for (const v of [...vehicles].sort((a, b) => boxArea(b.box) - boxArea(a.box))) {
        if (cands.some((c) => holdsPlate(v, c))) continue;
        // Vehicles too small to hold a readable plate are not worth a detector run.
        if (v.box.x2 - v.box.x1 < 60 || v.box.y2 - v.box.y1 < 40) continue;
        const region = clampBox(padBox(v.box, 0.05, 0.05), img.width, img.height);
        let found = await this.detectIn(this.cropDetector, img, region, t);
        // A big vehicle crop shrunk to the small detector's input can lose the plate: then the
        // full-size detector looks again, at a finer scale than the whole-frame pass had (once
        // per image, on the largest such vehicle: it costs as much as the frame pass).
        const big = Math.max(region.x2 - region.x1, region.y2 - region.y1) > this.cropDetector.entry.input.size * 1.5;
        if (found.length === 0 && big && fullSizePasses++ === 0) found = await this.detectIn(this.plateDetector, img, region, t);
        cands.push(...found.slice(0, 2));
      }
    }
    if (cands.length === 0 && this.config.zoom_out_search) cands.push(...(await this.detectZoomedOut(img, t)));
    if (this.textDetector) {
      // The text detector is the slowest pass: only the largest plate-less vehicles get it.
      const bare = vehicles.filter((v) => !cands.some((c) => holdsPlate(v, c))).sort((a, b) => boxArea(b.box) - boxArea(a.box));
      for (const v of bare.slice(0, this.config.text_fallback_max_vehicles)) cands.push(...(await this.detectText(img, v.box, t)));
    }
    const kept = cands.sort((a, b) => b.det.score - a.det.score).slice(0, this.config.max_plates);
    if (this.config.refine_corners) await this.refineCorners(img, kept, t);
    for (const c of kept) c.vehicle = assignVehicle(c.det.box, vehicles);
    return kept;
  }

  /**
   * Small plates found on a downscaled frame get coarse corners. The small detector, run on
   * a patch around each at native resolution, places them again before rectification.
   */
  private async refineCorners(img: RgbImage, cands: PlateCandidate[], t: DetectTimings): Promise<void> {
    if (!this.cropDetector) return;
    const size = this.cropDetector.entry.input.size;
    for (const c of cands) {
      const w = c.det.box.x2 - c.det.box.x1;
      if (c.detector === this.cropDetector.entry.name || w * 3 > size) continue;
      const region = clampBox(padBox(c.det.box, 1, 2), img.width, img.height);
      const found = await this.detectIn(this.cropDetector, img, region, t);
      const best = found.find((f) => iou(f.det.box, c.det.box) > 0.4 && f.det.corners);
      if (best) c.det = { ...c.det, box: best.det.box, corners: best.det.corners };
    }
  }

  /** Runs a plate detector on the image or a region of it; results in image coordinates. */
  private async detectIn(detector: ObjectDetector, img: RgbImage, region: Box | null, t: DetectTimings): Promise<PlateCandidate[]> {
    const ox = region ? Math.floor(region.x1) : 0;
    const oy = region ? Math.floor(region.y1) : 0;
    const dets = await detector.detect(region ? cropImage(img, region) : img, {}, t);
    return dets
      .filter((d) => d.score >= this.config.min_plate_detector_score)
      .map((d) =>
        mapDetection({ det: d, detector: detector.entry.name, className: detector.className(d.classId), vehicle: null }, (p) => ({ x: p.x + ox, y: p.y + oy })),
      );
  }

  /**
   * Last resort for vehicles no plate detector found a plate on: text lines of plate shape in
   * the lower part of the vehicle (roof numbers and livery above are not plates).
   */
  private async detectText(img: RgbImage, vehicle: Box, t: DetectTimings): Promise<PlateCandidate[]> {
    const vw = vehicle.x2 - vehicle.x1;
    const vh = vehicle.y2 - vehicle.y1;
    if (!this.textDetector || vw < 120 || vh < 80) return [];
    const region = clampBox({ x1: vehicle.x1, y1: vehicle.y1 + vh * 0.35, x2: vehicle.x2, y2: vehicle.y2 }, img.width, img.height);
    const ox = Math.floor(region.x1);
    const oy = Math.floor(region.y1);
    const t0 = performance.now();
    const boxes = await this.textDetector.detect(cropImage(img, region));
    t.inferMs += performance.now() - t0;
    const out: PlateCandidate[] = [];
    for (const b of boxes) {
      const w = b.box.x2 - b.box.x1;
      const h = b.box.y2 - b.box.y1;
      // Plate text lines: 3 to 8 characters of roughly square glyphs.
      if (h < 10 || w / h < 1.5 || w / h > 7 || w > vw * 0.6) continue;
      out.push({
        det: {
          box: shiftBox(b.box, ox, oy),
          corners: b.quad.map((p) => ({ x: p.x + ox, y: p.y + oy })) as Quad,
          score: b.score * 0.5,
          classId: -1,
        },
        detector: this.textDetector.entry.name,
        className: TEXT_CLASS,
        vehicle: null,
      });
    }
    return out.sort((a, b) => b.det.score - a.det.score).slice(0, 4);
  }

  /**
   * Close-ups where the plate fills the photo are outside what plate detectors were trained
   * on; shown the same photo with a wide grey margin they find it again.
   */
  private async detectZoomedOut(img: RgbImage, t: DetectTimings): Promise<PlateCandidate[]> {
    const margin = 0.5;
    const canvas = padConstant(img, margin, margin, 114);
    const px = Math.round(img.width * margin);
    const py = Math.round(img.height * margin);
    const found = await this.detectIn(this.plateDetector, canvas, null, t);
    return found.map((c) => mapDetection(c, (p) => ({ x: p.x - px, y: p.y - py })));
  }

  /**
   * Reads plans in two OCR batches: every plan's primary views, then the extra views of the
   * plans whose primary reads disagree or are unsure; then second opinions where views still
   * disagree. Easy plates cost two crops, hard ones get every view.
   */
  private async readViews(plans: ViewPlan[], primaryOnly = false): Promise<Vote[][]> {
    const primaryReads = await this.reader.read(plans.flatMap((p) => p.primary.map((v) => v.image)));
    let k = 0;
    const votes: Vote[][] = plans.map((p) => p.primary.map((v) => ({ ...this.decode(primaryReads[k++]), strategy: v.strategy })));
    if (primaryOnly) return votes;
    const open = plans.map((_, i) => i).filter((i) => !settled(votes[i], this.config.settle_confidence));
    const extras = open.map((i) => ({ i, views: plans[i].extra() }));
    const extraReads = await this.reader.read(extras.flatMap((e) => e.views.map((v) => v.image)));
    k = 0;
    for (const e of extras) for (const v of e.views) votes[e.i].push({ ...this.decode(extraReads[k++]), strategy: v.strategy });
    await this.addSecondOpinions(
      open.map((i) => [...plans[i].primary, ...(extras.find((e) => e.i === i)?.views ?? [])]),
      open.map((i) => votes[i]),
    );
    return votes;
  }

  private async readPlates(
    img: RgbImage,
    cands: PlateCandidate[],
    t: { inferMs: number },
    primaryOnly = false,
  ): Promise<{ plates: PlateResult[]; rejected: RejectedRead[] }> {
    const t0 = performance.now();
    const votes = await this.readViews(
      cands.map((c) => plateViewPlan(img, c.det, this.config.strategies)),
      primaryOnly,
    );
    t.inferMs += performance.now() - t0;
    const plates: PlateResult[] = [];
    const rejected: RejectedRead[] = [];
    cands.forEach((c, i) => {
      const choice = voteReads(votes[i]);
      const box = roundBox(clampBox(c.det.box, img.width, img.height));
      if (!choice) {
        rejected.push({ text: '', confidence: 0, box, reason: 'empty' });
        return;
      }
      // Text lines found by the generic text detector carry no plate prior of their own: only
      // confident reads with a digit count (livery words and phone fragments do not).
      const fromText = c.className === TEXT_CLASS;
      const minConfidence = fromText ? Math.max(this.config.min_plate_confidence, this.config.text_min_confidence) : this.config.min_plate_confidence;
      const verdict = judgePlate(choice.text, choice.confidence, this.format, minConfidence, { requireDigit: fromText });
      if (!verdict.ok) {
        rejected.push({ text: choice.text, confidence: round3(choice.confidence), box, reason: verdict.reason! });
        return;
      }
      plates.push({
        text: normalizePlate(choice.text),
        confidence: round3(choice.confidence),
        char_confidences: choice.charConfidences.map(round3),
        box,
        corners: c.det.corners ? (c.det.corners.map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) })) as Quad) : null,
        detector_score: round3(c.det.score),
        detector: c.detector,
        plate_class: c.className,
        region: guessRegion(choice.text, this.format.id as PlateFormatId),
        strategy: choice.strategy,
        vehicle: c.vehicle,
      });
    });
    return { plates: dedupePlates(plates), rejected };
  }
}
