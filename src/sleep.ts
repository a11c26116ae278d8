/**
 * One abortable wait for the whole library (retry backoff, wake-up pauses). A leaf module:
 * imports nothing.
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
