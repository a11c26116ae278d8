/** The KasaTapoError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { strict as assert } from 'node:assert';
import { KasaTapoError } from '../../src/errors';

export async function failure(p: Promise<unknown>): Promise<KasaTapoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KasaTapoError, String(e));
    return e;
  }
  assert.fail('expected a failure');
}
