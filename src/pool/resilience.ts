/**
 * What the pool does when a device changes under it: the per-device pacing after rate limits and
 * socket errors, and the firmware and transport it remembers per device (protocol-changed,
 * firmware-changed). Which failures signal a protocol change is errors.ts signalsChange, shared
 * with connect(). Plain functions
 * over an entry's state, kept off the hot path: a request that goes well reads two fields here.
 */
import { type KasaTapoError, isConnectTimeout } from '../errors';
import { isRateLimited } from '../protocols/retry';
import type { Pacing, TransportKind } from '../types';

export { isRateLimited };

/** Socket trouble after which devices want a pause between requests (python-kasa waits 250 ms). */
export function isSocketTrouble(err: KasaTapoError): boolean {
  return err.code === 'ECONNRESET' || (err.code === 'ETIMEDOUT' && !isConnectTimeout(err));
}

export interface PaceLimits {
  paceMs: number;
  paceMaxMs: number;
  paceQuietMs: number;
}

/** Start pacing at paceMs, or double the gap (up to paceMaxMs) when already pacing. Never throws. */
export function slowDown(p: Pacing, o: PaceLimits, now = Date.now()): void {
  p.gapMs = p.gapMs > 0 ? Math.min(p.gapMs * 2, o.paceMaxMs) : Math.max(1, o.paceMs);
  p.calmAt = now + o.paceQuietMs;
  p.last = now;
}

interface Seen {
  firmware?: string;
  transport?: TransportKind;
  /** The transport the reference asked for when `transport` was seen ('auto' when none). */
  pin?: string;
}

/** What the pool remembers of the devices it has seen (beyond sweeps), bounded. */
export class Memory {
  private readonly seen = new Map<string, Seen>();
  constructor(private readonly max = 4096) {}

  private of(key: string): Seen {
    let m = this.seen.get(key);
    if (!m) {
      if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
      m = {};
      this.seen.set(key, m);
    }
    return m;
  }

  /** Record a reading's firmware; returns the previous one when it differs, else undefined. */
  firmware(key: string, fw: string): string | undefined {
    const m = this.of(key);
    const was = m.firmware;
    m.firmware = fw;
    return was !== undefined && was !== fw ? was : undefined;
  }

  /**
   * Record the transport a device spoke when asked with `pin` (the transport its reference named,
   * or 'auto'); returns the previous one when it differs under the same pin, else undefined. Two
   * references to one address that pin different transports are not a change of the device.
   */
  transport(key: string, kind: TransportKind, pin: string): TransportKind | undefined {
    const m = this.of(key);
    const was = m.pin === pin ? m.transport : undefined;
    m.transport = kind;
    m.pin = pin;
    return was !== undefined && was !== kind ? was : undefined;
  }
}
