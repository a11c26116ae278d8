/**
 * A hand-made TPAP device on loopback (port 0): answers each login step (`discover`,
 * `pake_register`, `pake_share`) from `steps`, and records the steps it was asked for. A step
 * without an answer gets `-1008`. For hostile and misbehaving devices in tests.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tpapDeriveSecrets, tpapDeviceShare } from '../../src/crypto/tpap';
import { TpapTransport } from '../../src/transports/tpap';
import type { TransportOptions } from '../../src/types';

export interface FakeTpap {
  port: number;
  /** The login steps received, in order. */
  calls: string[];
  close(): Promise<void>;
}

export async function fakeTpapDevice(steps: Record<string, (params: Record<string, unknown>) => unknown>, host = '127.0.0.1'): Promise<FakeTpap> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let answer: unknown = { error_code: -1 };
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { params: Record<string, unknown> };
        const step = String(body.params.sub_method);
        calls.push(step);
        answer = steps[step] ? steps[step](body.params) : { error_code: -1008 };
      } catch {
        calls.push(req.url ?? '?');
      }
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * One TpapTransport request against a fake device answering the login steps from `steps`: the
 * error it ended in (undefined on success) and the steps the device was asked for.
 */
export async function tpapLoginAgainst(
  steps: Record<string, (params: Record<string, unknown>) => unknown>,
  opts: Omit<TransportOptions, 'host' | 'port'>,
): Promise<{ error: unknown; calls: string[] }> {
  const dev = await fakeTpapDevice(steps);
  const t = new TpapTransport({ host: '127.0.0.1', port: dev.port, timeoutMs: 2000, ...opts });
  try {
    const error = await t.send('{"method":"get_device_info"}').then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, calls: dev.calls };
  } finally {
    await t.close();
    await dev.close();
  }
}

/** The login answers of a TPAP device that knows `cred` (the PBKDF2 input; 10 iterations, a fixed salt). */
export interface TpapAnswers {
  /** `discover`: a plain-HTTP profile with the user password and a MAC. */
  discover(): unknown;
  /** `pake_register`, with `over` replacing or adding result fields. */
  register(over?: Record<string, unknown>): unknown;
}

export async function tpapAnswers(cred: string): Promise<TpapAnswers> {
  const salt = Buffer.alloc(16, 7);
  const devShare = tpapDeviceShare((await tpapDeriveSecrets(cred, salt, 10)).w).R.toString('base64');
  return {
    discover: () => ({ error_code: 0, result: { mac: '00-11-22-33-44-55', tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } } }),
    register: (over = {}) => ({
      error_code: 0,
      result: {
        dev_random: Buffer.alloc(32, 1).toString('base64'),
        dev_salt: salt.toString('base64'),
        dev_share: devShare,
        cipher_suites: 1,
        iterations: 10,
        encryption: 'aes_128_ccm',
        ...over,
      },
    }),
  };
}
