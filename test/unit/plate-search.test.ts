/**
 * Plate search rules (src-pipeline/common/plate-search.ts): what an operator may type, how a
 * pattern becomes LIKE/regex/index ranges, OCR look-alike folding, the symmetric-delete keys
 * behind indexed fuzzy search (checked as a property on random strings) and fuzzy ranking.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  deletionKeys,
  foldConfusions,
  fuzzyScore,
  parsePlateQuery,
  patternPrefix,
  patternSuffix,
  PlateQueryError,
} from '../../src-pipeline/common/plate-search.js';
import { editDistance } from '../../src-pipeline/common/plate-text.js';
import { prng } from '../../src-pipeline/store/synthetic.js';

describe('parsePlateQuery', () => {
  it('turns plain text into an exact, normalized plate', () => {
    assert.deepEqual(parsePlateQuery('ab 123-cd'), { kind: 'exact', plate: 'AB123CD' });
  });

  it('turns * and ? into LIKE and an anchored regex, collapsing runs of *', () => {
    const q = parsePlateQuery('ab**12?');
    assert.equal(q.kind, 'pattern');
    if (q.kind !== 'pattern') return;
    assert.equal(q.pattern, 'AB*12?');
    assert.equal(q.like, 'AB%12_');
    assert.ok(q.regex.test('AB12X'));
    assert.ok(q.regex.test('ABXYZ123'));
    assert.ok(!q.regex.test('AB12'), '? needs exactly one character');
    assert.ok(!q.regex.test('XAB123'), 'anchored at the start');
    assert.ok(!q.regex.test('AB1234'), 'anchored at the end');
  });

  it('supports the operator shapes AB*12, *123 and A?C*', () => {
    const m = (p: string, s: string) => {
      const q = parsePlateQuery(p);
      return q.kind === 'pattern' && q.regex.test(s);
    };
    assert.ok(m('AB*12', 'AB9912') && m('AB*12', 'AB12') && !m('AB*12', 'AB123'));
    assert.ok(m('*123', 'XY123') && m('*123', '123') && !m('*123', '1234'));
    assert.ok(m('A?C*', 'ABC') && m('A?C*', 'A1C999') && !m('A?C*', 'AC') && !m('A?C*', 'ABBC'));
  });

  it('rejects bad input with a reason', () => {
    const reason = (input: string) => {
      try {
        parsePlateQuery(input);
      } catch (err) {
        assert.ok(err instanceof PlateQueryError);
        return err.message;
      }
      assert.fail(`"${input}" was accepted`);
    };
    assert.match(reason(''), /empty/);
    assert.match(reason(' - '), /empty/);
    assert.match(reason('*'), /matches everything/);
    assert.match(reason('***'), /matches everything/);
    assert.match(reason('AB#12'), /found "#"/);
    assert.match(reason('AB%'), /found "%"/);
    assert.match(reason('A'.repeat(33)), /longer than 32/);
  });
});

describe('pattern prefix and suffix (index ranges)', () => {
  it('prefix is the literal text before the first wildcard', () => {
    assert.equal(patternPrefix('AB*12'), 'AB');
    assert.equal(patternPrefix('A?C*'), 'A');
    assert.equal(patternPrefix('*123'), '');
    assert.equal(patternPrefix('ABC'), 'ABC');
  });

  it('suffix is the literal text after the last wildcard', () => {
    assert.equal(patternSuffix('*123'), '123');
    assert.equal(patternSuffix('AB*12'), '12');
    assert.equal(patternSuffix('A?C*'), '');
    assert.equal(patternSuffix('ABC'), 'ABC');
  });
});

describe('foldConfusions', () => {
  it('maps OCR look-alike letters onto their digits and normalizes', () => {
    assert.equal(foldConfusions('o-i b s z'), '01852');
    assert.equal(foldConfusions('QDG'), '006');
    assert.equal(foldConfusions('AB12'), 'A812');
    assert.equal(foldConfusions('0185'), '0185', 'digits are already folded');
  });

  it('makes look-alike reads equal', () => {
    assert.equal(foldConfusions('B0S5Z1'), foldConfusions('8O55ZI'));
  });
});

describe('deletionKeys', () => {
  it('holds the string and each single deletion, deduplicated', () => {
    assert.deepEqual(deletionKeys('ABC').sort(), ['AB', 'ABC', 'AC', 'BC']);
    assert.deepEqual(deletionKeys('AAB').sort(), ['AA', 'AAB', 'AB']);
    assert.deepEqual(deletionKeys('A').sort(), ['', 'A']);
  });

  /** A random edit of `s`: substitution, insertion or deletion at a random place. */
  function oneEdit(s: string, rand: () => number): string {
    const alphabet = '0123456789ACEFHJKMNPRTUVWXY';
    const ch = alphabet[Math.floor(rand() * alphabet.length)];
    const op = Math.floor(rand() * 3);
    const i = Math.floor(rand() * (op === 1 ? s.length + 1 : s.length));
    if (op === 0) return s.slice(0, i) + ch + s.slice(i + 1);
    if (op === 1) return s.slice(0, i) + ch + s.slice(i);
    return s.slice(0, i) + s.slice(i + 1);
  }

  it('property: any two strings within edit distance 1 share a key (2,000 random pairs)', () => {
    const rand = prng(20240501);
    const alphabet = '0123456789ACEFHJKMNPRTUVWXY';
    for (let k = 0; k < 2000; k++) {
      const len = 1 + Math.floor(rand() * 9);
      let a = '';
      for (let i = 0; i < len; i++) a += alphabet[Math.floor(rand() * alphabet.length)];
      const b = oneEdit(a, rand);
      assert.ok(editDistance(a, b) <= 1);
      const keysA = new Set(deletionKeys(a));
      assert.ok(
        deletionKeys(b).some((key) => keysA.has(key)),
        `"${a}" and "${b}" share no key`,
      );
    }
  });

  it('property: strings that share a key are at most two edits apart (fuzzyScore re-checks)', () => {
    const rand = prng(7);
    const alphabet = '0123456789ACEFHJKMNPRTUVWXY';
    let checked = 0;
    for (let k = 0; k < 2000; k++) {
      let a = '';
      let b = '';
      for (let i = 0; i < 6; i++) {
        a += alphabet[Math.floor(rand() * alphabet.length)];
        b += alphabet[Math.floor(rand() * alphabet.length)];
      }
      // Also plant near pairs (a transposition shares a key at distance 2).
      if (k % 2) b = a.slice(0, 2) + a[3] + a[2] + a.slice(4);
      const keysA = new Set(deletionKeys(a));
      if (!deletionKeys(b).some((key) => keysA.has(key))) continue;
      checked++;
      assert.ok(editDistance(a, b) <= 2, `${a} and ${b} share a key but are ${editDistance(a, b)} edits apart`);
    }
    assert.ok(checked >= 900, `only ${checked} pairs shared a key`);
  });
});

