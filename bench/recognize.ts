/**
 * Still-image recognition speed on real photos: median ms per stage and end to end, and the
 * overhead ratio (end-to-end time / pure onnxruntime time for the same images), which says
 * how much of the budget goes to everything that is not inference.
 */
import { resolve } from 'node:path';
import sharp from 'sharp';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src-pipeline/paths.js';
import { loadDataset } from '../src-pipeline/eval/datasets.js';
import { median, percentile } from '../src-pipeline/eval/metrics.js';
import { decodeImage } from '../src-pipeline/vision/image.js';
import { Recognizer } from '../src-pipeline/vision/recognizer.js';
import { loadRecognitionConfig } from '../src-pipeline/config-loader.js';
import { sessionOptions } from '../src-pipeline/vision/session.js';

export async function benchRecognize(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dataset: { type: 'string', default: resolve(projectRoot(), '..', 'shared', 'data', 'openalpr-us-dev') },
      // Photos are resized to this frame size first, so the numbers describe one workload.
      size: { type: 'string', default: '1920x1080' },
      limit: { type: 'string', default: '40' },
      config: { type: 'string' },
    },
  });
  const [width, height] = values.size!.split('x').map(Number);
  if (!(width > 0 && height > 0)) throw new Error(`--size must be WIDTHxHEIGHT, got ${values.size}`);
  const samples = loadDataset(values.dataset!).filter((s) => s.kind === 'scene');
  const rec = await Recognizer.create(loadRecognitionConfig(values.config));
  const images = [];
  for (const s of samples) {
    if (images.length >= Number(values.limit)) break;
    // Decode time is measured on a JPEG of the benchmark size, as a camera would deliver it.
    const jpeg = await sharp(s.file).rotate().resize(width, height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const t0 = performance.now();
    const img = await decodeImage(jpeg);
    const decodeMs = performance.now() - t0;
    images.push({ file: s.file, img, decodeMs });
  }
  if (images.length === 0) throw new Error(`no labelled photos in ${values.dataset}`);
  // Warm-up: first runs pay for session initialisation and allocator growth.
  for (const x of images.slice(0, 3)) await rec.recognize(x.img);
  const rows: { decode: number; vehicle_ms: number; plate_ms: number; ocr_ms: number; inference_ms: number; e2e: number; plates: number }[] = [];
  for (const x of images) {
    const r = await rec.recognize(x.img);
    const t = r.timings;
    rows.push({
      decode: x.decodeMs,
      vehicle_ms: t.vehicle_ms,
      plate_ms: t.plate_ms,
      ocr_ms: t.ocr_ms,
      inference_ms: t.inference_ms,
      e2e: x.decodeMs + t.total_ms,
      plates: r.plates.length,
    });
  }
  const med = (k: keyof (typeof rows)[number]) => median(rows.map((r) => r[k]));
  const e2e = med('e2e');
  const inference = med('inference_ms');
  const report = {
    bench: 'recognize',
    photos: rows.length,
    resolution: `${width}x${height} (photos resized)`,
    median_ms: {
      decode: round(med('decode')),
      vehicle: round(med('vehicle_ms')),
      plate: round(med('plate_ms')),
      ocr: round(med('ocr_ms')),
      end_to_end: round(e2e),
      inference_only: round(inference),
    },
    p95_end_to_end_ms: round(
      percentile(
        rows.map((r) => r.e2e),
        0.95,
      ),
    ),
    overhead_ratio: round(median(rows.map((r) => r.e2e / r.inference_ms)), 2),
    plates_per_photo: round(rows.reduce((a, r) => a + r.plates, 0) / rows.length, 2),
    ort_threads: sessionOptions().intraOpNumThreads,
  };
  process.stdout.write(
    `recognize: ${report.photos} photos at ${report.resolution}\n` +
      Object.entries(report.median_ms)
        .map(([k, v]) => `  ${k.padEnd(15)} ${String(v).padStart(8)} ms (median)\n`)
        .join('') +
      `  p95 end to end  ${report.p95_end_to_end_ms} ms\n  overhead ratio  ${report.overhead_ratio} (end-to-end / pure inference, per photo, median)\n`,
  );
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
