/** Addressing: what a caller names (an alias, a host, host:port, an object) → a device config and its key. */
import { KasaTapoError, clip } from '../errors';
import { AesTrust, checkHost, isGroupAddress, isValidHost } from '../trust';
import type { DeviceRef, PoolDeviceConfig } from './types';

/** Parse `host:port`, `[v6]:port` or a bare host. Never throws. */
export function parseHostPort(s: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6?.[1] !== undefined) return v6[2] ? { host: v6[1], port: Number(v6[2]) } : { host: v6[1] };
  const m = /^([^:]+):(\d+)$/.exec(s);
  if (m?.[1] !== undefined && m[2] !== undefined) return { host: m[1], port: Number(m[2]) };
  return { host: s };
}

/** The key the pool tracks a device by: `host` or `host:port`. Never throws. */
export function keyOf(cfg: PoolDeviceConfig): string {
  return cfg.port !== undefined ? `${cfg.host}:${cfg.port}` : cfg.host;
}

/** The configured devices, by alias (case-insensitive). */
export class Refs {
  private readonly aliases = new Map<string, PoolDeviceConfig>();
  /** Where an AES login may go: the device list and the pool's own discovery (src/trust.ts). */
  readonly trust = new AesTrust();

  /**
   * Add or replace a known device (by alias). A listed device may receive an AES login
   * (src/trust.ts). Throws EBADINPUT without a valid host (an IP address or a host name).
   */
  add(d: PoolDeviceConfig): void {
    if (!d || typeof d.host !== 'string' || !d.host) throw new KasaTapoError('EBADINPUT', 'A device needs a host');
    checkHost(d.host);
    this.trust.addListed(d);
    if (d.alias) this.aliases.set(d.alias.toLowerCase(), d);
  }

  known(): PoolDeviceConfig[] {
    return [...this.aliases.values()];
  }

  /** Resolve a reference to a device config. Throws EBADINPUT / ENOTFOUND. */
  resolve(ref: DeviceRef): PoolDeviceConfig {
    if (typeof ref === 'string') {
      const s = ref.trim();
      if (!s) throw new KasaTapoError('EBADINPUT', 'Device reference is empty; give an alias, a host or host:port');
      const known = this.aliases.get(s.toLowerCase());
      if (known) return known;
      const hp = parseHostPort(s);
      if (!isValidHost(hp.host) || (hp.port !== undefined && (hp.port < 1 || hp.port > 65535))) {
        if (isGroupAddress(hp.host)) checkHost(hp.host, 'device host'); // EBADINPUT: a broadcast reaches no one device
        if (this.aliases.size === 0) {
          throw new KasaTapoError(
            'ENOTFOUND',
            `Unknown device "${clip(s, 80)}": the pool's device list is empty; add the device there (Scan finds it) or give its host or host:port`,
          );
        }
        throw new KasaTapoError('ENOTFOUND', `Unknown device "${clip(s)}": not an alias of this pool, nor a host or host:port`);
      }
      return hp;
    }
    if (ref && typeof ref === 'object' && typeof ref.host === 'string' && ref.host) {
      // Objects are checked like strings: nothing but an address or a host name is ever looked up.
      checkHost(ref.host, 'device host');
      if (ref.port !== undefined && !(Number.isInteger(ref.port) && ref.port >= 1 && ref.port <= 65535)) {
        throw new KasaTapoError('EBADINPUT', `The device port must be an integer 1-65535, not ${clip(ref.port, 40)}`);
      }
      return ref;
    }
    throw new KasaTapoError('EBADINPUT', 'Device reference must be an alias, a host, host:port or {host, port}');
  }
}
