/**
 * One abortable wait for the whole library (retry backoff, wake-up pauses, pacing gaps). A leaf
 * module: imports nothing.
 */

/** Wait `ms`, or less when `signal` aborts (its timer cleared then). Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Wait until `p.last + p.gapMs` (at most the gap), or less when `signal` aborts: a paced device's
 * gap between two requests. Never rejects.
 */
export function gapWait(p: { gapMs: number; last: number }, signal?: AbortSignal): Promise<void> {
  const ms = Math.min(p.gapMs, p.last + p.gapMs - Date.now());
  return ms > 0 ? sleep(ms, signal) : Promise.resolve();
}
