/** Contract for config/recognition.yaml: which models run and how reads are judged. */
import { z } from 'zod';

export const READ_STRATEGIES = ['rectified', 'padded', 'enhanced', 'chars', 'tight'] as const;
export type ReadStrategy = (typeof READ_STRATEGIES)[number];

export const RecognitionConfig = z
  .object({
    models: z
      .object({
        vehicle: z.string().default('yolox-nano'),
        plate: z.string().default('y5fu-640'),
        plate_crop: z.string().nullable().default('y5fu-320'),
        ocr: z.string().default('cct-xs-global'),
        /** A second OCR model consulted only when the views of a plate disagree. */
        ocr_second: z.string().nullable().default('ppocr-v4-rec'),
        text_detector: z.string().nullable().default('ppocr-v4-det'),
      })
      .strict()
      .prefault({}),
    plate_format: z.enum(['us', 'eu', 'any']).default('us'),
    min_plate_confidence: z.number().min(0).max(1).default(0.6),
    min_plate_detector_score: z.number().min(0).max(1).default(0.35),
    vehicle_score: z.number().min(0).max(1).default(0.3),
    /** Search vehicle crops with the small plate detector when the full frame found nothing there. */
    crop_search: z.boolean().default(true),
    /** Retry the plate detector on the frame inside a wide margin when nothing was found (close-ups). */
    zoom_out_search: z.boolean().default(true),
    /** Re-place the corners of small plates with the crop detector at native resolution. */
    refine_corners: z.boolean().default(true),
    /** Use the text detector as a last resort when no plate detector fires on a frame. */
    text_fallback: z.boolean().default(true),
    /** Minimum OCR confidence for reads of text-detector candidates (they must also hold a digit). */
    text_min_confidence: z.number().min(0).max(1).default(0.8),
    /** How many plate-less vehicles (largest first) one image may spend the text detector on. */
    text_fallback_max_vehicles: z.number().int().min(0).default(2),
    strategies: z.array(z.enum(READ_STRATEGIES)).min(1).default(['rectified', 'padded', 'enhanced', 'chars']),
    /** Plates whose first two views agree at this confidence or more are not read again. */
    settle_confidence: z.number().min(0).max(1).default(0.95),
    /** Vote weight of the second OCR model relative to one view of the first. */
    second_opinion_weight: z.number().min(0).max(5).default(1),
    max_plates: z.number().int().positive().default(12),
    /**
     * onnxruntime execution provider: cpu (every build), or cuda / tensorrt on NVIDIA GPUs
     * (Jetson included), which need an onnxruntime-node built with them; CPU stays the fallback
     * for operators those providers do not take.
     */
    execution_provider: z.enum(['cpu', 'cuda', 'tensorrt']).default('cpu'),
    /** GPU index for cuda / tensorrt. */
    gpu_device_id: z.number().int().min(0).max(15).default(0),
  })
  .strict();

export type RecognitionConfig = z.infer<typeof RecognitionConfig>;
/** What a caller may pass: every key optional, defaults filled in by parsing. */
export type RecognitionConfigInput = z.input<typeof RecognitionConfig>;
