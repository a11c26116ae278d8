/**
 * Wake-up: some firmware (Tapo 1.4.6 and others) keeps its HTTP port closed until a UDP 20002
 * discovery probe arrives from the client, then opens it within a moment. `wakeDevice` sends that
 * one unicast TDP probe (the one discovery builds) to the device's own address and does not wait
 * for an answer; connect() sends it after a refused connection, waits until the port accepts a TCP
 * connection (`waitForPort`, at most WAKE_MAX_WAIT_MS) and retries once, and the pool sends it
 * before its first connect to an HTTP device.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { isIP } from 'node:net';
import type { RsaKeyPair } from './crypto/rsa';
import { DISCOVERY_PORTS } from './defaults';
import { buildTdpProbe } from './discovery';
import { sleep } from './sleep';
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

/** Does `host:port` accept a TCP connection within `timeoutMs`? False at once when `signal` aborts. Never rejects. */
function accepts(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      sock.destroy();
      resolve(ok);
    };
    const aborted = (): void => done(false);
    const timer = setTimeout(aborted, timeoutMs);
    signal?.addEventListener('abort', aborted, { once: true });
    sock.once('connect', () => done(true));
    sock.once('error', aborted);
  });
}

/**
 * After a wake-up probe: look every `stepMs` whether `host:port` accepts a TCP connection, for at
 * most `maxMs` (at most maxMs / stepMs + 1 looks). True as soon as it does; false when the time is
 * up or `signal` aborts. Never rejects.
 */
export async function waitForPort(host: string, port: number, stepMs: number, maxMs: number, signal?: AbortSignal): Promise<boolean> {
  const end = Date.now() + maxMs;
  const looks = Math.ceil(maxMs / Math.max(1, stepMs)) + 1;
  for (let i = 0; i < looks && !signal?.aborted; i++) {
    await sleep(stepMs, signal);
    if (signal?.aborted) return false;
    if (await accepts(host, port, Math.max(50, Math.min(stepMs, end - Date.now())), signal)) return true;
    if (Date.now() >= end) return false;
  }
  return false;
}
