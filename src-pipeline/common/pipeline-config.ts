/**
 * Contract for config/pipeline.yaml: how the video pipeline spends its CPU per frame (which
 * tracks get plate work, how often, what is skipped) and which pictures an event keeps.
 * Strict, so a misspelt key fails loudly.
 */
import { z } from 'zod';

export const PipelineConfig = z
  .object({
    /** Plate reads (plate detection + OCR on one vehicle) at most per frame; the rest wait for a later frame. */
    reads_per_frame: z.number().int().min(1).max(16).default(2),
    /** Frames between two reads of the same track (1 = every frame it is due). */
    read_interval: z.number().int().min(1).max(120).default(2),
    /** Reads per track at full rate; after this a vehicle (parked in view, say) is read 8x less often. */
    max_reads_per_track: z.number().int().min(1).max(1000).default(40),
    /**
     * Vehicles narrower than this (pixels) get no plate work: a plate is about a quarter of a
     * car's width, and the OCR needs ~35 px of plate. On the shared clips no read below 160 px
     * of vehicle succeeded, and most plate work on overpass footage went to such vehicles.
     */
    min_vehicle_width: z.number().min(0).default(110),
    /** Plate width (pixels) from which a read counts fully in a track's vote; narrower ones count by (width / this)³. */
    vote_full_plate_width: z.number().positive().default(60),
    /** Blur filter: plate crops whose Laplacian variance is below this are not read (motion blur, defocus). */
    min_plate_sharpness: z.number().min(0).default(20),
    /** Every Nth read of a big vehicle with no plate found yet also runs the large plate detector (close-ups). */
    full_size_every: z.number().int().min(0).default(4),
    /**
     * Read each plate from its two primary views only (no extra views, no second OCR model):
     * the vote over a track's frames does their job for a fraction of the CPU.
     */
    primary_views_only: z.boolean().default(true),
    /**
     * Plate reads run in a worker thread of their own, on a second core while the vehicle
     * detector runs (onnxruntime-node infers on the calling thread, so inline they take turns).
     * false: inline, for a single-core box or to save the thread's copy of the models (~40 MB).
     */
    plate_reads_in_thread: z.boolean().default(true),
    /** Emit a track's event as soon as its reads settle (low latency) instead of when the vehicle leaves. */
    emit_on_settle: z.boolean().default(true),
    /**
     * Adaptive sampling: after this many frames without any tracked vehicle, the vehicle
     * detector runs only on every idle_stride-th frame until a vehicle shows up again.
     */
    idle_after: z.number().int().min(1).default(15),
    idle_stride: z.number().int().min(1).max(30).default(3),
    /** Pictures saved with each event. */
    save_images: z
      .object({ plate: z.boolean().default(true), vehicle: z.boolean().default(true), frame: z.boolean().default(true) })
      .strict()
      .prefault({}),
    jpeg_quality: z.number().int().min(30).max(100).default(85),
    /** Frames wider than this are scaled down before being saved as the event's frame JPEG. */
    frame_jpeg_max_width: z.number().int().min(160).default(1280),
    /** Site name stamped on events (node.site). */
    site: z.string().max(128).nullable().default(null),
  })
  .strict();

export type PipelineConfig = z.infer<typeof PipelineConfig>;
export type PipelineConfigInput = z.input<typeof PipelineConfig>;
