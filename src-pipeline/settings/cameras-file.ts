/**
 * Edits the cameras YAML file `serve` reads, one camera at a time. The whole file is
 * re-validated with the pipeline's own schema (CamerasConfig) before anything is written, so
 * the console can never save a file the pipeline would refuse at its next start. Comments and
 * key order of untouched cameras survive (yaml's Document API), and the write is atomic
 * (temp file + rename) so a crash mid-save leaves the old file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { CamerasConfig, CameraConfig } from '../common/cameras-config.js';
import { AlprError } from '../common/errors.js';

export interface FieldIssue {
  /** Dotted path inside the camera (e.g. `roi`, `width`), or `id` for a clash. */
  path: string;
  message: string;
}

/** A camera as the client sends it (before defaults); validated with CameraConfig. */
export type CameraInput = Record<string, unknown>;

export class CameraValidationError extends AlprError {
  constructor(readonly issues: FieldIssue[]) {
    super('CONFIG_INVALID', issues.map((i) => `${i.path || '(camera)'}: ${i.message}`).join('; '));
  }
}

export class CameraNotFoundError extends AlprError {
  constructor(id: string) {
    super('CONFIG_INVALID', `no camera with id "${id}" in the cameras file`);
  }
}

export class CamerasFile {
  constructor(readonly file: string) {}

  private load(): Document {
    if (!existsSync(this.file)) return parseDocument('cameras: []\n');
    let doc: Document;
    try {
      doc = parseDocument(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new AlprError('CONFIG_INVALID', `${this.file}: cannot read: ${(err as Error).message}`, { cause: err });
    }
    if (doc.errors.length > 0) throw new AlprError('CONFIG_INVALID', `${this.file}: not valid YAML: ${doc.errors[0].message}`);
    if (doc.contents === null) return parseDocument('cameras: []\n');
    return doc;
  }

  /** The cameras in the file, validated (defaults filled in). */
  list(): CameraConfig[] {
    const parsed = CamerasConfig.safeParse(this.load().toJS() ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new AlprError('CONFIG_INVALID', `${this.file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    return parsed.data.cameras;
  }

  /** The cameras exactly as written in the file (no defaults), for the edit form. */
  raw(): CameraInput[] {
    const js = (this.load().toJS() ?? {}) as { cameras?: unknown };
    return Array.isArray(js.cameras) ? (js.cameras as CameraInput[]) : [];
  }

  add(body: CameraInput): CameraConfig {
    const input = stripUndefined(body);
    const cam = validateCamera(input);
    const doc = this.load();
    const seq = camerasSeq(doc);
    if (seq.items.some((item) => idOf(item) === cam.id))
      throw new CameraValidationError([{ path: 'id', message: `a camera with id "${cam.id}" already exists` }]);
    seq.items.push(doc.createNode(input) as (typeof seq.items)[number]);
    this.save(doc);
    return cam;
  }

  /** Replaces camera `id` with `input` (the id may change if the new one is free). */
  update(id: string, body: CameraInput): CameraConfig {
    const input = stripUndefined(body);
    const cam = validateCamera(input);
    const doc = this.load();
    const seq = camerasSeq(doc);
    const index = seq.items.findIndex((item) => idOf(item) === id);
    if (index < 0) throw new CameraNotFoundError(id);
    if (cam.id !== id && seq.items.some((item) => idOf(item) === cam.id))
      throw new CameraValidationError([{ path: 'id', message: `a camera with id "${cam.id}" already exists` }]);
    seq.items[index] = doc.createNode(input) as (typeof seq.items)[number];
    this.save(doc);
    return cam;
  }

  remove(id: string): void {
    const doc = this.load();
    const seq = camerasSeq(doc);
    const index = seq.items.findIndex((item) => idOf(item) === id);
    if (index < 0) throw new CameraNotFoundError(id);
    seq.items.splice(index, 1);
    this.save(doc);
  }

  private save(doc: Document): void {
    // The file as a whole must still load: this catches nothing the per-camera check missed
    // today, but keeps the guarantee if the schema grows file-level rules.
    const parsed = CamerasConfig.safeParse(doc.toJS() ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new CameraValidationError([{ path: i.path.slice(2).join('.'), message: i.message }]);
    }
    const tmp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.tmp`);
    writeFileSync(tmp, doc.toString(), { mode: 0o644 });
    renameSync(tmp, this.file);
  }
}

/** Validates one camera with the pipeline's schema; issues carry the field path. */
export function validateCamera(input: unknown): CameraConfig {
  const parsed = CameraConfig.safeParse(input);
  if (!parsed.success) throw new CameraValidationError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return parsed.data;
}

function camerasSeq(doc: Document) {
  if (!isMap(doc.contents)) throw new AlprError('CONFIG_INVALID', 'the cameras file must be a mapping with a "cameras" list');
  let seq = doc.get('cameras');
  if (seq === undefined || seq === null) {
    doc.set('cameras', doc.createNode([]));
    seq = doc.get('cameras');
  }
  if (!isSeq(seq)) throw new AlprError('CONFIG_INVALID', 'the cameras file\'s "cameras" key must be a list');
  return seq;
}

function idOf(item: unknown): unknown {
  return isMap(item) ? item.get('id') : undefined;
}

function stripUndefined(o: CameraInput): CameraInput {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}
