/**
 * Event pictures.
 *
 * - `/images/<path>`: local files (plate crops, vehicle shots) under the images folder. Requests
 *   are confined to that folder: `..`, absolute paths, NUL bytes and symlinks pointing outside
 *   all answer 404, the same as a missing file, so probing reveals nothing about the disk.
 * - `/images/s3/<bucket>/<key>`: a picture in S3 (an event's `s3://bucket/key` URL). The edge's
 *   cached copy is served while it has one (so pictures show during an S3 outage and before
 *   their upload); otherwise a 302 to a presigned GET URL valid for presign_expiry_s.
 * - `/events/<event_id>/images/<kind>`: whichever the event has, local or S3 (a 302).
 * With S3 configured, /metrics also carries the upload queue's gauges.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { FastifyReply } from 'fastify';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import type { S3ImageAccess } from '../../images/s3-images.js';
import type { ApiApp, ApiContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';

const TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/** The real path of `rel` inside `root`, or null when it is outside, not an image or not a file. */
export async function resolveImage(root: string, rel: string): Promise<string | null> {
  if (!rel || rel.includes('\0') || isAbsolute(rel) || rel.includes('\\')) return null;
  if (!TYPES[extname(rel).toLowerCase()]) return null;
  const base = await realpath(root).catch(() => null);
  if (!base) return null;
  const candidate = resolve(base, rel);
  if (!inside(base, candidate)) return null;
  // realpath follows symlinks: a link inside the folder must not lead out of it.
  const real = await realpath(candidate).catch(() => null);
  if (!real || !inside(base, real)) return null;
  const st = await stat(real).catch(() => null);
  return st?.isFile() ? real : null;
}

function inside(base: string, p: string): boolean {
  const r = relative(base, p);
  return r !== '' && !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
}

const KIND_FIELD = { plate: 'plate_url', vehicle: 'vehicle_url', frame: 'frame_url' } as const;

/**
 * Serves the cached copy of an `s3://` picture, or redirects to a presigned URL for it. With
 * `proxy` the API fetches the object itself and passes the bytes on: the console's CSP only lets
 * <img> load from its own origin, and a redirect to the S3 host would be blocked there.
 */
async function sendS3Image(s3: S3ImageAccess, url: string, reply: FastifyReply, proxy = false): Promise<unknown> {
  if (s3.keyOf(url) === null) throw notFound('no such image');
  const local = await s3.localFile(url);
  if (local) {
    reply.type('image/jpeg').header('cache-control', 'private, max-age=3600');
    return reply.send(createReadStream(local));
  }
  let signed: string;
  try {
    signed = await s3.presignedGetUrl(url);
  } catch {
    throw new ApiError('UNAVAILABLE', 'cannot sign an S3 URL for this image');
  }
  if (proxy) {
    const res = await fetch(signed, { signal: AbortSignal.timeout(15_000) }).catch(() => null);
    if (!res) throw new ApiError('UNAVAILABLE', 'the S3 server does not answer for this image');
    if (res.status === 404 || res.status === 403) throw notFound('no such image in S3');
    if (!res.ok) throw new ApiError('UNAVAILABLE', `the S3 server answered ${res.status} for this image`);
    reply.type(res.headers.get('content-type') ?? 'image/jpeg').header('cache-control', 'private, max-age=3600');
    return reply.send(Buffer.from(await res.arrayBuffer()));
  }
  // The signed URL expires: browsers must not keep the redirect longer than it lives.
  reply.header('cache-control', `private, max-age=${Math.max(0, Math.min(3600, s3.presignExpiryS - 60))}`);
  return reply.redirect(signed, 302);
}

