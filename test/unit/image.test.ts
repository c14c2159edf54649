import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createImage,
  cropImage,
  letterboxParams,
  letterboxToTensor,
  meanLuma,
  resizeImage,
  unletterboxBox,
  unletterboxPoint,
  type RgbImage,
  type TensorSpec,
} from '../../src-pipeline/vision/image.js';

/** Builds an image whose pixel (x, y) is fn(x, y) = [r, g, b]. */
function makeImage(width: number, height: number, fn: (x: number, y: number) => [number, number, number]): RgbImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set(fn(x, y), (y * width + x) * 3);
  return img;
}

const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

function closeTo(actual: number, expected: number, eps: number, what = 'value') {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: expected ${expected}, got ${actual}`);
}

describe('createImage', () => {
  it('allocates packed RGB, zeroed', () => {
    const img = createImage(5, 3);
    assert.equal(img.data.length, 45);
    assert.ok(img.data.every((v) => v === 0));
  });
});

describe('letterboxParams', () => {
  it('centres a landscape image vertically', () => {
    // 1280x720 → 640: scale 0.5, scaled 640x360, pad (640 - 360) / 2 = 140
    assert.deepEqual(letterboxParams(1280, 720, 640, true), { scale: 0.5, size: 640, padX: 0, padY: 140 });
  });

  it('centres a portrait image horizontally', () => {
    // 300x600 → 320: scale 320/600, scaled 160x320, pad 80
    const lb = letterboxParams(300, 600, 320, true);
    assert.equal(lb.scale, 320 / 600);
    assert.equal(lb.padX, 80);
    assert.equal(lb.padY, 0);
  });

  it('puts the image in the top-left corner when not centred', () => {
    assert.deepEqual(letterboxParams(1280, 720, 640, false), { scale: 0.5, size: 640, padX: 0, padY: 0 });
    assert.deepEqual(letterboxParams(300, 600, 320, false), { scale: 320 / 600, size: 320, padX: 0, padY: 0 });
  });

  it('floors an odd padding and upscales small images', () => {
    // 64x33 → 64: scale 1, 31 rows of padding → 15 on top
    assert.deepEqual(letterboxParams(64, 33, 64, true), { scale: 1, size: 64, padX: 0, padY: 15 });
    // 20x10 → 64: scale 3.2, scaled 64x32, pad 16
    assert.deepEqual(letterboxParams(20, 10, 64, true), { scale: 3.2, size: 64, padX: 0, padY: 16 });
  });

  it('leaves a square image unpadded', () => {
    assert.deepEqual(letterboxParams(100, 100, 50, true), { scale: 0.5, size: 50, padX: 0, padY: 0 });
  });
});

describe('letterboxToTensor', () => {
  // 8x4 image into an 8x8 tensor: scale 1 (no resampling), so every value is predictable.
  const src = makeImage(8, 4, (x, y) => [10 * x + y, 100 + y, 250 - x]);
  const plane = 64;
  const at = (t: Float32Array, c: number, x: number, y: number) => t[c * plane + y * 8 + x];

  it('centre: image rows 2..5, padding above and below, RGB order, scale only', () => {
    const spec: TensorSpec = { size: 8, centre: true, order: 'rgb', scale: 1 / 255, padValue: 114 };
    const { tensor, lb } = letterboxToTensor(src, spec);
    assert.equal(tensor.length, 3 * plane);
    assert.deepEqual(lb, { scale: 1, size: 8, padX: 0, padY: 2 });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          const inside = y >= 2 && y < 6;
          const expected = inside ? px(src, x, y - 2)[c] / 255 : 114 / 255;
          closeTo(at(tensor, c, x, y), expected, 1e-6, `c${c} (${x},${y})`);
        }
      }
    }
  });

  it('top-left: image rows 0..3, padding below', () => {
    const { tensor, lb } = letterboxToTensor(src, { size: 8, centre: false, order: 'rgb', scale: 1, padValue: 0 });
    assert.equal(lb.padY, 0);
    assert.equal(at(tensor, 0, 7, 3), 73);
    assert.equal(at(tensor, 1, 0, 3), 103);
    assert.equal(at(tensor, 2, 5, 0), 245);
    for (let c = 0; c < 3; c++) for (let y = 4; y < 8; y++) for (let x = 0; x < 8; x++) assert.equal(at(tensor, c, x, y), 0);
  });

  it('BGR order puts blue in the first plane', () => {
    const { tensor } = letterboxToTensor(src, { size: 8, centre: false, order: 'bgr', scale: 1, padValue: 0 });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 8; x++) {
        const [r, g, b] = px(src, x, y);
        assert.equal(at(tensor, 0, x, y), b);
        assert.equal(at(tensor, 1, x, y), g);
        assert.equal(at(tensor, 2, x, y), r);
      }
    }
  });

  it('applies (pixel * scale - mean) / std per tensor channel, padding included', () => {
    const mean: [number, number, number] = [0.485, 0.456, 0.406];
    const std: [number, number, number] = [0.229, 0.224, 0.225];
    const spec: TensorSpec = { size: 8, centre: true, order: 'bgr', scale: 1 / 255, mean, std, padValue: 127 };
    const { tensor } = letterboxToTensor(src, spec);
    const srcCh = [2, 1, 0];
    for (let c = 0; c < 3; c++) {
      closeTo(at(tensor, c, 3, 0), (127 / 255 - mean[c]) / std[c], 1e-5, `pad c${c}`);
      closeTo(at(tensor, c, 7, 7), (127 / 255 - mean[c]) / std[c], 1e-5, `pad c${c}`);
      for (const [x, y] of [
        [0, 0],
        [7, 3],
        [4, 1],
      ]) {
        const v = px(src, x, y)[srcCh[c]];
        closeTo(at(tensor, c, x, y + 2), (v / 255 - mean[c]) / std[c], 1e-5, `c${c} (${x},${y})`);
      }
    }
    // a sanity number: blue 250 of pixel (0, 0) in plane 0 → (250/255 - 0.485) / 0.229
    closeTo(at(tensor, 0, 0, 2), 2.16328, 1e-4);
  });

  it('resizes into the letterbox: constant image fills exactly the scaled area', () => {
    const img = makeImage(40, 20, () => [200, 100, 50]);
    const { tensor, lb } = letterboxToTensor(img, { size: 16, centre: true, order: 'rgb', scale: 1, padValue: 0 });
    assert.deepEqual(lb, { scale: 0.4, size: 16, padX: 0, padY: 4 });
    const S = 16;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const v = tensor[c * S * S + y * S + x];
          assert.equal(v, y >= 4 && y < 12 ? [200, 100, 50][c] : 0, `c${c} (${x},${y})`);
        }
      }
    }
  });
});

describe('unletterboxBox / unletterboxPoint', () => {
  const forward = (v: number, pad: number, scale: number) => v * scale + pad;

  it('inverts the letterbox mapping (centre and top-left)', () => {
    for (const centre of [true, false]) {
      for (const [w, h] of [
        [1280, 720],
        [300, 600],
        [333, 777],
      ]) {
        const lb = letterboxParams(w, h, 640, centre);
        const box = { x1: 12.5, y1: 40, x2: w - 3, y2: h / 2 };
        const inTensor = {
          x1: forward(box.x1, lb.padX, lb.scale),
          y1: forward(box.y1, lb.padY, lb.scale),
          x2: forward(box.x2, lb.padX, lb.scale),
          y2: forward(box.y2, lb.padY, lb.scale),
        };
        const back = unletterboxBox(inTensor, lb);
        for (const k of ['x1', 'y1', 'x2', 'y2'] as const) closeTo(back[k], box[k], 1e-9, `${w}x${h} ${centre} ${k}`);
        const p = unletterboxPoint(inTensor.x2, inTensor.y1, lb);
        closeTo(p.x, box.x2, 1e-9);
        closeTo(p.y, box.y1, 1e-9);
      }
    }
  });

  it('maps concrete numbers', () => {
    const lb = letterboxParams(1280, 720, 640, true); // scale 0.5, padY 140
    assert.deepEqual(unletterboxBox({ x1: 0, y1: 140, x2: 640, y2: 500 }, lb), { x1: 0, y1: 0, x2: 1280, y2: 720 });
    assert.deepEqual(unletterboxPoint(320, 320, lb), { x: 640, y: 360 });
  });
});

describe('resizeImage', () => {
  it('keeps a constant image constant, up and down', () => {
    const img = makeImage(37, 23, () => [12, 200, 255]);
    for (const [w, h] of [
      [74, 46],
      [50, 9],
      [10, 10],
      [5, 3],
      [1, 1],
      [100, 1],
    ]) {
      const out = resizeImage(img, w, h);
      assert.equal(out.width, w);
      assert.equal(out.height, h);
      assert.equal(out.data.length, w * h * 3);
      for (let i = 0; i < out.data.length; i += 3) assert.deepEqual([out.data[i], out.data[i + 1], out.data[i + 2]], [12, 200, 255], `${w}x${h} at ${i / 3}`);
    }
  });

  it('returns a copy of the same size', () => {
    const img = makeImage(6, 4, (x, y) => [x, y, x + y]);
    const out = resizeImage(img, 6, 4);
    assert.notEqual(out, img);
    assert.notEqual(out.data, img.data);
    assert.deepEqual(out, img);
    out.data[0] = 99;
    assert.equal(img.data[0], 0, 'the copy must not share memory with the input');
  });

  it('upscales a linear gradient with pixel-centre bilinear sampling (OpenCV INTER_LINEAR)', () => {
    // R = 10x + 5 along x, G = 10y + 5 along y, B constant.
    const img = makeImage(10, 6, (x, y) => [10 * x + 5, 10 * y + 5, 77]);
    const out = resizeImage(img, 20, 12);
    const srcCoord = (o: number, n: number) => Math.min(Math.max((o + 0.5) * 0.5 - 0.5, 0), n - 1);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 20; x++) {
        const [r, g, b] = px(out, x, y);
        assert.equal(r, Math.round(10 * srcCoord(x, 10) + 5), `R at (${x},${y})`);
        assert.equal(g, Math.round(10 * srcCoord(y, 6) + 5), `G at (${x},${y})`);
        assert.equal(b, 77);
      }
    }
    // spot values: x = 3 samples source 1.25 → 17.5 → 18; the last column clamps to 95
    assert.deepEqual(px(out, 3, 0), [18, 5, 77]);
    assert.deepEqual(px(out, 19, 11), [95, 55, 77]);
  });

  it('downscales by a non-integer factor without leaving the value range', () => {
    // 9 → 6 wide: source x = 1.5x + 0.25, R = 15x + 7.5 exactly (no clamping needed)
    const img = makeImage(9, 9, (x, y) => [10 * x + 5, 250 - 20 * y, 128]);
    const out = resizeImage(img, 6, 6);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const [r, g] = px(out, x, y);
        assert.equal(r, Math.round(15 * x + 7.5), `R at (${x},${y})`);
        assert.equal(g, Math.round(250 - 20 * (1.5 * y + 0.25)), `G at (${x},${y})`);
      }
    }
  });

  it('box-averages before shrinking by 2x or more, staying monotonic and in range', () => {
    const img = makeImage(64, 32, (x, y) => [4 * x, 8 * y, (x + y) % 2 ? 255 : 0]);
    const out = resizeImage(img, 16, 8);
    assert.equal(out.width, 16);
    assert.equal(out.height, 8);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) {
        const [r, g, b] = px(out, x, y);
        // exact 4x box average of a linear ramp: mean of 4x..4x+3 times 4
        assert.equal(r, Math.round(4 * (4 * x + 1.5)), `R at (${x},${y})`);
        assert.equal(g, Math.round(8 * (4 * y + 1.5)), `G at (${x},${y})`);
        // a 1-pixel checkerboard averages to mid-grey instead of aliasing to 0 or 255
        assert.ok(b >= 126 && b <= 129, `B at (${x},${y}) = ${b}`);
      }
    }
    for (let x = 1; x < 16; x++) assert.ok(px(out, x, 0)[0] > px(out, x - 1, 0)[0]);
  });

  it('rounds the 2x2 box average half up', () => {
    // 4x2 → 2x1 is exactly one halving, so the output is the 2x2 block averages.
    const R = [
      [1, 1, 1, 0],
      [1, 0, 1, 0],
    ]; // block sums 3 (0.75 → 1) and 2 (0.5 → 1)
    const G = [
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]; // block sums 1 (0.25 → 0) and 0
    const B = [
      [255, 255, 255, 255],
      [255, 255, 255, 254],
    ]; // block sums 1020 → 255 and 1019 (254.75 → 255)
    const img = makeImage(4, 2, (x, y) => [R[y][x], G[y][x], B[y][x]]);
    const out = resizeImage(img, 2, 1);
    assert.deepEqual(px(out, 0, 0), [1, 0, 255]);
    assert.deepEqual(px(out, 1, 0), [1, 0, 255]);
  });

  it('keeps a random image within its value range', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const img = makeImage(31, 17, () => [50 + (rnd() % 100), 50 + (rnd() % 100), 50 + (rnd() % 100)]);
    for (const [w, h] of [
      [97, 41],
      [13, 7],
      [7, 3],
    ]) {
      const out = resizeImage(img, w, h);
      for (const v of out.data) assert.ok(v >= 50 && v <= 149, `${w}x${h}: ${v} out of range`);
    }
  });

  it('returns an empty image for a zero size instead of hanging', () => {
    const img = makeImage(8, 8, () => [1, 2, 3]);
    const out = resizeImage(img, 0, 0);
    assert.equal(out.width, 0);
    assert.equal(out.height, 0);
    assert.equal(out.data.length, 0);
  });
});

describe('cropImage', () => {
  const img = makeImage(10, 8, (x, y) => [x, y, 100 + x + 10 * y]);

  it('copies an integer box exactly', () => {
    const out = cropImage(img, { x1: 2, y1: 3, x2: 5, y2: 7 });
    assert.equal(out.width, 3);
    assert.equal(out.height, 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) assert.deepEqual(px(out, x, y), px(img, x + 2, y + 3));
  });

  it('grows a fractional box outwards (floor the start, ceil the end)', () => {
    const out = cropImage(img, { x1: 2.7, y1: 3.2, x2: 4.1, y2: 5.9 });
    assert.equal(out.width, 3); // columns 2, 3, 4
    assert.equal(out.height, 3); // rows 3, 4, 5
    assert.deepEqual(px(out, 0, 0), px(img, 2, 3));
    assert.deepEqual(px(out, 2, 2), px(img, 4, 5));
  });

  it('clamps a box that sticks out of the image', () => {
    const out = cropImage(img, { x1: -5, y1: 6, x2: 3, y2: 20 });
    assert.equal(out.width, 3);
    assert.equal(out.height, 2);
    assert.deepEqual(px(out, 0, 0), px(img, 0, 6));
    assert.deepEqual(px(out, 2, 1), px(img, 2, 7));
    const all = cropImage(img, { x1: -100, y1: -100, x2: 100, y2: 100 });
    assert.deepEqual(all, img);
  });

  it('yields at least 1x1 (the nearest edge pixel) for empty or outside boxes', () => {
    const empty = cropImage(img, { x1: 4, y1: 4, x2: 4, y2: 4 });
    assert.equal(empty.width, 1);
    assert.equal(empty.height, 1);
    assert.deepEqual(px(empty, 0, 0), px(img, 4, 4));
    const beyond = cropImage(img, { x1: 50, y1: 50, x2: 60, y2: 60 });
    assert.equal(beyond.width, 1);
    assert.equal(beyond.height, 1);
    assert.deepEqual(px(beyond, 0, 0), px(img, 9, 7));
    const before = cropImage(img, { x1: -20, y1: -20, x2: -10, y2: -10 });
    assert.deepEqual(px(before, 0, 0), px(img, 0, 0));
  });
});

describe('meanLuma', () => {
  it('weights R, G, B by 0.299, 0.587, 0.114', () => {
    closeTo(meanLuma(makeImage(3, 2, () => [255, 255, 255])), 255, 1e-9);
    closeTo(meanLuma(makeImage(3, 2, () => [100, 0, 0])), 29.9, 1e-9);
    closeTo(meanLuma(makeImage(2, 1, (x) => (x === 0 ? [0, 200, 0] : [0, 0, 200]))), (0.587 * 200 + 0.114 * 200) / 2, 1e-9);
  });
});
