// Client transports (src/transports) against the simulator's wire servers (src/simulator/wire) on
// loopback: round trips, handshake counts, session expiry and renewal, credentials, and every fault.
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HINTS, isKasaTapoError, type ErrorCode, type KasaTapoError } from '../../src/errors';
import { generateRsaKeyPair, type RsaKeyPair } from '../../src/crypto/rsa';
import { xorDecrypt, xorEncrypt } from '../../src/crypto/xor';
import { startWireServer } from '../../src/simulator/wire';
import type { Faults, SimHandler, WireServer } from '../../src/simulator/types';
import { createTransport, DEFAULT_PORTS, HttpClient, parseSessionCookie, xorUdpRequest } from '../../src/transports';
import type { Credentials, Transport, TransportKind, TransportOptions } from '../../src/types';

const HOST = '127.0.0.1';
const USER: Credentials = { username: 'user@example.com', password: 'great_password' };
const BLANK: Credentials = { username: '', password: '' };
const KASA_DEFAULT: Credentials = { username: 'kasa@tp-link.net', password: 'kasaSetup' };
const TAPO_DEFAULT: Credentials = { username: 'test@tp-link.net', password: 'test' };
const TIMEOUT_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Echo-ish device: answers the request inside an object, counting calls. */
class Echo implements SimHandler {
  calls = 0;
  handle(request: string): string {
    this.calls++;
    return JSON.stringify({ error_code: 0, err_code: 0, echo: JSON.parse(request) as unknown });
  }
}

interface Rig {
  server: WireServer;
  transport: Transport;
  faults: Faults;
  handler: Echo;
}

let keyPairPromise: Promise<RsaKeyPair> | undefined;
let keyPairCalls = 0;
const sharedKeyPair = (): Promise<RsaKeyPair> => {
  keyPairCalls++;
  return (keyPairPromise ??= generateRsaKeyPair());
};

const open: { close(): Promise<void> }[] = [];

async function rig(
  kind: TransportKind,
  o: {
    device?: Credentials;
    client?: Credentials | null;
    deviceLv?: 1 | 2;
    clientLv?: 1 | 2;
    ttl?: number;
    faults?: Faults;
    topts?: Partial<TransportOptions>;
  } = {},
): Promise<Rig> {
  const faults: Faults = o.faults ?? {};
  const handler = new Echo();
  const server = await startWireServer(kind, {
    host: HOST,
    port: 0,
    handler,
    credentials: o.device ?? USER,
    faults,
    ...(o.ttl !== undefined ? { sessionTtlS: o.ttl } : {}),
    ...(o.deviceLv !== undefined ? { loginVersion: o.deviceLv } : {}),
  });
  open.push(server);
  const transport = client(kind, server, { ...(o.clientLv ? { loginVersion: o.clientLv } : {}), ...o.topts }, o.client === undefined ? USER : o.client);
  return { server, transport, faults, handler };
}

function client(kind: TransportKind, server: WireServer, extra: Partial<TransportOptions> = {}, creds: Credentials | null = USER): Transport {
  const t = createTransport(kind, {
    host: HOST,
    port: server.port,
    timeoutMs: TIMEOUT_MS,
    keyPair: sharedKeyPair,
    ...(creds ? { credentials: creds } : {}),
    ...extra,
  });
  open.push(t);
  return t;
}

const smartReq = (i: number): string => JSON.stringify({ method: 'get_device_info', params: { i, name: 'Küche' } });
const iotReq = (i: number): string => JSON.stringify({ system: { get_sysinfo: { i, name: 'Küche' } } });
const reqFor = (kind: TransportKind, i = 0): string => (kind === 'xor' || kind === 'klap-v1' ? iotReq(i) : smartReq(i));

async function roundTrip(r: Rig, kind: TransportKind, i = 0): Promise<void> {
  const req = reqFor(kind, i);
  const answer = (await r.transport.send(req)) as { echo: unknown };
  assert.deepEqual(answer.echo, JSON.parse(req));
}

