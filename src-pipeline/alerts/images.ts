/**
 * Reads the plate crop behind an event's `plate_url` for email attachments: `/images/…` from the
 * local image folder (never outside it), http(s) URLs (S3/MinIO) with a short deadline.
 */
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { ImageLoader } from './channels/email.js';

const MAX_BYTES = 5 * 1024 * 1024;

export function imageLoader(imagesDir: string | undefined, timeoutMs = 3000): ImageLoader {
  const root = imagesDir ? resolve(imagesDir) : undefined;
  return async (url) => {
    if (url.startsWith('/images/')) {
      if (!root) return null;
      const file = resolve(root, decodeURIComponent(url.slice('/images/'.length)));
      if (!file.startsWith(root + sep)) return null;
      const buf = await readFile(file).catch(() => null);
      return buf && buf.length <= MAX_BYTES ? buf : null;
    }
    if (/^https?:\/\//.test(url)) {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => null);
      if (!res?.ok) return null;
      const buf = Buffer.from(await res.arrayBuffer());
      return buf.length <= MAX_BYTES ? buf : null;
    }
    return null;
  };
}
