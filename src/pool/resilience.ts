/**
 * What the pool does when a device changes under it: which failures signal a protocol change
 * (re-detection), the per-device pacing after rate limits and socket errors, and the firmware
 * and transport it remembers per device (protocol-changed, firmware-changed). Plain functions
 * over an entry's state, kept off the hot path: a request that goes well reads two fields here.
 */
import { type KasaTapoError, isConnectTimeout } from '../errors';
import { isRateLimited } from '../protocols/retry';
import type { Pacing } from '../types';

export { isRateLimited };

/**
 * Whether a failure of a device that worked may mean it now speaks another protocol: a KLAP
 * handshake 403 (EAUTH with httpStatus 403) or any auth failure after a good session, a refused
 * connection on its known port, "not this transport" (EUNSUPPORTED: HTTP 404, AES 1003), or an
 * HTTP 4xx where the other protocol's paths do not exist. Never throws.
 */
export function signalsChange(err: KasaTapoError): boolean {
  switch (err.code) {
    case 'EAUTH':
    case 'ECONNREFUSED':
      return true;
    case 'EUNSUPPORTED':
      // Only "not this transport" (HTTP 404 on a handshake, AES 1003), never "no energy meter".
      return err.httpStatus === 404 || err.deviceCode === 1003;
    case 'EPROTOCOL':
      return err.httpStatus !== undefined && err.httpStatus >= 400 && err.httpStatus < 500;
    default:
      return false;
  }
}

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

/** What the pool remembers of the devices it has seen (beyond sweeps), bounded. */
export class Memory {
  private readonly seen = new Map<string, { firmware?: string }>();
  constructor(private readonly max = 4096) {}

  /** Record a reading's firmware; returns the previous one when it differs, else undefined. */
  firmware(key: string, fw: string): string | undefined {
    let m = this.seen.get(key);
    if (!m) {
      if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
      m = {};
      this.seen.set(key, m);
    }
    const was = m.firmware;
    m.firmware = fw;
    return was !== undefined && was !== fw ? was : undefined;
  }
}
