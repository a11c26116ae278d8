/**
 * Where credentials may go (design.md §1, issue 14). XOR sends no secret. KLAP proves the account
 * by a challenge/response and TPAP by a password-authenticated key exchange: neither shows the
 * other side the password or a hash it could log in with. An AES login does: login v2 carries
 * SHA-1(password) (from which the KLAP v2 auth hash follows), login v1 base64(password) itself.
 * So an AES login goes only to a host the user chose:
 *
 * - in the library, `connect()` sends it when the caller asked for transport `'aes'`, passed a
 *   discovery answer, or set `allowAesLogin: true`; `'auto'` on any other host never does;
 * - a `Pool` sends it only to devices in its list (`devices`, `addDevice()`, or a `pool.device()`
 *   object that names transport `'aes'` itself) or found by its own `pool.discover()` announcing
 *   AES; `msg.device` in the nodes never names a transport.
 *
 * A host that would need an AES login but is not trusted fails with `ENOTTRUSTED`, whose text says
 * how to add it. Login v1 is used only when the device's discovery answer asks for it (`lv: 1`, or
 * AES without `lv`, which is what firmware older than login v2 sends) or the user chose it for that device (transport `aes-v1` in the node's list, `loginVersion: 1` in the
 * library); a `-1501` answer to login v2 is `EAUTH`, never a retry with v1.
 *
 * Also here: the host check (nothing that is neither an IP address nor a valid host name is ever
 * looked up) and the notice for devices that accept TP-Link's default credentials.
 */
import { isIP } from 'node:net';
import { KasaTapoError, clip } from './errors';
import type { DiscoveryResult, Logger } from './types';

/** What state, Scan, Test and the log say about a device that accepts TP-Link's default or blank credentials. */
export const DEFAULT_CREDENTIALS_NOTICE = "answers with TP-Link's default credentials — not bound to your account";

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * True for an IPv4/IPv6 address or a valid DNS host name (letters, digits and hyphens in labels of
 * 1-63 characters, at most 253 in all, an optional final dot). Never throws.
 */
export function isValidHost(host: unknown): host is string {
  if (typeof host !== 'string' || host.length === 0 || host.length > 253) return false;
  if (isIP(host) !== 0) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (!name || /^[\d.]+$/.test(name)) return false; // 1.2.3 or 999.1.1.1: not an address, not a name
  return name.split('.').every((l) => LABEL.test(l));
}

/**
 * The host, checked (see isValidHost) and trimmed. Throws KasaTapoError EBADINPUT, whose message
 * quotes the value clipped to 200 characters with control characters escaped.
 */
export function checkHost(host: unknown, what = 'host'): string {
  const h = typeof host === 'string' ? host.trim() : host;
  if (isValidHost(h)) return h;
  const shown = typeof host === 'string' ? `"${clip(host)}"` : typeof host;
  throw new KasaTapoError('EBADINPUT', `The ${what} must be an IP address or a host name, not ${shown}`);
}

/**
 * The AES login version a discovery answer asks for: its `lv`, and for an AES answer without one,
 * 1 (protocol.md §4.5: firmware older than login v2 sends no `lv`). Never throws.
 */
export function discoveredLoginVersion(r: Pick<DiscoveryResult, 'transport' | 'loginVersion'>): 1 | 2 | undefined {
  return r.loginVersion ?? (r.transport === 'aes' ? 1 : undefined);
}

/** The ENOTTRUSTED error for a host that needs an AES login it may not get. Never throws. */
export function aesNotTrusted(host: string, port: number | undefined, why: string): KasaTapoError {
  const where = port !== undefined ? `${clip(host)}:${port}` : clip(host);
  return new KasaTapoError(
    'ENOTTRUSTED',
    `${where} ${why}: it needs an AES login, which reveals the account password's hash, so it is sent only to devices you listed`,
    {
      host,
      hint:
        "Add the device to the tplink-pool's device list (Scan finds it), then address it by its alias or host; " +
        "in the library, list it in the Pool's devices or connect() with transport 'aes'",
    },
  );
}

