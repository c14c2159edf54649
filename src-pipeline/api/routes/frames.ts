/**
 * Camera previews for the console: an MJPEG stream per camera (an <img> shows it with no
 * script) and the latest JPEG. JPEGs are made only while someone watches (see preview.ts).
 */
import { PassThrough } from 'node:stream';
import type { ApiApp, ApiContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import type { PreviewFrame } from '../preview.js';
import { CameraParams } from '../schemas.js';

const BOUNDARY = 'ovralprframe';

export function frameRoutes(app: ApiApp, ctx: ApiContext): void {
  const known = (id: string) => {
    if (!ctx.preview?.enabled || !ctx.cameras)
      throw new ApiError('UNAVAILABLE', 'this server runs no camera pipeline, so it has no live frames (start `ovr-alpr serve` with cameras)');
    if (!ctx.cameras().some((c) => c.id === id)) throw notFound(`no camera ${id}`);
    return ctx.preview;
  };

  app.get(
    '/cameras/:camera_id/frame.jpg',
    {
      schema: {
        summary: 'The latest frame of a camera as JPEG (≤ 960 px wide); waits up to 5 s for one',
        tags: ['live'],
        params: CameraParams,
        // No response schemas: the body is JPEG bytes (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const preview = known(req.params.camera_id);
      const frame = await preview.nextFrame(req.params.camera_id);
      if (!frame) throw new ApiError('UNAVAILABLE', `camera ${req.params.camera_id} has not delivered a frame yet`);
      reply.type('image/jpeg').header('cache-control', 'no-store').header('x-frame-index', String(frame.index));
      return reply.send(frame.jpeg);
    },
  );

  app.get(
    '/cameras/:camera_id/stream.mjpeg',
    {
      schema: {
        summary: 'MJPEG stream of a camera (multipart/x-mixed-replace), at most 5 frames a second, while the client reads',
        tags: ['live'],
        params: CameraParams,
        // No response schemas: the body is JPEG bytes (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const id = req.params.camera_id;
      const preview = known(id);
      const out = new PassThrough();
      const write = (f: PreviewFrame) => {
        // A client that reads slower than frames come gets fewer frames, not a growing buffer.
        if (out.writableLength > 2 * f.jpeg.length + 64 * 1024) return;
        out.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.jpeg.length}\r\nX-Frame-Index: ${f.index}\r\n\r\n`);
        out.write(f.jpeg);
        out.write('\r\n');
      };
      // A preamble (ignored by multipart readers) makes the headers go out now, not with the first frame.
      out.write('\r\n');
      const held = preview.latestFrame(id);
      if (held) write(held);
      const stop = preview.watch(id, write, () => out.end());
      req.raw.on('close', () => {
        stop();
        out.end();
      });
      reply
        .type(`multipart/x-mixed-replace; boundary=${BOUNDARY}`)
        .header('cache-control', 'no-store, no-cache')
        .header('pragma', 'no-cache')
        .header('x-content-type-options', 'nosniff');
      return reply.send(out);
    },
  );
}
