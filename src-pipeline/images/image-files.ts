/**
 * File-system steps the local image store and the S3 upload cache share: listing a picture tree
 * and writing a file so that readers see either nothing or the whole of it.
 */
import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export interface TreeFile {
  /** Path below the root, `/`-separated. */
  rel: string;
  bytes: number;
  /** mtime, ms. */
  t: number;
}

/**
 * Plain files under `root` (a missing root has none). `keep` filters by name before a folder is
 * entered or a file counted. Symlinks are neither followed nor counted (Dirent reports them as such).
 */
export async function walkFiles(root: string, keep: (name: string, isDir: boolean) => boolean = () => true): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    let list: Dirent[];
    try {
      list = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw err;
    }
    for (const d of list) {
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (keep(d.name, true)) await visit(join(dir, d.name), childRel);
      } else if (d.isFile() && keep(d.name, false)) {
        const st = await lstat(join(dir, d.name)).catch(() => null);
        if (st?.isFile()) out.push({ rel: childRel, bytes: st.size, t: st.mtimeMs });
      }
    }
  };
  await visit(root, '');
  return out;
}

const makeDir = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true });
};

/**
 * rename() into a day folder, creating it first; retried when a prune or sweep removed the
 * emptied folder between the mkdir and the rename.
 */
export async function renameInto(from: string, to: string, ensureDir: (dir: string) => Promise<void> = makeDir): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await ensureDir(dirname(to));
    try {
      await rename(from, to);
      return;
    } catch (err) {
      if (errno(err) !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/**
 * Writes `data` to `tmp` (which must not exist), then renames it to `target`, so a reader or a
 * crash never sees half a file. The temp file is removed when any step fails.
 */
export async function writeFileAtomic(
  tmp: string,
  target: string,
  data: Buffer,
  opts: { fsync: boolean; mtimeMs?: number; ensureDir?: (dir: string) => Promise<void> },
): Promise<void> {
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      if (opts.fsync) await fh.sync();
      if (opts.mtimeMs !== undefined) await fh.utimes(opts.mtimeMs / 1000, opts.mtimeMs / 1000);
    } finally {
      await fh.close();
    }
    await renameInto(tmp, target, opts.ensureDir);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
