/**
 * Evidence export of one event: a zip with the event's images, its metadata as JSON, and a
 * manifest holding the SHA-256 and size of every file, so a recipient can show that nothing
 * was changed after export. The export itself is audited.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { zipSync, type Zippable } from 'fflate';
import type { StoredEvent } from '../../common/plate-event.js';
import { audit, type ApiApp, type ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { EventIdParams } from '../schemas.js';
import { resolveImage } from './images.js';

const IMAGE_FIELDS = [
  ['plate', 'plate_url'],
  ['vehicle', 'vehicle_url'],
  ['frame', 'frame_url'],
] as const;

export interface ManifestEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export interface EvidenceManifest {
  format: 'ovr-alpr-evidence/1';
  event_id: string;
  exported_at: string;
  exported_by: string;
  service_version: string;
  files: ManifestEntry[];
  /** Images the event names that could not be read (deleted by retention, remote and unreachable). */
  missing: { name: string; url: string; reason: string }[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The bytes of a stored image URL: local files under /images/, else http(s) with a short timeout. */
async function loadImage(ctx: ApiContext, url: string): Promise<Uint8Array> {
  const local = url.startsWith('/images/') ? url.slice('/images/'.length) : !/^[a-z]+:/i.test(url) ? url.replace(/^images\//, '') : null;
  if (local !== null) {
    const file = ctx.imagesDir ? await resolveImage(ctx.imagesDir, local) : null;
    if (!file) throw new Error('not in the local images folder (deleted by retention?)');
    return readFile(file);
  }
  if (!/^https?:\/\//i.test(url)) throw new Error('not an http(s) or local image URL');
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`the image server answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function extOf(url: string): string {
  const m = /\.(jpe?g|png|webp)(?:[?#]|$)/i.exec(url);
  return m ? m[1].toLowerCase().replace('jpeg', 'jpg') : 'jpg';
}

/** Builds the zip: event.json, the images, manifest.json (which lists and hashes every other file). */
export async function buildEvidence(
  ctx: ApiContext,
  event: StoredEvent,
  exportedBy: string,
  now = new Date(),
): Promise<{ zip: Uint8Array; manifest: EvidenceManifest }> {
  const files: Zippable = {};
  const manifest: EvidenceManifest = {
    format: 'ovr-alpr-evidence/1',
    event_id: event.event_id,
    exported_at: now.toISOString(),
    exported_by: exportedBy,
    service_version: ctx.version,
    files: [],
    missing: [],
  };
  const add = (name: string, data: Uint8Array) => {
    files[name] = data;
    manifest.files.push({ name, bytes: data.byteLength, sha256: sha256(data) });
  };
  add('event.json', new TextEncoder().encode(`${JSON.stringify(event, null, 2)}\n`));
  for (const [name, field] of IMAGE_FIELDS) {
    const url = event.images[field];
    if (!url) continue;
    try {
      add(`${name}.${extOf(url)}`, await loadImage(ctx, url));
    } catch (err) {
      manifest.missing.push({ name, url, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  files['manifest.json'] = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  // JPEGs do not compress; level 0 keeps the export fast and the bytes as they were.
  return { zip: zipSync(files, { level: 0, mtime: now }), manifest };
}

export function evidenceRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/events/:event_id/evidence.zip',
    {
      schema: {
        summary: 'Evidence export of one event: images, event.json and manifest.json (SHA-256 and size of every file)',
        tags: ['events'],
        params: EventIdParams,
        // No response schemas: the body is a zip (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const event = await ctx.storage.get(req.params.event_id);
      if (!event) throw notFound(`no event with event_id ${req.params.event_id}`);
      const { zip, manifest } = await buildEvidence(ctx, event, ctx.actor);
      await audit(ctx, 'events.export_evidence', {
        event_id: event.event_id,
        files: manifest.files.map((f) => ({ name: f.name, sha256: f.sha256 })),
        missing: manifest.missing.length,
      });
      reply.type('application/zip').header('content-disposition', `attachment; filename="evidence-${event.event_id}.zip"`).header('cache-control', 'no-store');
      return reply.send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
    },
  );
}
