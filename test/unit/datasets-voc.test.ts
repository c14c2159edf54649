/**
 * The third `ovr-alpr eval` layout: an `images/` folder plus a top-level labels CSV naming
 * image, xmin, ymin, xmax, ymax and a plate column (the night-ro folder: VOC boxes exported
 * to `labels_my_reading.csv`), read from temporary folders.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Box } from '../../src-pipeline/common/geometry.js';
import { loadDataset, splitCsvLine } from '../../src-pipeline/eval/datasets.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { assertAlprError } from '../support/assertions.js';

const NIGHT_RO = sharedDataDir('night-ro');

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });

const HEADER = 'image,box_idx,xmin,ymin,xmax,ymax,plate_my_reading,readability';

describe('loadDataset: images/ + labels CSV', () => {
  const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-datasets-voc-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A fresh folder holding the given files (paths may include images/; content as text). */
  function folder(files: Record<string, string>): string {
    const dir = join(root, `d${n++}`);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  const assertInvalid = (fn: () => unknown, ...needles: string[]) => assertAlprError(fn, 'DATASET_INVALID', ...needles);

  it('detects the layout by the CSV header and an images/ folder; several rows per image become one sample', () => {
    const dir = folder({
      'images/a.jpg': 'x',
      'images/b.jpg': 'x',
      'annots/a.xml': '<annotation/>',
      'labels_my_reading.csv':
        `${HEADER}\n` +
        'b.jpg,0,694,442,944,509,TR05RBG,clear\n' +
        'a.jpg,0,678,618,950,695,B97TWD,clear\r\n' +
        'a.jpg,1,324.5,313,411,340.25,b 52-cnw,partial\n' +
        '\n',
    });
    const samples = loadDataset(dir);
    assert.deepEqual(samples, [
      { file: join(dir, 'images', 'b.jpg'), kind: 'scene', plates: [{ text: 'TR05RBG', box: box(694, 442, 944, 509) }] },
      {
        file: join(dir, 'images', 'a.jpg'),
        kind: 'scene',
        plates: [
          { text: 'B97TWD', box: box(678, 618, 950, 695) },
          { text: 'B52CNW', box: box(324.5, 313, 411, 340.25) },
        ],
      },
    ]);
  });

  it('the header may be in any order, quoted, with a BOM; other CSVs without label columns are ignored', () => {
    const dir = folder({
      'images/c.png': 'x',
      'notes.csv': 'when,who\n2024-01-01,me\n',
      'labels.csv': '\uFEFFplate,"ymax",xmax,ymin,xmin,Image\n"AB,1",40,30,20,10,c.png\n',
    });
    assert.deepEqual(loadDataset(dir), [{ file: join(dir, 'images', 'c.png'), kind: 'scene', plates: [{ text: 'AB1', box: box(10, 20, 30, 40) }] }]);
  });

  it('skips unreadable rows and empty plate text, but keeps their image as a sample with no expected plate', () => {
    const dir = folder({
      'images/a.jpg': 'x',
      'images/b.jpg': 'x',
      'images/c.jpg': 'x',
      'labels.csv':
        `${HEADER}\n` +
        'a.jpg,0,1,2,3,4,B111TXS,clear\n' +
        'a.jpg,1,5,6,7,8,B000XXX,unreadable\n' +
        'b.jpg,0,1,2,3,4,B123ABC,Unreadable\n' +
        'c.jpg,0,1,2,3,4,,clear\n' +
        'c.jpg,1,5,6,7,8,B56DUU,dim/blurred - uncertain\n',
    });
    const samples = loadDataset(dir);
    assert.deepEqual(
      samples.map((s) => [s.file, s.plates.map((p) => p.text)]),
      [
        [join(dir, 'images', 'a.jpg'), ['B111TXS']],
        [join(dir, 'images', 'b.jpg'), []],
        [join(dir, 'images', 'c.jpg'), ['B56DUU']],
      ],
    );
  });

  it('an image-only row (no box, no plate) is a negative sample', () => {
    const dir = folder({ 'images/empty.jpg': 'x', 'labels.csv': 'image,xmin,ymin,xmax,ymax,plate\nempty.jpg,,,,,\n' });
    assert.deepEqual(loadDataset(dir), [{ file: join(dir, 'images', 'empty.jpg'), kind: 'scene', plates: [] }]);
  });

  it('a header missing a required column is DATASET_INVALID naming the file and the column', () => {
    const noYmax = folder({ 'images/a.jpg': 'x', 'labels.csv': 'image,xmin,ymin,xmax,plate\na.jpg,1,2,3,AB1\n' });
    assertInvalid(() => loadDataset(noYmax), `${join(noYmax, 'labels.csv')}:1`, 'ymax');
    const noPlate = folder({ 'images/a.jpg': 'x', 'labels.csv': 'image,xmin,ymin,xmax,ymax,readability\na.jpg,1,2,3,4,clear\n' });
    assertInvalid(() => loadDataset(noPlate), `${join(noPlate, 'labels.csv')}:1`, 'plate');
  });

  it('a bad row is DATASET_INVALID naming file:line and the column', () => {
    const dir = folder({ 'images/a.jpg': 'x', 'labels.csv': `${HEADER}\na.jpg,0,1,2,3,4,AB1,clear\na.jpg,1,1,two,3,4,AB2,clear\n` });
    assertInvalid(() => loadDataset(dir), `${join(dir, 'labels.csv')}:3`, 'ymin', 'two');
    const noBox = folder({ 'images/a.jpg': 'x', 'labels.csv': `${HEADER}\na.jpg,0,,,,,AB1,clear\n` });
    assertInvalid(() => loadDataset(noBox), `${join(noBox, 'labels.csv')}:2`, 'xmin');
    const flipped = folder({ 'images/a.jpg': 'x', 'labels.csv': `${HEADER}\na.jpg,0,10,2,3,4,AB1,clear\n` });
    assertInvalid(() => loadDataset(flipped), `${join(flipped, 'labels.csv')}:2`, 'empty box');
    const noImage = folder({ 'images/a.jpg': 'x', 'labels.csv': `${HEADER}\n,0,1,2,3,4,AB1,clear\n` });
    assertInvalid(() => loadDataset(noImage), `${join(noImage, 'labels.csv')}:2`, 'image');
  });

  it('two label CSVs are ambiguous; a header-only CSV has no labelled images', () => {
    const two = folder({ 'images/a.jpg': 'x', 'a.csv': `${HEADER}\n`, 'b.csv': `${HEADER}\n` });
    assertInvalid(() => loadDataset(two), 'a.csv', 'b.csv');
    assertInvalid(() => loadDataset(folder({ 'images/a.jpg': 'x', 'labels.csv': `${HEADER}\n` })), 'no labelled images', 'images/');
  });

  it('groundtruth.csv keeps the crops layout; without images/ a labels CSV is not this layout', () => {
    const crops = folder({ 'images/a.jpg': 'x', 'groundtruth.csv': 'a.png,ak,FUW999\n', 'labels.csv': `${HEADER}\na.jpg,0,1,2,3,4,AB1,clear\n` });
    assert.equal(loadDataset(crops)[0].kind, 'crop');
    const flat = folder({ 'a.jpg': 'x', 'a.txt': 'a.jpg 1 2 3 4 XY1\n', 'labels.csv': `${HEADER}\na.jpg,0,1,2,3,4,AB1,clear\n` });
    assert.deepEqual(loadDataset(flat)[0].plates, [{ text: 'XY1', box: box(1, 2, 4, 6) }]);
  });

  it('splits quoted CSV fields', () => {
    assert.deepEqual(splitCsvLine('a, "b,c" ,"d""e",'), ['a', 'b,c', 'd"e', '']);
  });
});

describe('loadDataset on the real night-ro folder', { skip: sharedSkip([NIGHT_RO]) }, () => {
  it('reads 19 images and 23 plates, all with boxes; two images hold two plates', () => {
    const samples = loadDataset(NIGHT_RO);
    assert.equal(samples.length, 19);
    assert.equal(
      samples.reduce((a, s) => a + s.plates.length, 0),
      23,
    );
    assert.ok(samples.every((s) => s.kind === 'scene' && s.plates.every((p) => p.box && /^[A-Z0-9]+$/.test(p.text))));
    assert.deepEqual(
      samples.find((s) => s.file === join(NIGHT_RO, 'images', 'nightride_t472.jpg'))?.plates.map((p) => p.text),
      ['B198FLN', 'IF18YMH'],
    );
  });
});
