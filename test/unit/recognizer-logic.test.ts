import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { assignVehicle, holdsPlate, type PlateCandidate, type VehicleResult } from '../../src-pipeline/vision/plate-candidates.js';
import { voteReads } from '../../src-pipeline/vision/plate-views.js';
import { plateCharsOf } from '../../src-pipeline/vision/plate-reader.js';
import { decodeImage } from '../../src-pipeline/vision/image.js';
import { AlprError } from '../../src-pipeline/common/errors.js';

const read = (text: string, confidence: number, strategy = 's') => ({ text, confidence, charConfidences: [...text].map(() => confidence), strategy });

describe('voteReads', () => {
  it('pools agreeing views: two at 0.8 beat one at 0.99', () => {
    const v = voteReads([read('ABC123', 0.8, 'a'), read('ABC128', 0.99, 'b'), read('ABC123', 0.8, 'c')]);
    assert.equal(v?.text, 'ABC123');
    assert.equal(v?.confidence, 0.8);
  });

  it('reports the most confident view of the winning text', () => {
    const v = voteReads([read('XYZ9', 0.7, 'a'), read('XYZ9', 0.9, 'b')]);
    assert.equal(v?.strategy, 'b');
  });

  it('ignores empty reads and returns null when nothing was read', () => {
    assert.equal(voteReads([read('', 0.9)]), null);
    assert.equal(voteReads([]), null);
    assert.equal(voteReads([read('', 0.99), read('K1', 0.2)])?.text, 'K1');
  });
});

describe('assignVehicle', () => {
  const v = (type: string, x1: number, y1: number, x2: number, y2: number): VehicleResult => ({ type, score: 0.9, box: { x1, y1, x2, y2 } });

  it('picks the vehicle containing most of the plate; among nested ones the smaller', () => {
    const truck = v('truck', 0, 0, 1000, 800);
    const car = v('car', 100, 300, 500, 700);
    assert.equal(assignVehicle({ x1: 200, y1: 600, x2: 300, y2: 640 }, [truck, car])?.type, 'car');
    assert.equal(assignVehicle({ x1: 700, y1: 600, x2: 800, y2: 640 }, [truck, car])?.type, 'truck');
  });

  it('assigns nothing when no vehicle holds more than half the plate', () => {
    assert.equal(assignVehicle({ x1: 90, y1: 0, x2: 130, y2: 10 }, [v('car', 120, 0, 300, 100)]), null);
    assert.equal(assignVehicle({ x1: 0, y1: 0, x2: 10, y2: 10 }, []), null);
  });
});

describe('plateCharsOf', () => {
  it('keeps A-Z and 0-9 with their confidences, upper-casing letters', () => {
    assert.deepEqual(plateCharsOf('ab-12 中c', [0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.3, 0.5]), { text: 'AB12C', charConfidences: [0.9, 0.8, 0.7, 0.6, 0.5] });
    assert.deepEqual(plateCharsOf('', []), { text: '', charConfidences: [] });
  });
});

describe('decodeImage', () => {
  it('applies EXIF orientation: a landscape JPEG tagged "rotate 90" decodes as portrait', async () => {
    const jpeg = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(jpeg);
    assert.equal(img.width, 20);
    assert.equal(img.height, 40);
    assert.equal(img.data.length, 20 * 40 * 3);
  });

  it('decodes PNG with alpha to RGB', async () => {
    const png = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    assert.equal(img.data.length, 3 * 2 * 3);
  });

  it('rejects bytes that are no image with IMAGE_UNREADABLE', async () => {
    await assert.rejects(decodeImage(Buffer.from('not an image')), (e: unknown) => e instanceof AlprError && e.code === 'IMAGE_UNREADABLE');
  });
});

describe('holdsPlate', () => {
  const truck: VehicleResult = { type: 'truck', score: 0.9, box: { x1: 100, y1: 0, x2: 700, y2: 700 } };
  const cand = (y1: number, y2: number): PlateCandidate => ({
    det: { box: { x1: 300, y1, x2: 380, y2 }, score: 0.5, classId: 0 },
    detector: 'y5fu-640',
    className: 'single-row',
    vehicle: null,
  });

  it('counts a plate low on the vehicle and ignores fleet numbers near its roof', () => {
    assert.equal(holdsPlate(truck, cand(600, 640)), true);
    assert.equal(holdsPlate(truck, cand(20, 50)), false);
  });

  it('ignores candidates outside the vehicle', () => {
    assert.equal(holdsPlate(truck, { ...cand(600, 640), det: { box: { x1: 800, y1: 600, x2: 880, y2: 640 }, score: 0.5, classId: 0 } }), false);
  });
});
