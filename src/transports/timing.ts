/**
 * What the XOR and HTTP clients share: how a timeout tells our own event-loop stall from a slow
 * device, the one request-with-deadline object, and the errors of a connection (never made, not
 * answered in time, closed by the device, closed by us).
 */
import { HINTS, KasaTapoError } from '../errors';

/** ETIMEDOUT for an answer that did not come in time on an open connection (retried by retry.ts). */
export const answerTimeoutError = (host: string): KasaTapoError =>
  new KasaTapoError('ETIMEDOUT', `${host} did not answer in time`, { host, hint: HINTS.timeout });

/** ECONNRESET for a device that closed the connection before its whole answer came. */
export const droppedError = (host: string, got: number): KasaTapoError =>
  new KasaTapoError('ECONNRESET', `${host} closed the connection ${got ? 'in the middle of an answer' : 'without answering'}`, { host });

/** The error every call on a closed transport or client rejects with (ECLOSED). */
export const closedError = (host: string): KasaTapoError => new KasaTapoError('ECLOSED', `The transport to ${host} is closed`, { host });

/** A timer that fires this much later than due means our own event loop stalled (a busy flow, a burst of messages). */
export const LOOP_STALL_MS = 100;

/**
 * When an exchange's timer fires: how much longer to wait instead of timing out. Once per
 * exchange, after a stall of the event loop (the timer fired LOOP_STALL_MS or more after
 * `dueAt`), the time lost is given back (at most the timeout again): the device's answer may be
 * waiting unread, or the request may not even have been sent. 0 when the device is simply late.
 * Never throws.
 */
export function stallExtension(dueAt: number, timeoutMs: number, extended: boolean): number {
  if (extended) return 0;
  const late = Date.now() - dueAt;
  return late >= LOOP_STALL_MS ? Math.min(late, timeoutMs) : 0;
}

/**
 * ETIMEDOUT for a TCP connection that was not established within `ms` (no SYN-ACK, no refusal: the
 * device is off or out of range). Unlike a timeout waiting for an answer on an open connection, it
 * is not retried (protocols/retry.ts) and takes a pooled device offline at once (pool.ts); tell it
 * apart with isConnectTimeout() (errors.ts: `phase` 'connect'). Never throws.
 */
export function connectTimeoutError(host: string, ms: number): KasaTapoError {
  return new KasaTapoError('ETIMEDOUT', `${host} did not accept a connection within ${ms} ms`, { host, hint: HINTS.timeout, phase: 'connect' });
}

/**
 * One request with its own deadline under the stall rule: it settles once, with a value or an
 * error, and its timer goes with it. One object per request, no closures (the XOR and HTTP
 * clients' hot path). Subclasses say what the time running out means (`expired`).
 */
export abstract class Deadline<T> {
  settled = false;
  private timer: NodeJS.Timeout;
  private readonly dueAt: number;
  private extended = false;

  constructor(
    readonly timeoutMs: number,
    private readonly ok: (v: T) => void,
    private readonly ko: (e: unknown) => void,
  ) {
    this.dueAt = Date.now() + timeoutMs;
    this.timer = setTimeout(onDeadline, timeoutMs, this);
  }

  /** The time is up, the stall rule applied: fail with the error that says why. */
  protected abstract expired(): void;

  /** After settling either way. */
  protected onSettled(): void {}

  resolve(v: T): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.ok(v);
    this.onSettled();
  }

  fail(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.ko(e);
    this.onSettled();
  }

  /** @internal The timer fired: a stall of our own event loop is given back once, else expired(). */
  due(): void {
    const more = stallExtension(this.dueAt, this.timeoutMs, this.extended);
    if (more > 0) {
      this.extended = true;
      this.timer = setTimeout(onDeadline, more, this);
    } else this.expired();
  }
}

function onDeadline(d: { due(): void }): void {
  d.due();
}
