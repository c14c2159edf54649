/**
 * `ovr-alpr eval` bookkeeping: matching reads to labels, the summary maths, and the two
 * dataset layouts read from temporary folders.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box } from '../../src-pipeline/common/geometry.js';
import { isImageFile, loadDataset } from '../../src-pipeline/eval/datasets.js';
import { IOU_MATCH, median, percentile, scoreSample, summarize, type SampleOutcome } from '../../src-pipeline/eval/metrics.js';
import { assertAlprError } from '../support/assertions.js';

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });

describe('scoreSample with boxes', () => {
  const label = { text: 'ABC123', box: box(100, 100, 200, 150) };

  it('matches a read by IoU and counts it exact, folded, detected', () => {
    const o = scoreSample('a.jpg', [label], [{ text: 'ABC123', confidence: 0.9, box: box(105, 102, 205, 152) }], 12);
    assert.equal(o.exact, 1);
    assert.equal(o.folded, 1);
    assert.equal(o.detected, 1);
    assert.equal(o.boxesLabelled, 1);
    assert.equal(o.falseReads, 0);
    assert.deepEqual(o.matched, ['ABC123']);
    assert.equal(o.charsCorrect, 6);
    assert.equal(o.charsTotal, 6);
    assert.equal(o.ms, 12);
  });

  it('a wrong read at the box is detected but not exact; chars count by edit distance', () => {
    const o = scoreSample('a.jpg', [label], [{ text: 'ABC128', confidence: 0.9, box: box(100, 100, 200, 150) }], 1);
    assert.equal(o.detected, 1);
    assert.equal(o.exact, 0);
    assert.equal(o.folded, 0);
    assert.deepEqual(o.matched, ['ABC128']);
    assert.equal(o.charsCorrect, 5);
    assert.equal(o.falseReads, 0);
  });

  it('needs IoU ≥ 0.3 to match by box', () => {
    // Same height, shifted right: IoU = overlap / union. 60 px of 100 → 60*50 / (2*5000 - 3000) ≈ 0.43
    const near = scoreSample('a.jpg', [label], [{ text: 'XYZ', confidence: 0.9, box: box(140, 100, 240, 150) }], 1);
    assert.equal(near.detected, 1);
    // 30 px of 100 → 1500 / 8500 ≈ 0.18 < IOU_MATCH
    const far = scoreSample('a.jpg', [label], [{ text: 'XYZ', confidence: 0.9, box: box(170, 100, 270, 150) }], 1);
    assert.ok(IOU_MATCH === 0.3);
    assert.equal(far.detected, 0);
    assert.deepEqual(far.matched, ['']);
    assert.equal(far.falseReads, 1);
    assert.equal(far.charsCorrect, 0);
  });

  it('a read elsewhere with the right text still counts as read (not detected)', () => {
    const o = scoreSample('a.jpg', [label], [{ text: 'ABC123', confidence: 0.9, box: box(500, 500, 600, 550) }], 1);
    assert.equal(o.exact, 1);
    assert.equal(o.detected, 0);
    assert.equal(o.falseReads, 0);
  });

  it('prefers the right text elsewhere over a wrong read at the box; the wrong one is a false read', () => {
    const o = scoreSample(
      'a.jpg',
      [label],
      [
        { text: 'ABC12', confidence: 0.9, box: box(100, 100, 200, 150) },
        { text: 'ABC123', confidence: 0.8, box: box(500, 500, 600, 550) },
      ],
      1,
    );
    assert.equal(o.exact, 1);
    assert.equal(o.detected, 1);
    assert.deepEqual(o.matched, ['ABC123']);
    assert.equal(o.falseReads, 1);
  });

  it('counts reads that match no label as false reads', () => {
    const o = scoreSample(
      'a.jpg',
      [label],
      [
        { text: 'ABC123', confidence: 0.9, box: box(100, 100, 200, 150) },
        { text: 'TOYOTA', confidence: 0.7, box: box(300, 300, 400, 330) },
        { text: '0140428', confidence: 0.7 },
      ],
      1,
    );
    assert.equal(o.exact, 1);
    assert.equal(o.falseReads, 2);
    assert.deepEqual(o.read, ['ABC123', 'TOYOTA', '0140428']);
  });

  it('folded comparison treats O/0 and I/1 alike, but not other look-alikes', () => {
    const l = { text: 'HL0KTY1', box: box(0, 0, 100, 50) };
    const o = scoreSample('a.jpg', [l], [{ text: 'HLOKTYI', confidence: 0.9, box: box(0, 0, 100, 50) }], 1);
    assert.equal(o.exact, 0);
    assert.equal(o.folded, 1);
    const b8 = scoreSample('a.jpg', [{ text: '5DJ0529', box: box(0, 0, 100, 50) }], [{ text: 'BDJ0529', confidence: 0.9, box: box(0, 0, 100, 50) }], 1);
    assert.equal(b8.folded, 0, 'B/5 are not folded');
  });

  it('matches two labels to two reads, each read used once', () => {
    const labels = [
      { text: 'AAA111', box: box(0, 0, 100, 50) },
      { text: 'BBB222', box: box(300, 0, 400, 50) },
    ];
    const o = scoreSample(
      'a.jpg',
      labels,
      [
        { text: 'BBB222', confidence: 0.9, box: box(302, 1, 401, 50) },
        { text: 'AAA111', confidence: 0.9, box: box(1, 1, 99, 49) },
      ],
      1,
    );
    assert.deepEqual(o.matched, ['AAA111', 'BBB222']);
    assert.equal(o.exact, 2);
    assert.equal(o.detected, 2);
    assert.equal(o.falseReads, 0);
  });

  it('no reads: everything missed', () => {
    const o = scoreSample('a.jpg', [label], [], 1);
    assert.deepEqual(o.matched, ['']);
    assert.equal(o.exact + o.folded + o.detected + o.falseReads + o.charsCorrect, 0);
    assert.equal(o.charsTotal, 6);
  });
});

describe('scoreSample without boxes (crops)', () => {
  it('picks the most confident read', () => {
    const o = scoreSample(
      'c.png',
      [{ text: 'FUW999' }],
      [
        { text: 'FUW99', confidence: 0.6 },
        { text: 'FUW999', confidence: 0.95 },
        { text: 'EUW999', confidence: 0.7 },
      ],
      3,
    );
    assert.deepEqual(o.matched, ['FUW999']);
    assert.equal(o.exact, 1);
    assert.equal(o.boxesLabelled, 0);
    assert.equal(o.detected, 0);
    assert.equal(o.falseReads, 2);
  });

  it('an empty read list is a miss', () => {
    const o = scoreSample('c.png', [{ text: 'FUW999' }], [], 3);
    assert.deepEqual(o.matched, ['']);
    assert.equal(o.exact, 0);
  });
});

describe('median and percentile', () => {
  it('interpolate linearly between sorted values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.equal(median([]), 0);
    const xs = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
    assert.ok(Math.abs(percentile(xs, 0.95) - 19.05) < 1e-9); // pos 18.05 between 19 and 20
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile(xs, 1), 20);
    assert.deepEqual(xs[0], 20, 'input not sorted in place');
  });
});

describe('summarize', () => {
  const base: SampleOutcome = {
    file: '',
    expected: [],
    read: [],
    matched: [],
    exact: 0,
    folded: 0,
    detected: 0,
    boxesLabelled: 0,
    falseReads: 0,
    charsCorrect: 0,
    charsTotal: 0,
    ms: 0,
  };

  it('computes rates over labelled plates and images', () => {
    const outcomes: SampleOutcome[] = [
      {
        ...base,
        file: 'a',
        expected: ['A', 'B'],
        exact: 1,
        folded: 2,
        detected: 2,
        boxesLabelled: 2,
        falseReads: 1,
        charsCorrect: 10,
        charsTotal: 12,
        ms: 100,
      },
      { ...base, file: 'b', expected: ['C'], exact: 1, folded: 1, detected: 0, boxesLabelled: 1, charsCorrect: 6, charsTotal: 6, ms: 300 },
      { ...base, file: 'c', expected: ['D'], exact: 0, folded: 0, boxesLabelled: 1, charsTotal: 7, ms: 200 },
    ];
    const s = summarize('/data/x', outcomes);
    assert.equal(s.dataset, '/data/x');
    assert.equal(s.images, 3);
    assert.equal(s.total, 4);
    assert.equal(s.exact, 2);
    assert.equal(s.exact_rate, 0.5);
    assert.equal(s.folded, 3);
    assert.equal(s.folded_rate, 0.75);
    assert.equal(s.char_accuracy, 0.64); // 16 / 25
    assert.equal(s.detection_recall, 0.5); // 2 / 4
    assert.equal(s.false_reads, 1);
    assert.equal(s.false_reads_per_image, 0.3333);
    assert.equal(s.errors, 0);
    assert.equal(s.median_ms, 200);
    assert.equal(s.p95_ms, 290); // pos 1.9 between 200 and 300
  });

  it('detection_recall is null without boxes; errored samples count as errors, not as time', () => {
    const s = summarize('crops', [
      { ...base, expected: ['A'], exact: 1, folded: 1, charsCorrect: 1, charsTotal: 1, ms: 40 },
      { ...base, expected: ['B'], charsTotal: 1, ms: 0, error: 'cannot decode' },
    ]);
    assert.equal(s.detection_recall, null);
    assert.equal(s.errors, 1);
    assert.equal(s.median_ms, 40);
    assert.equal(s.exact_rate, 0.5);
  });

  it('an empty run is all zeros, not NaN', () => {
    const s = summarize('empty', []);
    assert.equal(s.total, 0);
    assert.equal(s.exact_rate, 0);
    assert.equal(s.char_accuracy, 0);
    assert.equal(s.false_reads_per_image, 0);
    assert.equal(s.detection_recall, null);
    assert.equal(s.median_ms, 0);
  });
});

describe('loadDataset', () => {
  const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-datasets-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A fresh folder holding the given files (content as text; images need not be real here). */
  function folder(files: Record<string, string>): string {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  const assertInvalid = (fn: () => unknown, ...needles: string[]) => assertAlprError(fn, 'DATASET_INVALID', ...needles);

  it('knows image extensions', () => {
    assert.ok(isImageFile('a.JPG') && isImageFile('b.png') && isImageFile('c.jpeg'));
    assert.ok(!isImageFile('a.txt') && !isImageFile('groundtruth.csv') && !isImageFile('jpg'));
  });

  it('reads the OpenALPR layout: tab or space separated, multi-plate files, images without labels skipped', () => {
    const dir = folder({
      'car1.jpg': 'x',
      'car1.txt': 'car1.jpg\t243\t356\t115\t57\t627WWI\n',
      'two.jpg': 'x',
      'two.txt': 'two.jpg 10 20 30 40 ab-123\r\ntwo.jpg   300 20 30 40   XY 99 Z\n\n',
      'nolabel.jpg': 'x',
      'notes.txt': 'not a label',
    });
    const samples = loadDataset(dir);
    assert.deepEqual(
      samples.map((s) => s.file),
      [join(dir, 'car1.jpg'), join(dir, 'two.jpg')],
    );
    assert.equal(samples[0].kind, 'scene');
    assert.deepEqual(samples[0].plates, [{ text: '627WWI', box: box(243, 356, 358, 413) }]);
    assert.deepEqual(samples[1].plates, [
      { text: 'AB123', box: box(10, 20, 40, 60) },
      { text: 'XY99Z', box: box(300, 20, 330, 60) },
    ]);
  });

  it('reads a crops folder from groundtruth.csv, with or without a header', () => {
    const withHeader = folder({ 'groundtruth.csv': 'file,state,plate\nak1165.png,ak,FUW999\n\nal1156.png, al , 6a5730a\n' });
    const s1 = loadDataset(withHeader);
    assert.deepEqual(s1, [
      { file: join(withHeader, 'ak1165.png'), kind: 'crop', region: 'ak', plates: [{ text: 'FUW999' }] },
      { file: join(withHeader, 'al1156.png'), kind: 'crop', region: 'al', plates: [{ text: '6A5730A' }] },
    ]);
    const noHeader = folder({ 'groundtruth.csv': 'ak1165.png,ak,FUW999\r\nal1156.png,al,6A5730A' });
    const s2 = loadDataset(noHeader);
    assert.equal(s2.length, 2);
    assert.equal(s2[0].plates[0].text, 'FUW999');
    assert.ok(s2.every((s) => s.kind === 'crop' && s.plates[0].box === undefined));
  });

  it('a malformed label line is DATASET_INVALID naming file:line', () => {
    const dir = folder({ 'a.jpg': 'x', 'a.txt': 'a.jpg 1 2 3 4 OK1\na.jpg 1 2 three 4 BAD\n' });
    assertInvalid(() => loadDataset(dir), `${join(dir, 'a.txt')}:2`, 'three');
    const short = folder({ 'b.jpg': 'x', 'b.txt': 'b.jpg 1 2 3 4\n' });
    assertInvalid(() => loadDataset(short), `${join(short, 'b.txt')}:1`);
  });

  it('a malformed csv row is DATASET_INVALID naming file:line', () => {
    const dir = folder({ 'groundtruth.csv': 'file,state,plate\nak1165.png,ak,FUW999\nbroken-row\n' });
    assertInvalid(() => loadDataset(dir), `${join(dir, 'groundtruth.csv')}:3`, 'broken-row');
  });

  it('an empty folder, a folder without labels or a missing folder is DATASET_INVALID', () => {
    const empty = folder({});
    assertInvalid(() => loadDataset(empty), empty, 'groundtruth.csv');
    assertInvalid(() => loadDataset(folder({ 'a.jpg': 'x' })), 'no labelled images');
    assertInvalid(() => loadDataset(folder({ 'groundtruth.csv': 'file,state,plate\n' })), 'no labelled images');
    const missing = join(root, 'does-not-exist');
    assertInvalid(() => loadDataset(missing), missing);
    assertInvalid(() => loadDataset(join(folder({ 'f.txt': '' }), 'f.txt')), 'not a folder');
  });
});
