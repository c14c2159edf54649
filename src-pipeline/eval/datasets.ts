/**
 * Labelled datasets for `ovr-alpr eval`: the OpenALPR benchmark layout (`name.jpg` +
 * `name.txt` holding `file x y w h PLATE`, one line per plate), crop folders with a
 * `groundtruth.csv` (`file,region,PLATE`), and box-label folders: an `images/` folder plus a
 * top-level CSV whose header names `image,xmin,ymin,xmax,ymax` and a plate column (one row
 * per plate, several rows per image allowed; an optional readability column).
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
  let samples: Sample[];
  if (existsSync(csv)) samples = loadCrops(dir, csv);
  else {
    const labels = findBoxLabelsCsv(dir);
    samples = labels ? loadBoxLabels(dir, labels.file, labels.header) : loadOpenAlpr(dir);
  }
  if (samples.length === 0) {
    throw new AlprError(
      'DATASET_INVALID',
      `no labelled images in ${dir}: expected name.jpg + name.txt pairs (OpenALPR layout), groundtruth.csv (file,region,PLATE) ` +
        `or images/ with a labels CSV (image,xmin,ymin,xmax,ymax,plate)`,
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

/** Splits one CSV line; double-quoted fields may hold commas and `""` for a quote. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

const IMAGE_COLUMNS = ['image', 'file', 'filename', 'image_name', 'img'];
const BOX_COLUMNS = ['xmin', 'ymin', 'xmax', 'ymax'] as const;
const READABILITY_COLUMNS = ['readability', 'readable', 'legibility'];
/** Readability values meaning "do not expect a read" (the row is skipped); "partial", "uncertain" and the like still count. */
const UNREADABLE = /unreadable|illegible|not readable|^(no|false|0)$/i;

interface BoxLabelsHeader {
  image: number;
  box: Record<(typeof BOX_COLUMNS)[number], number>;
  plate: number;
  readability: number;
}

/** The plate text column: `plate`, else the first column whose name holds "plate", else `text`. */
function plateColumn(names: readonly string[]): number {
  const exact = names.indexOf('plate');
  if (exact >= 0) return exact;
  const holds = names.findIndex((n) => n.includes('plate'));
  return holds >= 0 ? holds : names.indexOf('text');
}

function readHeader(file: string): { names: string[]; line: number } | null {
  const lines = readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const i = lines.findIndex((l) => l.trim() !== '');
  return i < 0 ? null : { names: splitCsvLine(lines[i]).map((n) => n.toLowerCase()), line: i + 1 };
}

/**
 * With an `images/` folder, the top-level CSV (other than groundtruth.csv) whose header names
 * an image column, the four box corners and a plate column. A CSV that names an image column
 * and some but not all of the others is a broken label file: DATASET_INVALID naming what is missing.
 */
function findBoxLabelsCsv(dir: string): { file: string; header: BoxLabelsHeader } | null {
  const images = join(dir, 'images');
  if (!existsSync(images) || !statSync(images).isDirectory()) return null;
  const found: { file: string; header: BoxLabelsHeader }[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (extname(name).toLowerCase() !== '.csv' || name.toLowerCase() === 'groundtruth.csv') continue;
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    const head = readHeader(file);
    if (!head) continue;
    const { names } = head;
    const image = names.findIndex((n) => IMAGE_COLUMNS.includes(n));
    const plate = plateColumn(names);
    const box = Object.fromEntries(BOX_COLUMNS.map((c) => [c, names.indexOf(c)])) as BoxLabelsHeader['box'];
    const known = [plate, ...Object.values(box)].filter((i) => i >= 0).length;
    if (image < 0 || known === 0) continue; // not a label file (some other CSV)
    const missing = [...BOX_COLUMNS.filter((c) => box[c] < 0), ...(plate < 0 ? ['plate'] : [])];
    if (missing.length) {
      throw new AlprError(
        'DATASET_INVALID',
        `${file}:${head.line}: label header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
          `(needs image, xmin, ymin, xmax, ymax and a plate column), got "${names.join(',')}"`,
      );
    }
    found.push({ file, header: { image, box, plate, readability: names.findIndex((n) => READABILITY_COLUMNS.includes(n)) } });
  }
  if (found.length > 1) {
    throw new AlprError('DATASET_INVALID', `${dir}: several label CSVs (${found.map((f) => basename(f.file)).join(', ')}); keep one`);
  }
  return found[0] ?? null;
}

/**
 * One sample per image named in the CSV, in order of first appearance. Rows whose plate text
 * is empty or whose readability says unreadable add no expected plate, but their image is
 * still a sample (with `plates: []` if nothing else is countable) so false reads on it count.
 */
function loadBoxLabels(dir: string, csv: string, h: BoxLabelsHeader): Sample[] {
  const byImage = new Map<string, Sample>();
  const lines = readFileSync(csv, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  let headerSeen = false;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    if (!headerSeen) {
      headerSeen = true;
      return;
    }
    const where = `${csv}:${i + 1}`;
    const cols = splitCsvLine(line);
    const imageName = cols[h.image] ?? '';
    if (!imageName) throw new AlprError('DATASET_INVALID', `${where}: empty image column, got "${line}"`);
    const text = normalizePlate(cols[h.plate] ?? '');
    const readability = h.readability >= 0 ? (cols[h.readability] ?? '') : '';
    const countable = text !== '' && !UNREADABLE.test(readability);
    const raw = BOX_COLUMNS.map((c) => cols[h.box[c]] ?? '');
    const noBox = raw.every((v) => v === '');
    let box: Box | undefined;
    if (!noBox || countable) {
      const [x1, y1, x2, y2] = raw.map((v) => (v === '' ? NaN : Number(v)));
      const bad = BOX_COLUMNS.find((_, k) => !Number.isFinite([x1, y1, x2, y2][k]));
      if (bad) throw new AlprError('DATASET_INVALID', `${where}: column ${bad} is not a number ("${cols[h.box[bad]] ?? ''}"): "${line}"`);
      if (x2 <= x1 || y2 <= y1) throw new AlprError('DATASET_INVALID', `${where}: empty box (xmax <= xmin or ymax <= ymin): "${line}"`);
      box = { x1, y1, x2, y2 };
    }
    let sample = byImage.get(imageName);
    if (!sample) {
      const inImages = join(dir, 'images', imageName);
      const file = existsSync(inImages) || !existsSync(join(dir, imageName)) ? inImages : join(dir, imageName);
      sample = { file, kind: 'scene', plates: [] };
      byImage.set(imageName, sample);
    }
    if (countable) sample.plates.push({ text, box });
  });
  return [...byImage.values()];
}