/** A trusted device: where AES may go, and the login version to use there. */
export interface AesTrustEntry {
  host: string;
  port?: number;
  /** 1 only when the user chose it or the device's discovery answer says so. */
  loginVersion?: 1 | 2;
  /** Set for a device found by discovery (its answer: transport, port, login version). */
  discovery?: DiscoveryResult;
}

const MAX_TRUSTED = 4096;

/**
 * The hosts one pool may send an AES login to: its device list, and what its own discovery found
 * announcing AES. A host matches when the address is the same (case-insensitive) and the port is
 * the same or either side gives none. Bounded (4096 entries; the oldest discovered go first).
 */
export class AesTrust {
  private readonly listed = new Map<string, AesTrustEntry[]>();
  private readonly discovered = new Map<string, AesTrustEntry>();

  /** Trust a device of the user's list. Throws KasaTapoError EBADINPUT for an invalid host. */
  addListed(d: { host: string; port?: number; loginVersion?: 1 | 2 }): void {
    const host = checkHost(d.host).toLowerCase();
    const all = this.listed.get(host) ?? [];
    const e: AesTrustEntry = {
      host,
      ...(d.port !== undefined ? { port: d.port } : {}),
      ...(d.loginVersion !== undefined ? { loginVersion: d.loginVersion } : {}),
    };
    const same = all.findIndex((x) => x.port === e.port);
    if (same >= 0) all[same] = e;
    else if (this.size() < MAX_TRUSTED) all.push(e);
    this.listed.set(host, all);
  }

  /** Trust a device found by the pool's own discovery, if it announced AES. Never throws. */
  addDiscovered(r: DiscoveryResult): void {
    if (r.transport !== 'aes' || !isValidHost(r.host)) return;
    const host = r.host.toLowerCase();
    this.discovered.delete(host);
    if (this.size() >= MAX_TRUSTED) {
      const oldest = this.discovered.keys().next().value;
      if (oldest === undefined) return;
      this.discovered.delete(oldest);
    }
    this.discovered.set(host, { host, port: r.port, loginVersion: discoveredLoginVersion(r) ?? 2, discovery: r });
  }

  /** The trust entry for host[:port], or undefined when AES must not go there. Never throws. */
  lookup(host: string, port?: number): AesTrustEntry | undefined {
    const h = typeof host === 'string' ? host.toLowerCase() : '';
    const fits = (e: AesTrustEntry): boolean => e.port === undefined || port === undefined || e.port === port;
    const listed = this.listed.get(h)?.filter(fits) ?? [];
    const exact = listed.find((e) => e.port === port) ?? listed[0];
    if (exact) return exact;
    const d = this.discovered.get(h);
    return d && fits(d) ? d : undefined;
  }

  private size(): number {
    let n = this.discovered.size;
    for (const l of this.listed.values()) n += l.length;
    return n;
  }
}

/** Loggers already warned, per device: one warning per device and logger, however often it reconnects. */
const warned = new WeakMap<object, Set<string>>();
const MAX_WARNED = 1024;

/**
 * Log (once per logger and host:port) that a device accepted TP-Link's default or blank credentials
 * instead of the user's account. Never throws.
 */
export function warnDefaultCredentials(logger: Logger | undefined, host: string, port: number): void {
  if (!logger?.warn) return;
  const key = `${host}:${port}`;
  let seen = warned.get(logger);
  if (!seen) warned.set(logger, (seen = new Set()));
  if (seen.has(key)) return;
  if (seen.size < MAX_WARNED) seen.add(key);
  try {
    logger.warn(
      `${clip(host)}:${port} ${DEFAULT_CREDENTIALS_NOTICE}. Anyone on the network can log in to it; set it up in the Kasa/Tapo app to bind it to your account`,
    );
  } catch {
    /* a logger's fault is not ours */
  }
}
