import type { Frame, FrameSource } from '../../src-pipeline/ingest/index.js';

/** Reads until the source ends or `until` says stop; never holds on to the pixel buffers. */
export async function collect(
  src: FrameSource,
  until?: (f: Frame, n: number) => boolean | Promise<boolean>,
): Promise<Omit<Frame, 'image'>[] & { sizes: string[] }> {
  const out = Object.assign([] as Omit<Frame, 'image'>[], { sizes: [] as string[] });
  for await (const f of src) {
    out.push({ index: f.index, ptsMs: f.ptsMs, capturedAt: f.capturedAt });
    const size = `${f.image.width}x${f.image.height}:${f.image.data.length}`;
    if (!out.sizes.includes(size)) out.sizes.push(size);
    if (until && (await until(f, out.length))) break;
  }
  return out;
}
