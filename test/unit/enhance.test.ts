import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { padConstant, stretchContrast } from '../../src-pipeline/vision/enhance.js';
import { createImage } from '../../src-pipeline/vision/image.js';

describe('stretchContrast', () => {
  it('maps the 1st..99th luma percentiles onto 0..255', () => {
    const img = createImage(100, 1);
    for (let x = 0; x < 100; x++) img.data.fill(100 + Math.floor(x / 2), x * 3, x * 3 + 3); // 100..149
    const out = stretchContrast(img);
    assert.equal(out.data[0], 0);
    assert.equal(out.data[out.data.length - 1], 255);
    // monotonic: order of grey levels is preserved
    for (let x = 1; x < 100; x++) assert.ok(out.data[x * 3] >= out.data[(x - 1) * 3]);
    assert.equal(img.data[0], 100, 'the input is not modified');
  });

  it('leaves a flat image alone instead of amplifying noise', () => {
    const img = createImage(10, 10);
    img.data.fill(77);
    assert.deepEqual(stretchContrast(img).data, img.data);
  });
});

describe('padConstant', () => {
  it('adds a border of the given fractions and value around an unchanged copy', () => {
    const img = createImage(10, 4);
    img.data.fill(9);
    const out = padConstant(img, 0.1, 0.25, 200);
    assert.equal(out.width, 12);
    assert.equal(out.height, 6);
    assert.equal(out.data[0], 200);
    assert.equal(out.data[(1 * 12 + 1) * 3], 9, 'the image starts after one border pixel each way');
    assert.equal(out.data[(4 * 12 + 10) * 3], 9);
    assert.equal(out.data[(5 * 12 + 11) * 3], 200);
  });

  it('defaults to a black border', () => {
    const out = padConstant(createImage(10, 10), 0.2, 0.2);
    assert.equal(out.width, 14);
    assert.ok(out.data.every((v) => v === 0));
  });
});
