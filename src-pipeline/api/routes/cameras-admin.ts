/**
 * Camera management for the console's Settings screen: list/add/edit/remove cameras in the
 * cameras YAML `serve` reads, a connection test (ffprobe) and a one-frame JPEG snapshot for
 * the ROI editor. Edits are validated with the pipeline's own camera schema; when a pipeline
 * runs in this process the change is applied at once (the camera's worker restarts),
 * otherwise the answer says a restart is needed.
 */
import { z } from 'zod';
import { CAMERA_SOURCE_TYPES, inferCameraType } from '../../common/cameras-config.js';
import { AlprError } from '../../common/errors.js';
import { CameraNotFoundError, CamerasFile, CameraValidationError, type FieldIssue } from '../../settings/cameras-file.js';
import type { SettingsContext } from '../../settings/context.js';
import { probeSource, snapshotJpeg } from '../../settings/media-probe.js';
import type { ApiApp } from '../context.js';
import { ApiError } from '../errors.js';

const TAGS = ['settings'];

const CameraBody = z.record(z.string(), z.unknown()).describe('a camera as in config/cameras.yaml (id, source, type, roi, region, …)');
const CameraIdParams = z.object({ id: z.string().min(1).max(64) });
const SourceBody = z
  .object({
    source: z.string().min(1, { error: 'give a file path, rtsp:// URL or /dev/videoN' }).max(2048),
    type: z.enum(CAMERA_SOURCE_TYPES).optional(),
    transport: z.enum(['tcp', 'udp']).optional(),
    width: z.number().int().positive().max(8192).optional(),
    height: z.number().int().positive().max(8192).optional(),
  })
  .loose();

export type Applied = 'live' | 'restart_required';

// ---- Response contracts (documented at /docs; tests validate responses against them) ----
const Issue = z.object({ path: z.string(), message: z.string() });
/** The usual envelope; invalid input also lists every field issue (inside and beside `error`). */
export const SettingsErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), retriable: z.boolean(), field: z.string().optional(), issues: z.array(Issue).optional() }),
  issues: z.array(Issue).optional(),
});
export const settingsErrors = { 400: SettingsErrorBody, 401: SettingsErrorBody, 404: SettingsErrorBody, 500: SettingsErrorBody } as const;
const AppliedOut = z.enum(['live', 'restart_required']).describe('live: the running pipeline applied it; restart_required: applied at the next start');
const CamerasListOut = z.object({
  file: z.string().nullable().describe('the cameras file edited; null when serve runs --source'),
  editable: z.boolean(),
  live_apply: z.boolean().describe('whether edits reach the running pipeline at once'),
  cameras: z.array(z.record(z.string(), z.unknown())).describe('cameras as written in the file (no defaults)'),
});
const CameraWriteOut = z.object({ camera: z.record(z.string(), z.unknown()).describe('the camera with defaults applied'), applied: AppliedOut });
const ProbeOut = z.object({
  ok: z.boolean(),
  codec: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  fps: z.number().optional(),
  error: z.string().optional().describe('why the source cannot be read, in words'),
  elapsed_ms: z.number(),
});

/** 400 with the usual envelope plus every field issue, so a form can mark each field. */
export function issuesBody(issues: FieldIssue[], prefix = '') {
  const first = issues[0];
  const field = first ? `${prefix}${first.path}` : undefined;
  const all = issues.map((i) => ({ path: `${prefix}${i.path}`, message: i.message }));
  // Inside the envelope for the console's client, and beside it as the alert routes send it.
  return {
    error: {
      code: 'BAD_REQUEST',
      message: first ? `${field || 'body'}: ${first.message}` : 'invalid',
      retriable: false,
      ...(field ? { field } : {}),
      issues: all,
    },
    issues: all,
  };
}

function fileOf(s: SettingsContext): CamerasFile {
  if (!s.camerasFile)
    throw new ApiError(
      'BAD_REQUEST',
      'this server was started with --source, so its camera is not in a file; restart it with --cameras FILE (or the config folder) to manage cameras here',
    );
  return new CamerasFile(s.camerasFile);
}

/** Writes an audit entry (who changed which setting); the server passes its audit log. */
export type AuditFn = (action: string, details: Record<string, unknown>) => Promise<void>;

