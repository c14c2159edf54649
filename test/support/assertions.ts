import assert from 'node:assert/strict';
import { AlprError, type ErrorCode } from '../../src-pipeline/common/errors.js';

/** `fn` throws an AlprError with `code` whose message names every one of `needles`. */
export function assertAlprError(fn: () => unknown, code: ErrorCode, ...needles: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AlprError, `expected AlprError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const s of needles) assert.ok(err.message.includes(s), `message should name ${s}: ${err.message}`);
    return true;
  });
}
