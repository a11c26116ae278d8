// Hostile input for the toolkit parsers: mutated and random pcap files through decodeCapture,
// mutated TDDP packets, hostile cloud answers and hostile requests to the simulated cloud. Each
// ends in a result or a KasaTapoError, never another exception. Seeded; the seed is in the title.
import { strict as assert } from 'node:assert';
import { randomInt } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudLogin } from '../../src/cloud';
import { connect } from '../../src/connect';
import { decodeCapture } from '../../src/decode';
import { isKasaTapoError } from '../../src/errors';
import { startSimulatedCloud, startSimulatedDevice } from '../../src/simulator';
import { buildTddpPacket, parseTddpPacket, tddpDecrypt, tddpKey } from '../../src/tddp';
import { PcapWriter, startPcapRelay } from '../helpers/pcap';

const SEED = Number(process.env['KASA_FUZZ_SEED'] ?? randomInt(0, 2 ** 31));
const N = Math.min(Number(process.env['KASA_FUZZ_N'] ?? 1500), 20000);

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(r: () => number, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const edits = 1 + Math.floor(r() * 6);
  let cur = out;
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * Math.max(1, cur.length));
    const k = r();
    if (k < 0.5) cur[at] = Math.floor(r() * 256);
    else if (k < 0.7) cur = cur.subarray(0, at);
    else if (k < 0.85) cur = Buffer.concat([cur.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0x7f]), cur.subarray(at)]);
    else cur = Buffer.concat([cur.subarray(0, at), cur.subarray(Math.min(cur.length, at + 1 + Math.floor(r() * 40)))]);
  }
  return cur;
}

const typedOrOk = (f: () => unknown, what: string): void => {
  try {
    f();
  } catch (e) {
    assert.ok(isKasaTapoError(e), `${what}: ${String(e)} (seed ${SEED})`);
  }
};

describe(`toolkit fuzz (seed ${SEED}, ${N} inputs)`, function () {
  this.timeout(60000);
  let capture: Buffer;

  before(async () => {
    const creds = { username: 'fz@example.com', password: 'fz' };
    const w = new PcapWriter();
    for (const [id, transport] of [
      ['hs100', 'xor'],
      ['p110', 'klap'],
    ] as const) {
      const dev = await startSimulatedDevice(id, { credentials: creds });
      const relay = await startPcapRelay({ host: dev.host, port: dev.port }, w);
      const c = await connect({ host: relay.host, port: relay.port, transport, credentials: creds, retries: 0 });
      await c.getState();
      await c.close();
      await relay.close();
      await dev.close();
    }
    capture = w.toBuffer();
  });

  it('decodeCapture: mutated captures and random bytes', () => {
    const r = rng(SEED);
    for (let i = 0; i < N; i++) {
      const input =
        i % 5 === 0
          ? Buffer.concat([capture.subarray(0, 24), Buffer.from(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)))])
          : mutate(r, capture);
      typedOrOk(() => decodeCapture(input, { credentials: { username: 'fz@example.com', password: 'fz' } }), `decode case ${i}`);
    }
  });

  it('TDDP packets: mutated replies', () => {
    const r = rng(SEED + 1);
    const key = tddpKey('admin', 'admin');
    const good = buildTddpPacket({ version: 2, type: 3, code: 2, replyInfo: 0, packetId: 1, subtype: 0x12, payload: Buffer.alloc(40, 7) });
    for (let i = 0; i < N; i++) {
      const input = mutate(r, good);
      typedOrOk(() => {
        const p = parseTddpPacket(input);
        tddpDecrypt(key, p.payload);
      }, `tddp case ${i}`);
    }
  });

  it('cloud client: hostile answers end in typed errors', async () => {
    const r = rng(SEED + 2);
    const answers: (() => [number, string])[] = [
      () => [200, 'not json'],
      () => [200, '[]'],
      () => [200, '{"error_code":"0"}'],
      () => [200, '{"error_code":0,"result":{"token":7}}'],
      () => [200, '{"error_code":0,"result":{"__proto__":{"token":"x"}}}'],
      () => [500, '{}'],
      () => [200, '{"error_code":-99999,"msg":"\\u0000weird"}'],
      () => [200, '{"error_code":-99998,"msg":"your password secret-zz is wrong"}'],
      () => [200, '{"error_code":0,"result":' + '['.repeat(200) + ']'.repeat(200) + '}'],
      () => [200, Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256))).toString('latin1')],
    ];
    let next = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const [status, body] = answers[next++ % answers.length]!();
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (let i = 0; i < answers.length * 2; i++) {
        await assert.rejects(
          cloudLogin({ username: 'a@b.c', password: 'secret-zz', baseUrl: url, timeoutMs: 3000 }),
          (e: unknown) => isKasaTapoError(e) && !e.message.includes('secret-zz'),
        );
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('simulated cloud: hostile requests get cloud errors, never a crash', async () => {
    const cloud = await startSimulatedCloud({ credentials: { username: 'u', password: 'p' }, devices: [] });
    try {
      const r = rng(SEED + 3);
      const bodies = [
        '',
        'x',
        '[]',
        '{"method":"passthrough"}',
        '{"method":"login","params":[]}',
        '{"method":"__proto__"}',
        '{"method":"login","params":{"cloudUserName":"u","cloudPassword":"p","__proto__":{"a":1}}}',
      ];
      for (let i = 0; i < 60; i++) {
        const body =
          i < bodies.length ? bodies[i]! : Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))).toString('latin1');
        const res = await fetch(cloud.url + '/?token=' + encodeURIComponent(String(i)), { method: 'POST', body });
        const j = (await res.json()) as { error_code: unknown };
        assert.equal(typeof j.error_code, 'number');
      }
    } finally {
      await cloud.close();
    }
  });
});