/** Await a rejection with `code`, within TIMEOUT_MS + 2 s. */
async function expectCode(p: Promise<unknown>, code: ErrorCode, within = TIMEOUT_MS + 2000): Promise<KasaTapoError> {
  const t0 = Date.now();
  try {
    await p;
  } catch (e) {
    assert.ok(isKasaTapoError(e), `untyped error: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(Date.now() - t0 < within, `took ${Date.now() - t0} ms`);
    return e;
  }
  return assert.fail(`expected ${code}, got an answer`);
}

const KINDS: { name: string; kind: TransportKind; lv?: 1 | 2 }[] = [
  { name: 'xor', kind: 'xor' },
  { name: 'klap-v1', kind: 'klap-v1' },
  { name: 'klap', kind: 'klap' },
  { name: 'aes login v2', kind: 'aes', lv: 2 },
  { name: 'aes login v1', kind: 'aes', lv: 1 },
];

/** Faults, the error each transport ends in, and whether the listener must be waited for. */
const FAULTS: { name: string; set: () => Faults; code: ErrorCode; waitListener?: boolean }[] = [
  { name: 'latency beyond the timeout', set: () => ({ latencyMs: TIMEOUT_MS + 1000 }), code: 'ETIMEDOUT' },
  { name: 'dropConnection', set: () => ({ dropConnection: true }), code: 'ECONNRESET' },
  { name: 'truncate', set: () => ({ truncate: true }), code: 'ECONNRESET' },
  { name: 'lyingLength', set: () => ({ lyingLength: true }), code: 'ETOOBIG' },
  { name: 'garbage', set: () => ({ garbage: true }), code: 'EPROTOCOL' },
  { name: 'invalidJson', set: () => ({ invalidJson: true }), code: 'EPROTOCOL' },
  { name: 'refuse', set: () => ({ refuse: true }), code: 'ECONNREFUSED', waitListener: true },
  { name: 'offlineUntil', set: () => ({ offlineUntil: Date.now() + 400 }), code: 'ECONNREFUSED', waitListener: true },
];

function clearFaults(f: Faults): void {
  for (const k of Object.keys(f)) delete (f as Record<string, unknown>)[k];
}

describe('transports against the wire servers', function () {
  this.timeout(20000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });

  it('DEFAULT_PORTS', () => {
    assert.deepEqual({ ...DEFAULT_PORTS }, { xor: 9999, klap: 80, 'klap-v1': 80, aes: 80, tpap: 80 });
  });

  for (const { name, kind, lv } of KINDS) {
    describe(name, () => {
      const base = lv ? { deviceLv: lv, clientLv: lv } : {};

      it('round-trips 50 requests with exactly one handshake', async () => {
        const r = await rig(kind, base);
        for (let i = 0; i < 50; i++) await roundTrip(r, kind, i);
        assert.equal(r.transport.stats.handshakes, 1);
        assert.equal(r.transport.stats.requests, 50);
        assert.equal(r.server.stats.handshakes, 1);
        assert.equal(r.server.stats.requests, 50);
        assert.equal(r.server.stats.connections, 1);
        assert.equal(r.server.stats.maxConcurrent, 1);
        assert.equal(r.handler.calls, 50);
      });

      for (const f of FAULTS) {
        it(`fault ${f.name} → ${f.code}, then recovers`, async () => {
          const r = await rig(kind, base);
          await roundTrip(r, kind, 1);
          Object.assign(r.faults, f.set());
          if (f.waitListener) await sleep(100);
          const before = process.memoryUsage().arrayBuffers;
          await expectCode(r.transport.send(reqFor(kind, 2)), f.code);
          if (f.name === 'lyingLength') assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no big allocation');
          const offline = r.faults.offlineUntil;
          clearFaults(r.faults);
          if (offline) await sleep(Math.max(0, offline - Date.now()));
          if (f.waitListener) await sleep(150);
          await roundTrip(r, kind, 3);
        });
      }

      it('fault busyCode: the device answer is passed through untouched (the protocol layer maps it)', async () => {
        const r = await rig(kind, { ...base, faults: { busyCode: -1301 } });
        const answer = await r.transport.send(reqFor(kind));
        const smart = kind === 'klap' || kind === 'aes';
        assert.deepEqual(answer, smart ? { error_code: -1301 } : { err_code: -1, err_msg: 'busy' });
        assert.equal(r.handler.calls, 0);
        clearFaults(r.faults);
        await roundTrip(r, kind);
      });

      it('fault singleConnection: a second client is cut off while the first holds its connection', async () => {
        const r = await rig(kind, { ...base, faults: { singleConnection: true } });
        await roundTrip(r, kind);
        const second = client(kind, r.server, lv ? { loginVersion: lv } : {});
        await expectCode(second.send(reqFor(kind)), 'ECONNRESET');
        await roundTrip(r, kind);
        await r.transport.close();
        await sleep(100);
        assert.ok(await second.send(reqFor(kind)));
      });

      it('fault expireSessionEvery: the session ends; after reset() the next request works', async () => {
        const r = await rig(kind, { ...base, faults: { expireSessionEvery: 3 } });
        for (let i = 0; i < 3; i++) await roundTrip(r, kind, i);
        if (kind === 'xor') {
          // XOR has no session: the device closes the connection, the transport reconnects by itself
          // (no pause here: the next request may cross the device's FIN, and is then resent once).
          await roundTrip(r, kind, 3);
        } else {
          await expectCode(r.transport.send(reqFor(kind)), 'ESESSION');
          assert.equal(r.server.stats.expired, 1);
          r.transport.reset();
          await roundTrip(r, kind, 4);
        }
        assert.equal(r.transport.stats.handshakes, 2);
        assert.equal(r.server.stats.handshakes, 2);
      });

      it('expireSessions(): one ESESSION (XOR: a transparent reconnect), then works again', async () => {
        const r = await rig(kind, base);
        await roundTrip(r, kind);
        r.server.expireSessions();
        if (kind === 'xor') await sleep(50);
        else await expectCode(r.transport.send(reqFor(kind)), 'ESESSION');
        await roundTrip(r, kind);
        assert.equal(r.transport.stats.handshakes, 2);
      });

      if (kind !== 'xor') {
        it('renews a short session (TIMEOUT=1 s) proactively, without an error', async () => {
          const r = await rig(kind, { ...base, ttl: 1 });
          await roundTrip(r, kind);
          await sleep(1100);
          await roundTrip(r, kind);
          assert.equal(r.transport.stats.handshakes, 2);
          assert.equal(r.server.stats.expired, 0);
        });

        it('wrong password → EAUTH with the credentials hint', async () => {
          const r = await rig(kind, { ...base, client: { username: USER.username, password: 'wrong' } });
          const e = await expectCode(r.transport.send(reqFor(kind)), 'EAUTH');
          assert.equal(e.hint, HINTS.auth);
          // One login and no other after the -1501: no downgrade to the other version, no default account.
          if (kind === 'aes') assert.equal(r.server.stats.authFailures, 1);
        });

        it('forbidHandshake → EAUTH mentioning Third-Party Compatibility', async () => {
          const r = await rig(kind, { ...base, faults: { forbidHandshake: true } });
          const e = await expectCode(r.transport.send(reqFor(kind)), 'EAUTH');
          assert.match(e.message, /Third-Party Compatibility/);
          assert.equal(e.httpStatus, 403);
        });
      }
    });
  }

  describe('KLAP specifics', () => {
    const fallbacks: [TransportKind, string, Credentials][] = [
      ['klap', 'blank', BLANK],
      ['klap-v1', 'blank', BLANK],
      ['klap-v1', 'the Kasa default', KASA_DEFAULT],
      ['klap', 'the Tapo default', TAPO_DEFAULT],
    ];
    for (const [kind, what, device] of fallbacks) {
      it(`${kind}: device bound to ${what} credentials, client with user credentials → works, flagged as default`, async () => {
        const warnings: string[] = [];
        const r = await rig(kind, { device, topts: { logger: { warn: (m) => warnings.push(m) } } });
        await roundTrip(r, kind);
        assert.equal(r.server.stats.authFailures, 0);
        assert.equal(r.transport.defaultCredentials, true);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /answers with TP-Link's default credentials — not bound to your account/);
      });
    }

    it('klap: device bound to the user → not flagged', async () => {
      const r = await rig('klap');
      await roundTrip(r, 'klap');
      assert.equal(r.transport.defaultCredentials, false);
    });

    it('klap: no client credentials → blank ones', async () => {
      const r = await rig('klap', { device: BLANK, client: null });
      await roundTrip(r, 'klap');
    });

    it('re-handshakes instead of letting the sequence number wrap', async () => {
      const r = await rig('klap');
      await roundTrip(r, 'klap');
      const session = (r.transport as unknown as { session: { cipher: { seq: number } } }).session;
      // Pretend the session is at the end of the int32 range (the device accepts any higher seq).
      session.cipher.seq = 0x7ffffffe;
      await roundTrip(r, 'klap');
      assert.equal(r.transport.stats.handshakes, 1);
      await roundTrip(r, 'klap');
      assert.equal(r.transport.stats.handshakes, 2);
    });

    it('against an AES device → EUNSUPPORTED (404 on handshake1)', async () => {
      const r = await rig('aes');
      const k = client('klap', r.server);
      await expectCode(k.send(smartReq(0)), 'EUNSUPPORTED');
    });
  });

  describe('AES specifics', () => {
    it('login v2 refused with -1501 → EAUTH, never a retry with login v1', async () => {
      const r = await rig('aes', { deviceLv: 1 });
      const e = await expectCode(r.transport.send(smartReq(0)), 'EAUTH');
      assert.match(e.message, /aes-v1/);
      assert.equal(r.server.stats.authFailures, 1);
      assert.equal(r.server.stats.handshakes, 0);
    });

    it('login v1 only when chosen (loginVersion: 1) → works', async () => {
      const r = await rig('aes', { deviceLv: 1, clientLv: 1 });
      await roundTrip(r, 'aes');
      assert.equal(r.server.stats.authFailures, 0);
      assert.equal(r.transport.defaultCredentials, false);
    });

    it('device bound to the TAPO default account: user credentials → EAUTH, nothing more sent', async () => {
      const r = await rig('aes', { device: TAPO_DEFAULT });
      await expectCode(r.transport.send(smartReq(0)), 'EAUTH');
      assert.equal(r.server.stats.authFailures, 1);
    });

    it('device bound to the TAPO default account, no user credentials → works, flagged as default', async () => {
      const r = await rig('aes', { device: TAPO_DEFAULT, client: null });
      await roundTrip(r, 'aes');
      assert.equal(r.transport.defaultCredentials, true);
    });

    it('probe(): the RSA handshake alone, no login', async () => {
      const r = await rig('aes');
      await (r.transport as unknown as { probe(): Promise<void> }).probe();
      assert.equal(r.server.stats.authFailures + r.server.stats.handshakes, 0);
      const k = await rig('klap');
      const a = client('aes', k.server) as unknown as { probe(): Promise<void> };
      await expectCode(a.probe(), 'EUNSUPPORTED');
    });

    it('against a KLAP device → EUNSUPPORTED (error 1003, wants KLAP)', async () => {
      const r = await rig('klap');
      const a = client('aes', r.server);
      const e = await expectCode(a.send(smartReq(0)), 'EUNSUPPORTED');
      assert.equal(e.deviceCode, 1003);
      assert.match(e.message, /KLAP/);
    });

    it('asks opts.keyPair once per transport', async () => {
      const r = await rig('aes', { faults: { expireSessionEvery: 1 } });
      const calls = keyPairCalls;
      for (let i = 0; i < 2; i++) {
        await roundTrip(r, 'aes', i);
        await expectCode(r.transport.send(smartReq(9)), 'ESESSION');
      }
      // Two sessions in a row ended at their second request: a handshake before each request now.
      await roundTrip(r, 'aes', 2);
      await roundTrip(r, 'aes', 3);
      assert.equal(r.transport.stats.handshakes, 4);
      assert.ok(keyPairCalls - calls <= 1);
    });

    it('generates its own RSA key pair without opts.keyPair (no --security-revert needed)', async () => {
      const r = await rig('aes', { topts: { keyPair: undefined as unknown as TransportOptions['keyPair'] } });
      const own = createTransport('aes', { host: HOST, port: r.server.port, credentials: USER, timeoutMs: 2000 });
      open.push(own);
      assert.deepEqual(((await own.send(smartReq(5))) as { echo: unknown }).echo, JSON.parse(smartReq(5)));
    });
  });

  describe('XOR specifics', () => {
    it('a device that closes after every answer costs no error, only reconnects', async () => {
      const r = await rig('xor', { faults: { expireSessionEvery: 1 } });
      for (let i = 0; i < 20; i++) await roundTrip(r, 'xor', i);
      assert.equal(r.server.stats.requests, 20);
      assert.equal(r.transport.stats.handshakes, r.server.stats.connections);
    });

    it('ETOOBIG when a real frame exceeds maxResponseBytes', async () => {
      const r = await rig('xor', { topts: { maxResponseBytes: 64 } });
      await expectCode(r.transport.send(iotReq(0)), 'ETOOBIG');
    });

    it('ECONNREFUSED when nothing listens', async () => {
      const r = await rig('xor');
      const port = r.server.port;
      await r.server.close();
      const t = createTransport('xor', { host: HOST, port, timeoutMs: TIMEOUT_MS });
      open.push(t);
      await expectCode(t.send(iotReq(0)), 'ECONNREFUSED');
    });

    it('ECLOSED after close()', async () => {
      const r = await rig('xor');
      await r.transport.close();
      await expectCode(r.transport.send(iotReq(0)), 'ECLOSED');
    });

    it('xorUdpRequest: one datagram each way; ETIMEDOUT when nobody answers', async () => {
      const sock = dgram.createSocket('udp4');
      open.push({ close: () => new Promise<void>((res) => sock.close(() => res())) });
      sock.on('message', (msg, rinfo) => {
        const req = JSON.parse(xorDecrypt(msg).toString('utf8')) as unknown;
        sock.send(xorEncrypt(JSON.stringify({ echo: req })), rinfo.port, rinfo.address);
      });
      await new Promise<void>((res) => sock.bind(0, HOST, () => res()));
      const port = sock.address().port;
      assert.deepEqual(await xorUdpRequest(HOST, port, iotReq(1), 1000), { echo: JSON.parse(iotReq(1)) });
      const mute = dgram.createSocket('udp4');
      open.push({ close: () => new Promise<void>((res) => mute.close(() => res())) });
      await new Promise<void>((res) => mute.bind(0, HOST, () => res()));
      await expectCode(xorUdpRequest(HOST, mute.address().port, iotReq(1), 300), 'ETIMEDOUT');
    });
  });

  describe('HTTP client', () => {
    it('parseSessionCookie', () => {
      assert.deepEqual(parseSessionCookie('TP_SESSIONID=ABC;TIMEOUT=1440'), { id: 'ABC', timeoutS: 1440 });
      assert.deepEqual(parseSessionCookie(['SESSIONID=x1; Path=/', 'other=1']), { id: 'x1', timeoutS: 86400 });
      assert.deepEqual(parseSessionCookie(undefined), { timeoutS: 86400 });
      assert.deepEqual(parseSessionCookie('TP_SESSIONID=Q; TIMEOUT=abc'), { id: 'Q', timeoutS: 86400 });
    });

    it('ETOOBIG on a chunked answer above the cap; explicit Content-Length on requests', async () => {
      let seenLength: string | undefined;
      let seenChunked: string | undefined;
      const server = http.createServer((req, res) => {
        seenLength = req.headers['content-length'];
        seenChunked = req.headers['transfer-encoding'];
        req.resume();
        req.on('end', () => {
          res.write(Buffer.alloc(600));
          res.end(Buffer.alloc(600));
        });
      });
      await new Promise<void>((res) => server.listen(0, HOST, () => res()));
      open.push({ close: () => new Promise<void>((res) => server.close(() => res())) });
      const c = new HttpClient(HOST, (server.address() as AddressInfo).port, 1000, 1000);
      open.push({ close: async () => c.close() });
      await expectCode(c.post('/app', Buffer.from('hello')), 'ETOOBIG');
      assert.equal(seenLength, '5');
      assert.equal(seenChunked, undefined);
    });
  });

  it('leaves no socket, server or timer open after close', async () => {
    const count = (): Record<string, number> => {
      const c: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) if (/TCP|UDP|Timeout|Pipe/.test(r)) c[r] = (c[r] ?? 0) + 1;
      return c;
    };
    await sleep(50);
    const before = count();
    const rigs: Rig[] = [];
    for (const { kind, lv } of KINDS) rigs.push(await rig(kind, lv ? { deviceLv: lv, clientLv: lv } : {}));
    assert.ok((count().TCPServerWrap ?? 0) >= (before.TCPServerWrap ?? 0) + KINDS.length, 'servers are seen');
    for (const [i, r] of rigs.entries()) {
      await roundTrip(r, KINDS[i]!.kind);
      r.faults.latencyMs = 5000; // leaves a pending server timer and a timed-out client request
      await expectCode(r.transport.send(reqFor(KINDS[i]!.kind)), 'ETIMEDOUT');
    }
    await Promise.all(open.splice(0).map((x) => x.close()));
    let after = count();
    for (let i = 0; i < 40 && JSON.stringify(after) !== JSON.stringify(before); i++) {
      await sleep(50);
      after = count();
    }
    assert.deepEqual(after, before);
  });
});
