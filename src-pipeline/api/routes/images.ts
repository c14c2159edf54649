/**
 * Local image files (plate crops, vehicle shots) under the images folder. Requests are
 * confined to that folder: `..`, absolute paths, NUL bytes and symlinks pointing outside all
 * answer 404, the same as a missing file, so probing reveals nothing about the disk.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { ApiApp, ApiContext } from '../context.js';
import { notFound } from '../errors.js';

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

export function imageRoutes(app: ApiApp, ctx: ApiContext): void {
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