function uploadMetrics(ctx: ApiContext): void {
  const s3 = ctx.s3Images;
  if (!s3 || s3.uploads() === null) return;
  const gauge = (name: string, help: string, pick: (u: NonNullable<ReturnType<S3ImageAccess['uploads']>>) => number) =>
    new Gauge({
      name,
      help,
      registers: [ctx.metrics.registry],
      collect() {
        const u = s3.uploads();
        if (u) this.set(pick(u));
      },
    });
  gauge('ovr_alpr_image_uploads_pending', 'Pictures in the local cache waiting for their S3 upload', (u) => u.pending);
  gauge('ovr_alpr_image_uploads_pending_bytes', 'Bytes waiting for their S3 upload', (u) => u.pendingBytes);
  gauge('ovr_alpr_image_uploads_done', 'Pictures uploaded to S3 since start', (u) => u.uploaded);
  gauge('ovr_alpr_image_upload_failed_attempts', 'Failed S3 upload attempts since start (each is retried)', (u) => u.failedAttempts);
  gauge('ovr_alpr_image_uploads_retrying', '1 while uploads are paused after a failure (S3 down or refusing)', (u) => (u.retrying ? 1 : 0));
  gauge('ovr_alpr_image_cache_bytes', 'Bytes in the local image upload cache (pending and uploaded)', (u) => u.pendingBytes + u.cachedBytes);
  gauge('ovr_alpr_image_cache_over_cap', '1 while the upload cache is over its size cap with pictures not yet uploaded (alarm)', (u) => (u.overCap ? 1 : 0));
}

export function imageRoutes(app: ApiApp, ctx: ApiContext): void {
  uploadMetrics(ctx);

  app.get(
    '/images/s3/:bucket/*',
    {
      schema: {
        summary: 'A picture stored in S3: the cached copy, or a 302 to a presigned GET URL',
        tags: ['images'],
        params: z.object({ bucket: z.string(), '*': z.string().describe('object key, e.g. 2024/05/01/<event_id>-plate.jpg') }),
        querystring: z.object({
          proxy: z
            .enum(['true', 'false'], { error: 'must be "true" or "false"' })
            .transform((v) => v === 'true')
            .optional()
            .describe('pass the bytes through the API instead of redirecting to S3 (for pages whose CSP allows only their own origin)'),
        }),
        // No response schemas: the body is the file's bytes or a redirect (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const s3 = ctx.s3Images;
      if (!s3) throw notFound('S3 images are not configured on this server (config/images.yaml)');
      if (req.params.bucket !== s3.bucket) throw notFound(`no image bucket ${req.params.bucket}`);
      return sendS3Image(s3, `s3://${s3.bucket}/${req.params['*']}`, reply, req.query.proxy === true);
    },
  );

  app.get(
    '/events/:event_id/images/:kind',
    {
      schema: {
        summary: "One of an event's pictures (plate, vehicle or frame), wherever it is stored: a 302 to the local file or a presigned S3 URL",
        tags: ['images'],
        params: z.object({ event_id: z.uuid(), kind: z.enum(['plate', 'vehicle', 'frame']) }),
        // No response schemas: a redirect (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const event = await ctx.storage.get(req.params.event_id);
      if (!event) throw notFound(`no event ${req.params.event_id}`);
      const url = event.images[KIND_FIELD[req.params.kind]];
      if (!url) throw notFound(`event ${req.params.event_id} has no ${req.params.kind} picture`);
      if (url.startsWith('s3://')) {
        if (!ctx.s3Images) throw notFound('the picture is in S3, which is not configured on this server (config/images.yaml)');
        return sendS3Image(ctx.s3Images, url, reply);
      }
      if (url.startsWith('/images/')) return reply.redirect(url, 302);
      throw notFound(`event ${req.params.event_id} has no ${req.params.kind} picture this server can serve`);
    },
  );

  app.get(
    '/images/*',
    {
      schema: {
        summary: 'An image file from the local images folder',
        tags: ['images'],
        params: z.object({ '*': z.string().describe('path inside the images folder') }),
        // No response schemas: the body is the file's bytes (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const rel = req.params['*'];
      const file = ctx.imagesDir ? await resolveImage(ctx.imagesDir, rel) : null;
      if (!file) throw notFound(`no image ${rel}`);
      reply.type(TYPES[extname(file).toLowerCase()]).header('cache-control', 'private, max-age=3600');
      return reply.send(createReadStream(file));
    },
  );
}
