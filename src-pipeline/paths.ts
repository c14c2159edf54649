import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The project (or installed package) root, found by walking up from this file, so the same
 * code works from src/ under tsx and from dist/ after a build.
 */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ovr-alpr-console') return (cachedRoot = dir);
      } catch {
        // an unrelated or broken package.json: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the ovr-alpr-console package root');
    dir = up;
  }
}
