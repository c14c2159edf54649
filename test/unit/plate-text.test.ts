/**
 * Plate text rules on hand-built inputs: slot probabilities are written out per test over the
 * CCT alphabet, so every expected read follows from the numbers here, not from the decoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeSlots,
  editDistance,
  foldPlate,
  guessRegion,
  judgePlate,
  normalizePlate,
  PLATE_FORMATS,
  type PlateFormat,
} from '../../src-pipeline/common/plate-text.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const PAD = '_';
const { any, us, eu } = PLATE_FORMATS;

/** One slot: the given symbols get the given probabilities, everything else 0. */
function slot(probs: Record<string, number>): Float64Array {
  const p = new Float64Array(ALPHABET.length);
  for (const [ch, v] of Object.entries(probs)) {
    const k = ALPHABET.indexOf(ch);
    assert.ok(k >= 0, `symbol ${ch} not in the alphabet`);
    p[k] = v;
  }
  return p;
}

/** A confident slot per character of `text` (pads included), as a sure OCR read would give. */
function sure(text: string, p = 0.98): Float64Array[] {
  return [...text].map((ch) => slot({ [ch]: p, [ch === '_' ? '0' : '_']: 1 - p }));
}

function closeTo(actual: number, expected: number, eps = 1e-9, what = 'value') {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: expected ${expected}, got ${actual}`);
}

describe('normalizePlate', () => {
  it('upper-cases and drops everything but A-Z and 0-9', () => {
    assert.equal(normalizePlate('ab-12 cd'), 'AB12CD');
    assert.equal(normalizePlate(' 627·WWI\n'), '627WWI');
    assert.equal(normalizePlate('Ä_ö'), '');
    assert.equal(normalizePlate(''), '');
  });
});

describe('foldPlate', () => {
  it('folds O to 0 and I to 1 after normalising, and nothing else', () => {
    assert.equal(foldPlate('oi-OI 01'), '010101');
    assert.equal(foldPlate('OI-oi'), '0101');
    assert.equal(foldPlate('B8S5Z2'), 'B8S5Z2');
    assert.equal(foldPlate('627WWI'), foldPlate('627WW1'));
    assert.equal(foldPlate('824BOJ'), foldPlate('824B0J'));
  });
});

describe('editDistance', () => {
  it('is Levenshtein distance', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('ABC', 'ABC'), 0);
    assert.equal(editDistance('', 'ABC'), 3);
    assert.equal(editDistance('ABC', ''), 3);
    assert.equal(editDistance('ABC', 'ABD'), 1); // substitution
    assert.equal(editDistance('ABC', 'ABXC'), 1); // insertion
    assert.equal(editDistance('ABXC', 'ABC'), 1); // deletion
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('627WWI', '27WWI1'), 2);
  });

  it('is symmetric', () => {
    for (const [a, b] of [
      ['FLAW', 'LAWN'],
      ['R820503', 'R8Z0503'],
      ['2STE5', 'SGTE5'],
    ]) {
      assert.equal(editDistance(a, b), editDistance(b, a), `${a} vs ${b}`);
    }
  });
});

describe('decodeSlots', () => {
  it('takes the argmax per slot and drops pad slots wherever they are', () => {
    const slots = [slot({ A: 0.9, '4': 0.1 }), slot({ _: 0.8, B: 0.2 }), slot({ '1': 0.7, I: 0.3 }), ...sure('___')];
    const d = decodeSlots(slots, ALPHABET, PAD, any);
    assert.equal(d.text, 'A1');
    assert.deepEqual(d.charConfidences, [0.9, 0.7]);
    closeTo(d.confidence, 0.8, 1e-12, 'confidence is the mean of kept slots');
    assert.equal(d.layout, undefined);
  });

  it('reads all pads as an empty text with confidence 0', () => {
    const d = decodeSlots(sure('_________'), ALPHABET, PAD, us);
    assert.equal(d.text, '');
    assert.deepEqual(d.charConfidences, []);
    assert.equal(d.confidence, 0);
  });

  it('us: a close O-vs-0 call goes to 0, a confident O stays O', () => {
    const close = decodeSlots([...sure('ABC'), slot({ O: 0.55, '0': 0.45 }), ...sure('12_')], ALPHABET, PAD, us);
    assert.equal(close.text, 'ABC012');
    closeTo(close.charConfidences[3], 1, 1e-12, 'the O mass counts for the 0 it was folded into: the model was sure of the glyph');
    // Under `any` the same slots keep the raw argmax.
    assert.equal(decodeSlots([...sure('ABC'), slot({ O: 0.55, '0': 0.45 }), ...sure('12_')], ALPHABET, PAD, any).text, 'ABCO12');

    // Weight 0.01: O survives only when p(0) < 0.01 p(O).
    const confident = decodeSlots([...sure('ABC'), slot({ O: 0.995, '0': 0.005 }), ...sure('12_')], ALPHABET, PAD, us);
    assert.equal(confident.text, 'ABCO12');
    closeTo(confident.charConfidences[3], 0.995, 1e-12);
  });

  it('us: Q also loses close calls, I loses only clear ones (weight 0.3)', () => {
    assert.equal(decodeSlots([slot({ Q: 0.6, '0': 0.4 }), ...sure('7X')], ALPHABET, PAD, us).text, '07X');
    assert.equal(decodeSlots([slot({ I: 0.6, '1': 0.4 }), ...sure('7X')], ALPHABET, PAD, us).text, '17X'); // 0.18 < 0.4
    assert.equal(decodeSlots([slot({ I: 0.9, '1': 0.1 }), ...sure('7X')], ALPHABET, PAD, us).text, 'I7X'); // 0.27 > 0.1
  });

  it('eu: a B in a digit group becomes 8 when 8 had real probability', () => {
    // UK layout LLDDLLL: "AB18CDE" with the 4th slot read B 0.6 / 8 0.4. The free read
    // "AB1BCDE" fits no 7-slot layout; the layout read's joint probability is 2/3 of it.
    const slots = [...sure('AB1'), slot({ B: 0.6, '8': 0.4 }), ...sure('CDE__')];
    const d = decodeSlots(slots, ALPHABET, PAD, eu);
    assert.equal(d.text, 'AB18CDE');
    assert.equal(d.layout, 'LLDDLLL');
    closeTo(d.charConfidences[3], 0.4, 1e-12);
    assert.equal(decodeSlots(slots, ALPHABET, PAD, any).text, 'AB1BCDE', 'no layouts, no correction');
  });

  it('eu: keeps the free read when the layout read is far less likely', () => {
    // 8 at 0.001 vs B at 0.999: the layout read is 1/999 as likely, below the 0.05 slack.
    const slots = [...sure('AB1'), slot({ B: 0.999, '8': 0.001 }), ...sure('CDE__')];
    const d = decodeSlots(slots, ALPHABET, PAD, eu);
    assert.equal(d.text, 'AB1BCDE');
    assert.equal(d.layout, undefined);
    // Slack is a parameter: with 0.0005 the same read is forced into the layout.
    assert.equal(decodeSlots(slots, ALPHABET, PAD, eu, 0.0005).text, 'AB18CDE');
  });

  it('eu: a read that already fits a layout, or has a length no layout has, is left alone', () => {
    const fits = decodeSlots([...sure('AB12CDE'), ...sure('__')], ALPHABET, PAD, eu);
    assert.equal(fits.text, 'AB12CDE');
    assert.equal(fits.layout, undefined);
    // 5 characters: no eu layout has 5 slots.
    assert.equal(decodeSlots([...sure('AB1'), slot({ B: 0.6, '8': 0.4 }), ...sure('C____')], ALPHABET, PAD, eu).text, 'AB1BC');
  });

  it('a weight of 0 folds the letter into its digit twin, confidence included', () => {
    const strict: PlateFormat = { ...any, id: 'strict', charWeights: { O: 0 } };
    const d = decodeSlots([slot({ O: 0.7, '0': 0.2, D: 0.1 }), ...sure('9')], ALPHABET, PAD, strict);
    assert.equal(d.text, '09');
    closeTo(d.charConfidences[0], 0.9, 1e-12, 'p(0) + p(O)');
  });
});

describe('judgePlate', () => {
  const MIN = 0.6;

  it('accepts a normal plate', () => {
    assert.deepEqual(judgePlate('627WWI', 0.95, us, MIN), { ok: true });
    assert.deepEqual(judgePlate('627-wwi', 0.95, us, MIN), { ok: true }, 'judged after normalising');
  });

  it('rejects state names and frame words', () => {
    assert.deepEqual(judgePlate('TEXAS', 0.99, us, MIN), { ok: false, reason: 'not_a_plate_word' });
    assert.deepEqual(judgePlate('texas', 0.99, us, MIN), { ok: false, reason: 'not_a_plate_word' });
    assert.deepEqual(judgePlate('TOYOTA', 0.99, us, MIN), { ok: false, reason: 'not_a_plate_word' });
    // CALIFORNIA has 10 characters: too long for us (max 8), a dictionary word under any (max 10).
    assert.deepEqual(judgePlate('CALIFORNIA', 0.99, any, MIN), { ok: false, reason: 'not_a_plate_word' });
    assert.equal(judgePlate('CALIFORNIA', 0.99, us, MIN).ok, false);
  });

  it('rejects a clipped state name (a prefix of 5+ letters)', () => {
    assert.deepEqual(judgePlate('CALIFO', 0.99, us, MIN), { ok: false, reason: 'not_a_plate_word' });
    assert.deepEqual(judgePlate('PENNSY', 0.99, us, MIN), { ok: false, reason: 'not_a_plate_word' });
    // Shorter prefixes, or ones with digits, are plausible plates.
    assert.deepEqual(judgePlate('CALI', 0.99, us, MIN), { ok: true });
    assert.deepEqual(judgePlate('CALIF0', 0.99, us, MIN), { ok: true });
  });

  it('rejects empty, too short and too long reads', () => {
    assert.deepEqual(judgePlate('', 0.99, us, MIN), { ok: false, reason: 'empty' });
    assert.deepEqual(judgePlate('--', 0.99, us, MIN), { ok: false, reason: 'empty' });
    assert.deepEqual(judgePlate('7', 0.99, us, MIN), { ok: false, reason: 'too_short' });
    assert.deepEqual(judgePlate('ABC', 0.99, eu, MIN), { ok: false, reason: 'too_short' }, 'eu needs 4');
    assert.deepEqual(judgePlate('123456789', 0.99, us, MIN), { ok: false, reason: 'too_long' });
    assert.deepEqual(judgePlate('123456789', 0.99, any, MIN), { ok: true });
  });

  it('rejects low confidence, at the threshold is fine', () => {
    assert.deepEqual(judgePlate('627WWI', 0.59, us, MIN), { ok: false, reason: 'low_confidence' });
    assert.deepEqual(judgePlate('627WWI', 0.6, us, MIN), { ok: true });
  });
});

describe('guessRegion', () => {
  it('keeps the configured format when the read is valid under it', () => {
    assert.equal(guessRegion('627WWI', 'us'), 'us');
    assert.equal(guessRegion('XNR374', 'us'), 'us');
    assert.equal(guessRegion('AKS4329', 'us'), 'us');
    assert.equal(guessRegion('5UVR090', 'us'), 'us');
    assert.equal(guessRegion('AB12CDE', 'eu'), 'eu');
  });

  it('names the format whose layout the read fits when the configured one does not apply', () => {
    assert.equal(guessRegion('AB12CDE', 'any'), 'eu'); // UK
    assert.equal(guessRegion('ab12 cde', 'any'), 'eu', 'normalised first');
    assert.equal(guessRegion('B123ABC', 'any'), 'eu'); // RO LDDDLLL
    assert.equal(guessRegion('AB123CD99', 'us'), 'any', 'too long for us, fits no eu layout');
  });

  it('falls back to any', () => {
    assert.equal(guessRegion('7X', 'any'), 'any');
    assert.equal(guessRegion('', 'eu'), 'any');
  });
});
