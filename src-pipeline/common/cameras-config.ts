/**
 * Contract for config/cameras.yaml: the cameras (or files) the pipeline reads at once.
 * Plain zod so the UI can validate an edited camera with the same rules as the pipeline.
 * Coordinates (ROI, direction line) are pixels of the frame as delivered (after any
 * width/height scaling).
 */
import { z } from 'zod';

export const CAMERA_SOURCE_TYPES = ['file', 'rtsp', 'v4l2', 'custom'] as const;

const PointTuple = z.tuple([z.number(), z.number()]);

const Camera = z
  .object({
    /** Stable id used in events, stats and the API; letters, digits, '_' and '-'. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, "_" or "-"'),
    /** File path, rtsp:// URL, /dev/videoN, or what {source} means in a custom command. */
    source: z.string().min(1, 'give a file path, rtsp:// URL or /dev/videoN'),
    /** Defaults from the source: rtsp:// → rtsp, /dev/videoN → v4l2, anything else → file. */
    type: z.enum(CAMERA_SOURCE_TYPES).optional(),
    /** RTSP lower transport; TCP survives lossy links and NAT better, UDP has less latency. */
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    fps_cap: z.number().positive().max(240).optional(),
    /** Region of interest; nothing outside it becomes an event. At least 3 points. */
    roi: z.array(PointTuple).min(3, 'an ROI polygon needs at least 3 [x, y] points').optional(),
    /** Plate format region for this camera (overrides recognition.yaml plate_format). */
    region: z.enum(['us', 'eu', 'any']).optional(),
    /** Reference line [[x1, y1], [x2, y2]]; crossing it left-to-right (as seen from point 1 to 2) is "in". */
    direction_line: z.tuple([PointTuple, PointTuple]).optional(),
    enabled: z.boolean().default(true),
    /** Files only: start over at the end. */
    loop: z.boolean().default(false),
    /** Files only: deliver at the clip's frame rate instead of as fast as possible. */
    realtime: z.boolean().default(false),
    /** Scale frames to this size (both or neither); required for custom sources. */
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** Custom sources: command whose stdout is raw rgb24 of width x height; {source} {width} {height} {fps} are filled in. */
    command: z.string().min(1).optional(),
    /** Frames held for a slow pipeline before the oldest is dropped. */
    queue: z.number().int().min(1).max(64).default(4),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.width === undefined) !== (c.height === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.width === undefined ? 'width' : 'height'], message: 'give both width and height, or neither' });
    }
    const type = c.type ?? inferCameraType(c.source);
    if (type === 'custom') {
      if (!c.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'a custom source needs a command writing raw rgb24 to stdout' });
      if (c.width === undefined || c.height === undefined) ctx.addIssue({ code: 'custom', path: ['width'], message: 'a custom source needs width and height' });
    } else if (c.command !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'command is only used with type: custom' });
    }
    if (type !== 'file' && (c.loop || c.realtime)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.loop ? 'loop' : 'realtime'],
        message: 'loop and realtime apply to files only (live sources are always real time)',
      });
    }
  })
  .transform((c) => ({ ...c, type: c.type ?? inferCameraType(c.source) }));

export const CamerasConfig = z
  .object({
    cameras: z.array(Camera).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.cameras.forEach((c, i) => {
      const first = seen.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate id "${c.id}" (also cameras.${first}.id)` });
      else seen.set(c.id, i);
    });
  });

export type CameraConfig = z.infer<typeof Camera>;
export type CamerasConfig = z.infer<typeof CamerasConfig>;
export const CameraConfig = Camera;

export function inferCameraType(source: string): (typeof CAMERA_SOURCE_TYPES)[number] {
  if (/^rtsps?:\/\//i.test(source)) return 'rtsp';
  if (/^\/dev\/video\d+$/.test(source)) return 'v4l2';
  return 'file';
}
