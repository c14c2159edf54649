/** The model registry's contract: models/manifest.json, validated with zod at load time. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AlprError } from '../common/errors.js';
import { projectRoot } from '../paths.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 (64 characters)');

const Source = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url'), url: z.string().url() }),
  z.object({ type: z.literal('npm'), package: z.string().min(1), path: z.string().min(1) }),
]);
export type ModelSource = z.infer<typeof Source>;

const DetectorInput = z.object({
  name: z.string(),
  size: z.number().int().positive(),
  order: z.enum(['rgb', 'bgr']),
  scale: z.number().positive(),
  mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
  std: z.tuple([z.number(), z.number(), z.number()]).optional(),
  letterbox: z.enum(['centre', 'top-left']),
  padValue: z.number(),
});

const DetectorOutput = z.object({
  decoder: z.enum(['yolox', 'yolov5', 'yolov8']),
  numClasses: z.number().int().min(0),
  numKeypoints: z.union([z.literal(0), z.literal(4)]),
  classes: z.record(z.string(), z.string()).default({}),
});

const Thresholds = z.object({ score: z.number().min(0).max(1), nms: z.number().min(0).max(1) });

const Common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, dot, dash, underscore'),
  file: z.string().regex(/^[^/\\]+\.onnx$/, 'a bare file name ending in .onnx'),
  sha256,
  source: Source,
  licence: z.string().min(1),
};

const DetectionModel = z.object({
  ...Common,
  task: z.enum(['vehicle-detection', 'plate-detection']),
  input: DetectorInput,
  output: DetectorOutput,
  thresholds: Thresholds,
});

const SlotOcrModel = z.object({
  ...Common,
  task: z.literal('plate-ocr'),
  input: z.object({ name: z.string(), width: z.number().int().positive(), height: z.number().int().positive() }),
  output: z.object({ decoder: z.literal('slots'), alphabet: z.string().min(2), pad: z.string().length(1), slots: z.number().int().positive() }),
});

const CtcOcrModel = z.object({
  ...Common,
  task: z.literal('plate-ocr'),
  input: z.object({ name: z.string(), width: z.number().int().positive(), height: z.number().int().positive() }),
  output: z.object({ decoder: z.literal('ctc'), dictionary: Source.and(z.object({ sha256 })) }),
});

const TextDetectionModel = z.object({
  ...Common,
  task: z.literal('text-detection'),
  input: z.object({
    name: z.string(),
    order: z.enum(['rgb', 'bgr']),
    scale: z.number().positive(),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number(), z.number(), z.number()]),
    maxSide: z.number().int().positive(),
  }),
  output: z.object({ decoder: z.literal('db'), binaryThreshold: z.number(), boxThreshold: z.number(), unclipRatio: z.number().positive() }),
});

export const ModelEntry = z.union([DetectionModel, SlotOcrModel, CtcOcrModel, TextDetectionModel]);
export type ModelEntry = z.infer<typeof ModelEntry>;
export type DetectionModelEntry = z.infer<typeof DetectionModel>;
export type SlotOcrModelEntry = z.infer<typeof SlotOcrModel>;
export type CtcOcrModelEntry = z.infer<typeof CtcOcrModel>;
export type TextDetectionModelEntry = z.infer<typeof TextDetectionModel>;

export const Manifest = z.object({ models: z.array(ModelEntry).min(1) }).superRefine((m, ctx) => {
  const seen = new Set<string>();
  m.models.forEach((e, i) => {
    if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model name "${e.name}"` });
    seen.add(e.name);
  });
});
export type Manifest = z.infer<typeof Manifest>;

export function defaultManifestPath(): string {
  return join(projectRoot(), 'models', 'manifest.json');
}

/** Formats zod issues as `file: key.path: message` lines a person can act on. */
export function describeIssues(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
}

export function loadManifest(path = defaultManifestPath()): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AlprError('MODEL_MANIFEST_INVALID', `${path}: cannot read the model manifest: ${(err as Error).message}`, { cause: err });
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    throw new AlprError(
      'MODEL_MANIFEST_INVALID',
      `invalid model manifest:\n${describeIssues(path, parsed.error.issues)}\nFix the entry (see models/README.md for the fields).`,
    );
  }
  return parsed.data;
}

export function findModel<T extends ModelEntry['task']>(m: Manifest, name: string, task?: T): Extract<ModelEntry, { task: T }> {
  const e = m.models.find((x) => x.name === name);
  if (!e) throw new AlprError('MODEL_MANIFEST_INVALID', `model "${name}" is not in the manifest (known: ${m.models.map((x) => x.name).join(', ')})`);
  if (task && e.task !== task) throw new AlprError('MODEL_MANIFEST_INVALID', `model "${name}" is a ${e.task} model, expected ${task}`);
  return e as Extract<ModelEntry, { task: T }>;
}