describe('fuzzyScore', () => {
  it('rank 0 for identical reads (after normalizing)', () => {
    assert.deepEqual(fuzzyScore('ab-123', 'AB123'), { rank: 0, distance: 0 });
  });

  it('rank 1 when only OCR look-alikes differ, with the raw edit distance', () => {
    assert.deepEqual(fuzzyScore('AB1O5', 'A81O5'), { rank: 1, distance: 1 });
    assert.deepEqual(fuzzyScore('OIBSZ', '01852'), { rank: 1, distance: 5 });
  });

  it('rank 2 for one edit after folding', () => {
    assert.deepEqual(fuzzyScore('AB123', 'AB1234'), { rank: 2, distance: 1 });
    assert.deepEqual(fuzzyScore('AB123', 'AB12'), { rank: 2, distance: 1 });
    assert.deepEqual(fuzzyScore('AB123', 'A8124'), { rank: 2, distance: 2 });
  });

  it('null for anything further', () => {
    assert.equal(fuzzyScore('AB123', 'AB145'), null);
    assert.equal(fuzzyScore('AB123', 'XY999'), null);
    assert.equal(fuzzyScore('AB123', 'AB12345'), null);
  });

  it('sorting by (rank, distance) puts the closest reads first', () => {
    const q = 'AB123';
    const cands = ['AB1234', 'XY999', 'A8123', 'AB123', 'A8I23', 'A8124'];
    const ranked = cands
      .map((c) => ({ c, s: fuzzyScore(q, c) }))
      .filter((x) => x.s !== null)
      .sort((x, y) => x.s!.rank - y.s!.rank || x.s!.distance - y.s!.distance)
      .map((x) => x.c);
    assert.deepEqual(ranked, ['AB123', 'A8123', 'A8I23', 'AB1234', 'A8124']);
  });
});
