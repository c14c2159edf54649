/**
 * Third-party test data and model weights live next to the project in ../shared (see
 * ARCHITECTURE.md). Tests that need them call `requireShared(t)` first. Nothing is skipped
 * silently: in CI (process.env.CI set) a missing folder is a hard failure; on a developer
 * machine the test is skipped with a loud line on stderr saying what is missing and why.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src-pipeline/paths.js';

export function sharedDir(): string {
  return path.resolve(projectRoot(), '..', 'shared');
}

export function sharedDataDir(...parts: string[]): string {
  return path.join(sharedDir(), 'data', ...parts);
}

export function sharedModelsDir(...parts: string[]): string {
  return path.join(sharedDir(), 'models', ...parts);
}

/** The shared folders (and any extra paths inside them) that are not there; empty when all are. */
export function missingShared(extra: readonly string[] = []): string[] {
  return [sharedModelsDir(), sharedDataDir(), ...extra].filter((p) => !existsSync(p));
}

interface Skippable {
  skip(message?: string): void;
}

/**
 * True when ../shared/models, ../shared/data and every `extra` path exist. Otherwise throws
 * when process.env.CI is set; elsewhere prints a loud warning to stderr, calls `t.skip` (when
 * given) and returns false so the caller can return early.
 */
export function requireShared(t?: Skippable, extra: readonly string[] = []): boolean {
  const missing = missingShared(extra);
  if (missing.length === 0) return true;
  const message = `shared test data/models missing: ${missing.join(', ')} (expected next to the project, see ARCHITECTURE.md "Test data and model weights")`;
  if (process.env.CI) throw new Error(`${message}; CI must have them, refusing to skip`);
  process.stderr.write(`\n*** SKIPPED: ${message}\n\n`);
  t?.skip(message);
  return false;
}

/** For `describe(name, { skip: sharedSkip() }, …)`: false when present, else the loud reason (throws in CI). */
export function sharedSkip(extra: readonly string[] = []): false | string {
  return requireShared(undefined, extra) ? false : `shared test data/models missing: ${missingShared(extra).join(', ')}`;
}
