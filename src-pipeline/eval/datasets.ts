/**
 * Labelled datasets for `ovr-alpr eval`: the OpenALPR benchmark layout (`name.jpg` +
 * `name.txt` holding `file x y w h PLATE`, one line per plate) and crop folders with a
 * `groundtruth.csv` (`file,region,PLATE`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { AlprError } from '../common/errors.js';
import { boxFromXywh, type Box } from '../common/geometry.js';
import { normalizePlate } from '../common/plate-text.js';

export interface LabelledPlate {
  text: string;
  box?: Box;
}

export interface Sample {
  file: string;
  kind: 'scene' | 'crop';
  plates: LabelledPlate[];
  region?: string;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXT.has(extname(name).toLowerCase());
}

export function loadDataset(dir: string): Sample[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AlprError('DATASET_INVALID', `dataset folder ${dir} does not exist or is not a folder`);
  }
  const csv = join(dir, 'groundtruth.csv');
  const samples = existsSync(csv) ? loadCrops(dir, csv) : loadOpenAlpr(dir);
  if (samples.length === 0) {
    throw new AlprError(
      'DATASET_INVALID',
      `no labelled images in ${dir}: expected name.jpg + name.txt pairs (OpenALPR layout) or groundtruth.csv (file,region,PLATE)`,
    );
  }
  return samples;
}

function loadCrops(dir: string, csv: string): Sample[] {
  const lines = readFileSync(csv, 'utf8').split(/\r?\n/);
  const samples: Sample[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const cols = line.split(',').map((c) => c.trim());
    if (i === 0 && /^(file|image|filename)$/i.test(cols[0])) return;
    if (cols.length < 3 || !cols[0]) throw new AlprError('DATASET_INVALID', `${csv}:${i + 1}: expected file,region,PLATE, got "${line}"`);
    const text = normalizePlate(cols[2]);
    samples.push({ file: join(dir, cols[0]), kind: 'crop', region: cols[1], plates: [{ text }] });
  });
  return samples;
}

function loadOpenAlpr(dir: string): Sample[] {
  const samples: Sample[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!isImageFile(name)) continue;
    const txt = join(dir, `${basename(name, extname(name))}.txt`);
    if (!existsSync(txt)) continue;
    const plates: LabelledPlate[] = [];
    readFileSync(txt, 'utf8')
      .split(/\r?\n/)
      .forEach((line, i) => {
        if (!line.trim()) return;
        const cols = line.trim().split(/\s+/);
        const [x, y, w, h] = cols.slice(1, 5).map(Number);
        if (cols.length < 6 || [x, y, w, h].some((v) => !Number.isFinite(v))) {
          throw new AlprError('DATASET_INVALID', `${txt}:${i + 1}: expected "file x y w h PLATE", got "${line.trim()}"`);
        }
        plates.push({ text: normalizePlate(cols.slice(5).join('')), box: boxFromXywh(x, y, w, h) });
      });
    samples.push({ file: join(dir, name), kind: 'scene', plates });
  }
  return samples;
}
