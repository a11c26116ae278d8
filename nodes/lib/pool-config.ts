/** Reading the tplink-pool config: its device list and its credentials. */
import { isValidHost, type Credentials, type TransportChoice } from '../../src/index';
import type { PoolDeviceConfig } from '../../src/pool';
import { text } from './device';

/**
 * The editor's transport choices; 'aes-v1' is AES with the old login v1, 'tpap-nopw' TPAP that
 * accepts a login transform without the password (both the user's choice for that device only).
 */
const TRANSPORTS: readonly string[] = ['auto', 'xor', 'klap', 'klap-v1', 'aes', 'aes-v1', 'tpap', 'tpap-nopw'];

/** The editor's device list, cleaned: entries without a valid host (an IP address or a host name) are skipped. */
export function parseDeviceList(v: unknown): PoolDeviceConfig[] {
  if (!Array.isArray(v)) return [];
  const out: PoolDeviceConfig[] = [];
  for (const d of v.slice(0, 1000)) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    const host = text(o.host);
    if (!host || !isValidHost(host)) continue;
    const cfg: PoolDeviceConfig = { host };
    const alias = text(o.alias);
    if (alias) cfg.alias = alias;
    const port = Number(o.port);
    if (o.port !== '' && o.port !== undefined && Number.isInteger(port) && port > 0 && port < 65536) cfg.port = port;
    const t = text(o.transport);
    if (t === 'aes-v1') Object.assign(cfg, { transport: 'aes', loginVersion: 1 });
    else if (t === 'tpap-nopw') Object.assign(cfg, { transport: 'tpap', tpapAllowNoPassword: true });
    else if (t && TRANSPORTS.includes(t)) cfg.transport = t as TransportChoice;
    out.push(cfg);
  }
  return out;
}

/** Credentials from the node's Node-RED credentials; undefined without a username. */
export function credentialsOf(c: Record<string, string | undefined> | undefined): Credentials | undefined {
  const username = text(c?.username);
  return username ? { username, password: c?.password ?? '' } : undefined;
}