export function camerasAdminRoutes(app: ApiApp, s: SettingsContext, audit: AuditFn = async () => {}): void {
  // One camera change at a time: the file write and the restart of the camera's worker must
  // happen in the same order for every request, or two quick edits could leave the pipeline
  // running the older one.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };
  const applied = (): Applied => (s.live ? 'live' : 'restart_required');
  const mapErrors = (err: unknown) => {
    if (err instanceof CameraValidationError) return { status: 400 as const, body: issuesBody(err.issues) };
    if (err instanceof CameraNotFoundError) return { status: 404 as const, body: new ApiError('NOT_FOUND', err.message).body() };
    if (err instanceof AlprError && err.code === 'CONFIG_INVALID') return { status: 400 as const, body: new ApiError('BAD_REQUEST', err.message).body() };
    throw err;
  };

  app.get(
    '/settings/cameras',
    { schema: { summary: 'Cameras in the cameras file, as written', tags: TAGS, response: { 200: CamerasListOut, ...settingsErrors } } },
    async () => {
      const file = s.camerasFile ? new CamerasFile(s.camerasFile) : null;
      return { file: s.camerasFile, editable: file !== null, live_apply: s.live !== undefined, cameras: file ? file.raw() : [] };
    },
  );

  app.post(
    '/settings/cameras',
    { schema: { summary: 'Add a camera', tags: TAGS, body: CameraBody, response: { 201: CameraWriteOut, ...settingsErrors } } },
    async (req, reply) => {
      try {
        const cam = await serially(async () => {
          const c = fileOf(s).add(req.body);
          if (s.live) await s.live.upsert(c);
          return c;
        });
        await audit('settings.camera.add', { camera_id: cam.id });
        return reply.code(201).send({ camera: cam, applied: applied() });
      } catch (err) {
        const e = mapErrors(err);
        return reply.code(e.status).send(e.body);
      }
    },
  );

  app.put(
    '/settings/cameras/:id',
    { schema: { summary: 'Replace a camera', tags: TAGS, params: CameraIdParams, body: CameraBody, response: { 200: CameraWriteOut, ...settingsErrors } } },
    async (req, reply) => {
      try {
        const cam = await serially(async () => {
          const c = fileOf(s).update(req.params.id, req.body);
          if (s.live) await s.live.upsert(c, req.params.id);
          return c;
        });
        await audit('settings.camera.update', { camera_id: cam.id, previous_id: req.params.id });
        return { camera: cam, applied: applied() };
      } catch (err) {
        const e = mapErrors(err);
        return reply.code(e.status).send(e.body);
      }
    },
  );

  app.delete(
    '/settings/cameras/:id',
    {
      schema: {
        summary: 'Remove a camera',
        tags: TAGS,
        params: CameraIdParams,
        response: { 200: z.object({ removed: z.string(), applied: AppliedOut }), ...settingsErrors },
      },
    },
    async (req, reply) => {
      try {
        await serially(async () => {
          fileOf(s).remove(req.params.id);
          if (s.live) await s.live.remove(req.params.id);
        });
        await audit('settings.camera.remove', { camera_id: req.params.id });
        return { removed: req.params.id, applied: applied() };
      } catch (err) {
        const e = mapErrors(err);
        return reply.code(e.status).send(e.body);
      }
    },
  );

  app.post(
    '/settings/cameras/test',
    {
      schema: {
        summary: 'Connection test: what the source delivers (codec, size, fps) or why it cannot be read',
        tags: TAGS,
        body: SourceBody,
        response: { 200: ProbeOut, ...settingsErrors },
      },
    },
    async (req) => {
      const b = req.body;
      return probeSource({ source: b.source, type: b.type ?? inferCameraType(b.source), transport: b.transport ?? 'tcp' });
    },
  );

  app.post(
    '/settings/cameras/snapshot',
    { schema: { summary: 'One frame from the source as image/jpeg (for the ROI editor)', tags: TAGS, body: SourceBody } },
    async (req, reply) => {
      const b = req.body;
      try {
        const jpeg = await snapshotJpeg({
          source: b.source,
          type: b.type ?? inferCameraType(b.source),
          transport: b.transport ?? 'tcp',
          width: b.width,
          height: b.height,
        });
        return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
      } catch (err) {
        if (err instanceof AlprError) return reply.code(400).send(new ApiError('BAD_REQUEST', err.message, 'source').body());
        throw err;
      }
    },
  );
}
