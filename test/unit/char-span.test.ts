import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignedRow, connectedComponents, findCharSpan, type Component } from '../../src-pipeline/vision/char-span.js';
import { createImage, type RgbImage } from '../../src-pipeline/vision/image.js';

/** A light plate with dark filled rectangles standing in for glyphs. */
function plate(width: number, height: number, glyphs: { x: number; y: number; w: number; h: number }[]): RgbImage {
  const img = createImage(width, height);
  img.data.fill(230);
  for (const g of glyphs) {
    for (let y = g.y; y < g.y + g.h; y++) {
      for (let x = g.x; x < g.x + g.w; x++) {
        const o = (y * width + x) * 3;
        img.data[o] = img.data[o + 1] = img.data[o + 2] = 20;
      }
    }
  }
  return img;
}

describe('connectedComponents', () => {
  it('labels 8-connected blobs with their bounding boxes and areas', () => {
    // Two blobs: a 2x2 square, and a diagonal pair that touches only at a corner.
    const w = 6;
    const mask = new Uint8Array(w * 4);
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [4, 2],
      [5, 3],
    ])
      mask[y * w + x] = 1;
    const comps = connectedComponents(mask, w, 4);
    assert.equal(comps.length, 2);
    assert.deepEqual(comps[0], { x1: 0, y1: 0, x2: 1, y2: 1, area: 4 });
    assert.deepEqual(comps[1], { x1: 4, y1: 2, x2: 5, y2: 3, area: 2 });
  });

  it('returns nothing for an empty mask', () => {
    assert.deepEqual(connectedComponents(new Uint8Array(9), 3, 3), []);
  });
});

describe('alignedRow', () => {
  const c = (x1: number, y1: number, x2: number, y2: number): Component => ({ x1, y1, x2, y2, area: (x2 - x1 + 1) * (y2 - y1 + 1) });

  it('keeps same-height blobs on one line and drops half-height stacked letters', () => {
    const main = [c(20, 10, 30, 50), c(35, 10, 45, 50), c(50, 11, 60, 51), c(65, 10, 75, 50)];
    const stacked = [c(5, 10, 12, 28), c(5, 32, 12, 50)];
    const row = alignedRow([...stacked, ...main]);
    assert.deepEqual(row.comps, main);
    assert.equal(row.height, 41);
  });

  it('lets a slightly shorter glyph of the same line join (a dash-separated group)', () => {
    const main = [c(0, 10, 10, 50), c(15, 10, 25, 50), c(30, 10, 40, 50)];
    const shorter = c(60, 14, 70, 48); // 35 px: 85% of 41
    assert.equal(alignedRow([...main, shorter]).comps.length, 4);
  });

  it('is empty for no blobs', () => {
    assert.deepEqual(alignedRow([]), { comps: [], height: 0 });
  });
});

describe('findCharSpan', () => {
  it('spans the main characters and leaves stacked small letters and state text out', () => {
    const glyphs = [
      // stacked small letters at the left edge
      { x: 8, y: 22, w: 10, h: 16 },
      { x: 8, y: 42, w: 10, h: 16 },
      // six main characters
      ...[0, 1, 2, 3, 4, 5].map((i) => ({ x: 40 + i * 36, y: 18, w: 22, h: 44 })),
      // a thin line of "state name" text at the top: too short to be a character
      { x: 60, y: 3, w: 150, h: 6 },
    ];
    const img = plate(280, 80, glyphs);
    const span = findCharSpan(img);
    assert.ok(span, 'a span is found');
    assert.equal(span.count, 6);
    assert.ok(Math.abs(span.box.x1 - 40) <= 2, `x1 ${span.box.x1}`);
    assert.ok(Math.abs(span.box.x2 - (40 + 5 * 36 + 22)) <= 2, `x2 ${span.box.x2}`);
    assert.ok(Math.abs(span.box.y1 - 18) <= 2 && Math.abs(span.box.y2 - 62) <= 2, `y ${span.box.y1}..${span.box.y2}`);
    assert.ok(Math.abs(span.charHeight - 44) <= 2);
  });

  it('finds light characters on a dark plate too', () => {
    const img = plate(
      200,
      60,
      [0, 1, 2, 3].map((i) => ({ x: 30 + i * 36, y: 12, w: 20, h: 36 })),
    );
    // invert: dark plate, light glyphs
    for (let i = 0; i < img.data.length; i++) img.data[i] = 255 - img.data[i];
    const span = findCharSpan(img);
    assert.ok(span);
    assert.equal(span.count, 4);
  });

  it('returns null when fewer than three characters line up', () => {
    assert.equal(
      findCharSpan(
        plate(200, 60, [
          { x: 30, y: 10, w: 20, h: 40 },
          { x: 70, y: 10, w: 20, h: 40 },
        ]),
      ),
      null,
    );
    assert.equal(findCharSpan(plate(120, 40, [])), null);
  });
});
