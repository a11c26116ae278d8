/**
 * The retry policy shared by the IOT and SMART protocols (docs/architecture.md#retries: retries live in
 * the protocol layer and depend on the error class, never on the protocol):
 *
 * | error                 | action                                                        |
 * |-----------------------|---------------------------------------------------------------|
 * | ESESSION              | reset the transport (new handshake) and replay once, at once   |
 * | ECONNRESET            | retry once at once (the transport reconnects by itself)        |
 * | ETIMEDOUT, EBUSY      | reset, wait `backoffMs`, retry up to `retries` times           |
 * | EBUSY rate limit      | no retry: thrown for the pool's pacing (-40109, -40406)         |
 * | ETIMEDOUT on connect  | no retry (see below)                                           |
 * | anything else         | no retry (EAUTH, ECONNREFUSED, EPROTOCOL, EUNSUPPORTED, ...)   |
 *
 * A connect timeout (an ETIMEDOUT whose `phase` is 'connect', errors.ts isConnectTimeout: the TCP connection itself was not
 * established within the timeout — the device is off or out of range) is treated like a refusal:
 * retrying it only holds the device's queue for another timeout + backoff, and the pool takes the
 * device offline at once and probes for its return. A timeout waiting for an answer on an open
 * connection (a busy or slow device) is still retried.
 */
import { KasaTapoError, isConnectTimeout, isKasaTapoError, toKasaTapoError } from '../errors';
import { DEFAULT_BACKOFF_MS, DEFAULT_RETRIES } from '../defaults';
import { sleep } from '../sleep';
import type { Logger, Transport } from '../types';

export interface RetryOptions {
  /** Retries after timeouts and busy answers. Default 2. */
  retries?: number;
  /** Wait before such a retry, in ms. Default 1000. */
  backoffMs?: number;
  logger?: Logger;
  /** Aborted when the device is closed: a backoff wait ends at once (the next attempt then fails ECLOSED). */
  signal?: AbortSignal;
}

/** Counters shared with the device facade (the pool reads `retries`). */
export interface RetryStats {
  retries: number;
}

export { DEFAULT_BACKOFF_MS, DEFAULT_RETRIES } from '../defaults';

/** SMART rate-limit codes (ONE_SECOND_REPEAT_REQUEST, OUT_OF_LIMIT): EBUSY with this deviceCode. */
export const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([-40109, -40406]);

/**
 * Whether `e` is a device's rate-limit answer. Not retried here (a retry at once is what the device
 * refuses): the pool paces the device and retries after the gap. Never throws.
 */
export function isRateLimited(e: unknown): boolean {
  return e instanceof KasaTapoError && e.code === 'EBUSY' && e.deviceCode !== undefined && RATE_LIMIT_CODES.has(e.deviceCode);
}

/**
 * Run `attempt` (one exchange with the device) under the retry policy above.
 * Throws the last KasaTapoError when no retry is allowed or left (non-KasaTapoError values are
 * wrapped with toKasaTapoError).
 */
export function withRetry<T>(transport: Transport, attempt: () => Promise<T>, opts: RetryOptions, stats: RetryStats): Promise<T> {
  // The usual case costs one reaction: only a failed first attempt enters the retry loop.
  let first: Promise<T>;
  try {
    first = attempt();
  } catch (e) {
    first = Promise.reject(toKasaTapoError(e, transport.host));
  }
  return first.then(undefined, (e: unknown) => retryAfter(e, transport, attempt, opts, stats));
}

/** The retry loop, from the first attempt's failure `failure`. */
async function retryAfter<T>(failure: unknown, transport: Transport, attempt: () => Promise<T>, opts: RetryOptions, stats: RetryStats): Promise<T> {
  const retries = Math.max(0, Math.min(10, Math.floor(opts.retries ?? DEFAULT_RETRIES)));
  const backoffMs = Math.max(0, opts.backoffMs ?? DEFAULT_BACKOFF_MS);
  let sessionReplayed = false;
  let resetRetried = false;
  let slowRetries = 0;
  let raw = failure;
  // Bounded: each branch below consumes a finite budget (1 + 1 + retries).
  for (let i = 0; i < retries + 3; i++) {
    const e = isKasaTapoError(raw) ? raw : toKasaTapoError(raw, transport.host);
    if (e.code === 'ESESSION' && !sessionReplayed) {
      sessionReplayed = true;
      transport.reset();
    } else if (e.code === 'ECONNRESET' && !resetRetried) {
      resetRetried = true;
    } else if (((e.code === 'EBUSY' && !isRateLimited(e)) || (e.code === 'ETIMEDOUT' && !isConnectTimeout(e))) && slowRetries < retries) {
      slowRetries++;
      transport.reset();
      if (backoffMs > 0) await sleep(backoffMs, opts.signal);
    } else {
      throw e;
    }
    stats.retries++;
    opts.logger?.debug?.(`${transport.host}: ${e.code}, retrying (${stats.retries} retries so far)`);
    try {
      return await attempt();
    } catch (next) {
      raw = next;
    }
  }
  // Unreachable: the budget above always ends in a return or a throw.
  throw new KasaTapoError('EPROTOCOL', `Retry budget exhausted for ${transport.host}`);
}
