/**
 * Polling a pooled device on a simulated clock: `Date.now()` moves `stepMs` before each of `count`
 * requests (timers are untouched), so minutes of holds and blocks pass in milliseconds. Restores
 * the clock and closes the pool, whatever happens. Returns each request's outcome: 'ok' or the
 * error code.
 */
import { KasaTapoError } from '../../src/errors';
import type { Pool } from '../../src/pool';

export async function pollOnClock(pool: Pool, ref: string, stepMs: number, count: number): Promise<string[]> {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  const codes: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      offset += stepMs;
      codes.push(
        await pool
          .device(ref)
          .getState()
          .then(
            () => 'ok',
            (e: unknown) => (e instanceof KasaTapoError ? e.code : String(e)),
          ),
      );
    }
  } finally {
    Date.now = realNow;
    await pool.close();
  }
  return codes;
}
