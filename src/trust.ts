/**
 * Where credentials may go (docs/security.md). The rule: **a discovery answer is a hint, never a
 * credential decision.** What may receive a secret is decided by the user (the device list, the
 * transport chosen per device) and by what the device itself has proved (a completed KLAP or TPAP
 * login proves knowledge of the account).
 *
 * XOR sends no secret. KLAP proves the account by a challenge/response and TPAP by a
 * password-authenticated key exchange: neither shows the other side the password or a hash it could
 * log in with, but each handshake lets the other side test one guess of the password — so every
 * login that reached the proof step counts against the pool's login budget. An AES login shows the
 * device a password equivalent: login v2 carries SHA-1(password) (from which the KLAP v2 auth hash
 * follows), login v1 base64(password) itself. So an AES login goes only to a host the user chose:
 *
 * - in the library, `connect()` sends it when the caller asked for transport `'aes'`, passed a
 *   discovery answer, or set `allowAesLogin: true`; `'auto'` on any other host never does;
 * - a `Pool` sends it only to devices in its list (`devices`, `addDevice()`, or a `pool.device()`
 *   object that names transport `'aes'` itself) or found by its own `pool.discover({trustAes:
 *   true})` announcing AES; `msg.device` in the nodes never names a transport.
 *
 * Login v1 is sent only when the user chose it for that device (transport `aes-v1` in the node's
 * list, `loginVersion: 1` in the library) — never because a discovery answer says `lv: 1` or has
 * no `lv`. A `-1501` answer to login v2 is `EAUTH`, never a retry with v1.
 *
 * No downgrade: the pool never leaves a transport the user pinned, and for `auto` devices never
 * moves below the strongest transport a device has completed a login with (transportRank) because
 * of a discovery answer.
 *
 * Also here: the host check (nothing that is neither an IP address nor a valid host name is ever
 * looked up; broadcast, multicast and unspecified addresses are no device) and the notice for
 * devices that accept TP-Link's default credentials.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { KasaTapoError, clip } from './errors';
import { fixFor } from './fixes';
import type { DiscoveryResult, Logger, TransportKind } from './types';

/** What state, Scan, Test and the log say about a device that accepts TP-Link's default or blank credentials. */
export const DEFAULT_CREDENTIALS_NOTICE = "answers with TP-Link's default credentials — not bound to your account";

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * True for an IPv4/IPv6 address or a valid DNS host name (letters, digits and hyphens in labels of
 * 1-63 characters, at most 253 in all, an optional final dot) that can be one device: never a
 * broadcast, multicast or unspecified address (see isGroupAddress). Never throws.
 */
export function isValidHost(host: unknown): host is string {
  if (typeof host !== 'string' || host.length === 0 || host.length > 253) return false;
  if (isIP(host) !== 0) return !isGroupAddress(host);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (!name || /^[\d.]+$/.test(name)) return false; // 1.2.3 or 999.1.1.1: not an address, not a name
  return name.split('.').every((l) => LABEL.test(l));
}

/** A dotted IPv4 address as an unsigned 32-bit number (the caller checked it is one). Never throws. */
export const ipv4Number = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/**
 * The IPv4 networks of this machine's interfaces, [address, mask] as numbers. Read at most once
 * every NETWORKS_TTL_MS (a documented cache: `os.networkInterfaces()` costs ~50 µs, and host checks
 * run per message). Never throws.
 */
export function localNetworks(now = Date.now()): [number, number][] {
  if (networks && now - networks.at < NETWORKS_TTL_MS) return networks.list;
  const list: [number, number][] = [];
  try {
    for (const l of Object.values(networkInterfaces())) {
      for (const a of l ?? []) if (a.family === 'IPv4' && isIP(a.netmask) === 4) list.push([ipv4Number(a.address), ipv4Number(a.netmask)]);
    }
  } catch {
    /* no interface list: only the fixed rules apply */
  }
  networks = { at: now, list };
  return list;
}
const NETWORKS_TTL_MS = 10_000;
/** Process-wide cache: localNetworks(), process-wide since the interfaces are (refreshed after NETWORKS_TTL_MS). */
let networks: { at: number; list: [number, number][] } | undefined;

/**
 * Whether an IP address reaches a group rather than one device: unspecified (0.0.0.0, ::),
 * multicast (224.0.0.0/4, ff00::/8), the limited broadcast 255.255.255.255, the directed broadcast
 * of one of this machine's networks, or an x.y.z.255 address outside all of them (on a home
 * network a /24's broadcast). A message must never make the pool send discovery or wake-up
 * broadcasts. Never throws; false for anything that is not an IP address.
 */
