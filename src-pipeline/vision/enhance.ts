/** Cheap photometric fixes for plate crops: they pay off on dark or washed-out plates. */
import { createImage, type RgbImage } from './image.js';

/**
 * Per-channel-agnostic contrast stretch on luma percentiles (1% / 99%): night plates often
 * sit in a narrow band of grey levels that the OCR model was never trained on.
 */
export function stretchContrast(img: RgbImage, lowPct = 0.01, highPct = 0.99): RgbImage {
  const n = img.width * img.height;
  const hist = new Uint32Array(256);
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) hist[(d[i] * 77 + d[i + 1] * 150 + d[i + 2] * 29) >> 8]++;
  let lo = 0;
  let hi = 255;
  for (let acc = 0, v = 0; v < 256; v++) {
    acc += hist[v];
    if (acc >= n * lowPct) {
      lo = v;
      break;
    }
  }
  for (let acc = 0, v = 255; v >= 0; v--) {
    acc += hist[v];
    if (acc >= n * (1 - highPct)) {
      hi = v;
      break;
    }
  }
  const out = createImage(img.width, img.height);
  if (hi - lo < 8) {
    out.data.set(d);
    return out;
  }
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round(((v - lo) * 255) / (hi - lo))));
  for (let i = 0; i < d.length; i++) out.data[i] = lut[d[i]];
  return out;
}

/** Surrounds an image with a constant border, as a fraction of its width and height. */
export function padConstant(img: RgbImage, fracX: number, fracY: number, value = 0): RgbImage {
  const px = Math.round(img.width * fracX);
  const py = Math.round(img.height * fracY);
  const out = createImage(img.width + 2 * px, img.height + 2 * py);
  if (value !== 0) out.data.fill(value);
  const row = img.width * 3;
  for (let y = 0; y < img.height; y++) out.data.set(img.data.subarray(y * row, (y + 1) * row), ((y + py) * out.width + px) * 3);
  return out;
}
