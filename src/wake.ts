/**
 * Wake-up: some firmware (Tapo 1.4.6 and others) keeps its HTTP port closed until a UDP 20002
 * discovery probe arrives from the client, then opens it within a moment. `wakeDevice` sends that
 * one unicast TDP probe (the one discovery builds) to the device's own address and does not wait
 * for an answer; connect() sends it after a refused connection, waits WAKE_WAIT_MS and retries
 * once, and the pool sends it before its first connect to an HTTP device.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { RsaKeyPair } from './crypto/rsa';
import { DISCOVERY_PORTS } from './defaults';
import { buildTdpProbe } from './discovery';
import type { Logger } from './types';

export interface WakeOptions {
  /** The RSA key whose public half goes into the probe. */
  keyPair: () => Promise<RsaKeyPair>;
  /** UDP port of the probe. Default 20002. */
  port?: number;
  logger?: Logger;
}

/** Send one UDP 20002 probe to `host` (an IP address; host names are skipped). Resolves once sent; never rejects. */
export async function wakeDevice(host: string, opts: WakeOptions): Promise<void> {
  const family = isIP(host);
  if (family === 0) return;
  try {
    const probe = buildTdpProbe((await opts.keyPair()).publicPem);
    const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => {
      sock.once('error', () => resolve());
      sock.send(probe, opts.port ?? DISCOVERY_PORTS.tdp, host, () => resolve());
    });
    try {
      sock.close();
    } catch {
      // already closed after an error
    }
    opts.logger?.debug?.(`${host}: sent a UDP ${opts.port ?? DISCOVERY_PORTS.tdp} wake-up probe`);
  } catch (e) {
    opts.logger?.debug?.(`${host}: wake-up probe not sent (${e instanceof Error ? e.message : String(e)})`);
  }
}