export function isGroupAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return isGroupAddress(mapped[1]!);
    return /^ff/i.test(ip) || /^(0*:)*:?0*$/.test(ip) || ip === '::';
  }
  if (v !== 4) return false;
  const n = ipv4Number(ip);
  if (n === 0 || n === 0xffffffff || n >>> 28 === 0xe) return true;
  const last = n & 0xff;
  if ((last & 3) !== 3) return false; // no network of /30 or larger has its broadcast here
  for (const [addr, mask] of localNetworks()) {
    if (mask >>> 0 >= 0xfffffffe) continue;
    if ((n & mask) >>> 0 === (addr & mask) >>> 0) return (n | ~mask) >>> 0 === n;
  }
  return last === 255;
}

/**
 * The host, checked (see isValidHost) and trimmed. Throws KasaTapoError EBADINPUT, whose message
 * quotes the value clipped to 200 characters with control characters escaped.
 */
export function checkHost(host: unknown, what = 'host'): string {
  const h = typeof host === 'string' ? host.trim() : host;
  if (isValidHost(h)) return h;
  const shown = typeof host === 'string' ? `"${clip(host)}"` : typeof host;
  if (typeof h === 'string' && isIP(h) !== 0 && isGroupAddress(h)) {
    throw new KasaTapoError('EBADINPUT', `The ${what} ${shown} is a broadcast, multicast or unspecified address, not one device`);
  }
  throw new KasaTapoError('EBADINPUT', `The ${what} must be an IP address or a host name, not ${shown}`);
}

/**
 * The AES login version a discovery answer announces (its `lv`; 1 for an AES answer without one,
 * which is what firmware older than login v2 sends). For display only: the login version sent is
 * the user's choice, else 2 — an unauthenticated answer never makes us send the password itself.
 * Never throws.
 */
export function discoveredLoginVersion(r: Pick<DiscoveryResult, 'transport' | 'loginVersion'>): 1 | 2 | undefined {
  return r.loginVersion ?? (r.transport === 'aes' ? 1 : undefined);
}

/**
 * How strongly a transport protects the account, for "never move below what the device proved":
 * TPAP 5 > KLAP 4 > AES login v2 3 > AES login v1 2 > XOR 1. Never throws.
 */
export function transportRank(kind: TransportKind, loginVersion?: 1 | 2): number {
  switch (kind) {
    case 'tpap':
      return 5;
    case 'klap':
    case 'klap-v1':
      return 4;
    case 'aes':
      return loginVersion === 1 ? 2 : 3;
    default:
      return 1;
  }
}

/** What a device has proved: the strongest transport it completed a login with (persisted by the pool's owner). */
export interface ProvenRoute {
  kind: TransportKind;
  loginVersion?: 1 | 2;
}

/** Whether `kind` (AES: in `loginVersion`) is weaker than what the device proved (`floor`). Never throws. */
export function belowProven(kind: TransportKind, loginVersion: 1 | 2 | undefined, floor: ProvenRoute | undefined): boolean {
  return floor !== undefined && transportRank(kind, loginVersion) < transportRank(floor.kind, floor.loginVersion);
}

/** Whether two transports are one login: KLAP v1 and v2 (handshake1 proves which). Never throws. */
export function sameTransport(a: TransportKind, b: TransportKind): boolean {
  return a === b || (a.startsWith('klap') && b.startsWith('klap'));
}

/** "KLAP", "AES (login v1)", …: how a transport reads in a sentence. Never throws. */
export function describeRoute(r: ProvenRoute): string {
  const name = r.kind === 'klap-v1' ? 'KLAP' : r.kind.toUpperCase();
  return r.kind === 'aes' && r.loginVersion === 1 ? `${name} (login v1)` : name;
}

/**
 * ENOTTRUSTED for a transport the pool will not follow: `what` says what happened, `announced` and
 * `before` (e.g. "proved KLAP", "is set to TPAP in the list") fill the guided fix 'protocol-changed'.
 * Never throws.
 */
export function changeRefused(host: string, what: string, announced: string, before: string): KasaTapoError {
  return new KasaTapoError('ENOTTRUSTED', what, { host, fix: 'protocol-changed', hint: fixFor('protocol-changed', { announced, before }) });
}

/** Whether `r` is a well-formed ProvenRoute (read back from storage). Never throws. */
export function isProvenRoute(r: unknown): r is ProvenRoute {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  return ['xor', 'klap', 'klap-v1', 'aes', 'tpap'].includes(o.kind as string) && (o.loginVersion === undefined || o.loginVersion === 1 || o.loginVersion === 2);
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
  /** 1 only when the user chose it. */
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
    this.discovered.set(host, { host, port: r.port, discovery: r });
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

/**
 * Loggers already warned, per device: one warning per device and logger, however often it reconnects.
 * Process-wide cache: keyed weakly by the caller's logger, so each logger (a pool's, a node's) has its
 * own set, gone with the logger; bounded by MAX_WARNED per logger.
 */
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
