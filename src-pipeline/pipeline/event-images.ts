/**
 * The JPEGs of an event's best shot: the plate (with a margin, so a person can check the read
 * against it), the vehicle and the whole frame (scaled down past a width cap). Encoding runs
 * in libvips' thread pool; only tracks that became events pay for it.
 */
import sharp from 'sharp';
import { clampBox, padBox, type Box } from '../common/geometry.js';
import type { PipelineConfig } from '../common/pipeline-config.js';
import type { EventImages } from '../sinks/event-sink.js';
import { cropImage, encodeJpeg, type RgbImage } from '../vision/image.js';

async function encodeScaled(img: RgbImage, maxWidth: number, quality: number): Promise<Buffer> {
  if (img.width <= maxWidth) return encodeJpeg(img, quality);
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width: maxWidth })
    .jpeg({ quality })
    .toBuffer();
}

export async function encodeEventImages(
  shot: { frame: RgbImage; plateBox: Box; vehicleBox: Box },
  cfg: Pick<PipelineConfig, 'save_images' | 'jpeg_quality' | 'frame_jpeg_max_width'>,
): Promise<EventImages> {
  const { frame } = shot;
  const q = cfg.jpeg_quality;
  const [plate, vehicle, whole] = await Promise.all([
    cfg.save_images.plate ? encodeJpeg(cropImage(frame, clampBox(padBox(shot.plateBox, 0.15, 0.3), frame.width, frame.height)), q) : null,
    cfg.save_images.vehicle ? encodeJpeg(cropImage(frame, clampBox(shot.vehicleBox, frame.width, frame.height)), q) : null,
    cfg.save_images.frame ? encodeScaled(frame, cfg.frame_jpeg_max_width, q) : null,
  ]);
  return { plate, vehicle, frame: whole };
}
