/**
 * A discovery answer is a hint (src/trust.ts): the pool never leaves a transport the user pinned,
 * never moves an `auto` device below what it proved (also in a new pool given what an old one
 * proved), counts every login that reached the proof step, refuses TPAP transforms without the
 * password and absurd iteration counts, and never treats a group address as a device.
 */
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { clearRouteCache, connect } from '../../src/connect';
import { discover, discoverSingle } from '../../src/discovery';
import { KasaTapoError } from '../../src/errors';
import { Pool, type DeviceChange } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import { isGroupAddress, isValidHost } from '../../src/trust';
import { xorEncrypt } from '../../src/crypto/xor';
import { startFakeAes, type FakeAes } from '../helpers/fake-aes';
import { fakeTpapDevice, tpapLoginAgainst, tpapAnswers, type TpapAnswers } from '../helpers/fake-tpap';
import { pollOnClock } from '../helpers/clock';
import { startImpostor, type Impostor } from '../helpers/impostor';
import { randomBase } from '../helpers/net';
import { failure } from '../helpers/failure';

const credentials = { username: 'trust@example.com', password: 'Trust-Pass-1' };
const codeOf = (e: unknown): string => (e instanceof KasaTapoError ? e.code : String(e));

describe('trust: no downgrade by a discovery answer', function () {
  this.timeout(30000);
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    clearRouteCache();
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** A simulated device at a fresh address; later replaced by an impostor announcing `as`. */
  async function deviceThenImpostor(
    profile: string,
    as: 'aes' | 'xor',
    useFirst: (sim: SimulatedDevice) => Promise<void>,
  ): Promise<{ host: string; fake: FakeAes; imp: Impostor }> {
    const host = `${randomBase()}.7`;
    const sim = await startSimulatedDevice(profile, { host, port: 0, credentials, discovery: true });
    try {
      await useFirst(sim);
    } finally {
      await sim.close();
    }
    const fake = await startFakeAes(host);
    const imp = await startImpostor({ host, as, httpPort: fake.port });
    cleanup.push(
      () => fake.close(),
      () => imp.close(),
    );
    return { host, fake, imp };
  }

  for (const [profile, pin] of [
    ['p110', 'klap'],
    ['p110tpap', 'tpap'],
  ] as const) {
    for (const as of ['aes', 'xor'] as const) {
      it(`a device pinned to ${pin} stays on it when its address answers discovery as ${as}`, async () => {
        let pool: Pool | undefined;
        const changes: DeviceChange[] = [];
        const { fake, imp } = await deviceThenImpostor(profile, as, async (sim) => {
          pool = new Pool({ credentials, devices: [{ alias: 'plug', host: sim.host, port: sim.port, transport: pin }], timeoutMs: 1500, retries: 0 });
          cleanup.push(() => pool!.close());
          pool.on('protocol-changed', (_k, c) => changes.push(c));
          assert.equal((await pool.device('plug').getState()).alias !== undefined, true);
        });
        const e = await failure(pool!.device('plug').getState());
        assert.equal(e.code, 'ENOTTRUSTED', e.message);
        assert.equal(e.fix, 'protocol-changed');
        assert.match(e.message, /change it in|Accept|accept the change/i);
        assert.equal(changes.length, 1, 'one protocol-changed event');
        assert.equal(changes[0]!.error?.code, 'ENOTTRUSTED');
        assert.ok(imp.probes >= 1, 'the impostor answered discovery');
        assert.equal(fake.handshakes + fake.logins.length, 0, 'no AES handshake or login reached the impostor');
        assert.equal(imp.xorConnections, 0, 'no XOR request reached the impostor');
      });
    }
  }

  for (const as of ['aes', 'xor'] as const) {
    it(`an auto device that proved KLAP is not moved to ${as} by a new pool given what the old one proved`, async () => {
      let saved: ReturnType<Pool['provenRoutes']> = {};
      const { host, fake, imp } = await deviceThenImpostor('p110', as, async (sim) => {
        const pool = new Pool({ credentials, devices: [{ alias: 'plug', host: sim.host }], timeoutMs: 1500, retries: 0 });
        const proven: string[] = [];
        pool.on('proven', (h, r) => proven.push(`${h} ${r.kind}`));
        try {
          assert.ok((await pool.device('plug').getState()).alias);
          saved = pool.provenRoutes();
          assert.deepEqual(proven, [`${sim.host} klap`]);
        } finally {
          await pool.close();
        }
      });
      // "After a restart": a new pool that knows only what was saved.
      clearRouteCache();
      const pool = new Pool({ credentials, devices: [{ alias: 'plug', host }], proven: saved, timeoutMs: 1500, retries: 0 });
      cleanup.push(() => pool.close());
      const e = await failure(pool.device('plug').getState());
      assert.equal(e.code, 'ENOTTRUSTED', e.message);
      assert.equal(e.fix, 'protocol-changed');
      assert.equal(fake.handshakes + fake.logins.length, 0, 'no AES handshake or login');
      assert.equal(imp.xorConnections, 0, 'no XOR request');
      // The user accepts the change: the pool forgets what the host proved (and may then follow).
      pool.forgetProven(host);
      assert.deepEqual(pool.provenRoutes(), {});
    });
  }

  it('a login with default credentials proves nothing: the floor is not raised', async () => {
    const host = `${randomBase()}.12`;
    const sim = await startSimulatedDevice('p110', { host, port: 0, credentials: { username: '', password: '' }, discovery: true });
    const pool = new Pool({ credentials, devices: [{ alias: 'fresh', host }], timeoutMs: 1500, retries: 0 });
    try {
      assert.equal((await pool.device('fresh').getState()).defaultCredentials, true);
      assert.deepEqual(pool.provenRoutes(), {});
    } finally {
      await pool.close();
      await sim.close();
    }
  });

  it('a listed auto device announcing AES without lv gets login v2, never v1', async () => {
    const host = `${randomBase()}.9`;
    const fake = await startFakeAes(host);
    const imp = await startImpostor({ host, as: 'aes', httpPort: fake.port });
    cleanup.push(
      () => fake.close(),
      () => imp.close(),
    );
    const pool = new Pool({ credentials, devices: [{ alias: 'old', host }], timeoutMs: 1500, retries: 0 });
    cleanup.push(() => pool.close());
    const e = await failure(pool.device('old').getState());
    assert.equal(e.code, 'EAUTH');
    assert.equal(fake.logins.length, 1);
    assert.equal(fake.logins[0]!.password, undefined, 'no login v1 (the password itself)');
    assert.equal(typeof fake.logins[0]!.password2, 'string');
  });

  it('pool.discover() adds AES trust only with trustAes', async () => {
    const host = `${randomBase()}.11`;
    const fake = await startFakeAes(host);
    const imp = await startImpostor({ host, as: 'aes', httpPort: fake.port, broadcast: '127.255.255.255' });
    cleanup.push(
      () => fake.close(),
      () => imp.close(),
    );
    const pool = new Pool({ credentials, timeoutMs: 1500, retries: 0 });
    cleanup.push(() => pool.close());
    const found = await pool.discover({ broadcast: '127.255.255.255', timeoutMs: 600 });
    assert.ok(found.some((r) => r.host === host));
    const e = await failure(pool.device(host).getState());
    assert.equal(e.code, 'ENOTTRUSTED');
    assert.equal(fake.logins.length, 0);
    await pool.discover({ broadcast: '127.255.255.255', timeoutMs: 600, trustAes: true });
    assert.equal(
      codeOf(
        await pool
          .device(host)
          .getState()
          .catch((x: unknown) => x),
      ),
      'EAUTH',
    );
    assert.equal(fake.logins.length, 1);
    assert.equal(typeof fake.logins[0]!.password2, 'string', 'login v2');
  });
});

describe('trust: guesses, transforms and iterations (TPAP)', function () {
  this.timeout(60000);
  let answers: TpapAnswers;
  before(async () => {
    answers = await tpapAnswers(`${credentials.username}/${credentials.password}`);
  });
  const discoverOk = () => answers.discover();
  const register =
    (over: Record<string, unknown> = {}) =>
    () =>
      answers.register(over);

  it('a hostile TPAP device polled every second for 10 minutes gets at most 5 guesses', async () => {
    // It answers every guess with a non-auth code (-1008), which used to escape the login budget.
    const dev = await fakeTpapDevice({ discover: discoverOk, pake_register: register(), pake_share: () => ({ error_code: -1008 }) });
    const pool = new Pool({ credentials, devices: [{ alias: 'evil', host: '127.0.0.1', port: dev.port, transport: 'tpap' }], timeoutMs: 2000, retries: 0 });
    // One poll a second, on a simulated clock.
    const codes = new Set(await pollOnClock(pool, 'evil', 1000, 600).finally(() => dev.close()));
    const guesses = dev.calls.filter((c) => c === 'pake_share').length;
    assert.ok(guesses >= 1 && guesses <= 5, `${guesses} guesses`);
    assert.ok(codes.has('ELOCKED'), [...codes].join());
  });

  it('a hostile TPAP device answering every guess with a zero-second lockout gets at most 5 guesses in 10 minutes', async () => {
    const dev = await fakeTpapDevice({ discover: discoverOk, pake_register: register(), pake_share: () => ({ error_code: -40404, result: { sec_left: 0 } }) });
    const pool = new Pool({ credentials, devices: [{ alias: 'evil', host: '127.0.0.1', port: dev.port, transport: 'tpap' }], timeoutMs: 2000, retries: 0 });
    await pollOnClock(pool, 'evil', 1000, 600).finally(() => dev.close());
    const guesses = dev.calls.filter((c) => c === 'pake_share').length;
    assert.ok(guesses >= 1 && guesses <= 5, `${guesses} guesses`);
  });

  it('a KLAP handshake1 mismatch counts against the login budget (ELOCKED after three)', async () => {
    const sim = await startSimulatedDevice('p110', { host: '127.0.0.1', port: 0, credentials });
    const pool = new Pool({
      credentials: { ...credentials, password: 'a guess' },
      devices: [{ alias: 'p', host: '127.0.0.1', port: sim.port, transport: 'klap' }],
      timeoutMs: 2000,
      retries: 0,
    });
    const codes = await pollOnClock(pool, 'p', 60_000, 30).finally(() => sim.close());
    // Logins at 0, 60 s and 180 s (the hold doubles), held EAUTH between, then the 30-minute block.
    assert.deepEqual(codes.slice(0, 5), ['EAUTH', 'EAUTH', 'EAUTH', 'EAUTH', 'ELOCKED'], codes.join());
    assert.ok(
      codes.slice(4).every((c) => c === 'ELOCKED'),
      codes.join(),
    );
  });

  it('a device whose every session ends right after its login is backed off like a failing login', async () => {
    // sessionTtlS 0: the simulated TPAP plug ends each session at its first request.
    const sim = await startSimulatedDevice('p110tpap', { host: '127.0.0.1', port: 0, credentials, sessionTtlS: 0 });
    const pool = new Pool({ credentials, devices: [{ alias: 'p', host: '127.0.0.1', port: sim.port, transport: 'tpap' }], timeoutMs: 2000, retries: 0 });
    const codes = await pollOnClock(pool, 'p', 1000, 300).finally(() => sim.close());
    // Each attempt logs in twice (the protocol layer renews an ended session once): three attempts
    // (at 0, 60 and 180 s: the hold doubles), then blocked.
    assert.ok(sim.stats.handshakes <= 6, `${sim.stats.handshakes} logins in five minutes`);
    assert.ok(codes.includes('ELOCKED'), codes.join());
  });

  const login = (over: Record<string, unknown>, opts: { tpapAllowNoPassword?: boolean } = {}) =>
    tpapLoginAgainst({ discover: discoverOk, pake_register: register(over), pake_share: () => ({ error_code: -1008 }) }, { credentials, ...opts });

  it('passwd_id 3 (no password in it) is refused without the opt-in, before any share is sent', async () => {
    const extra = { extra_crypt: { type: 'password_shadow', params: { passwd_id: 3 } } };
    const a = await login(extra);
    assert.equal(codeOf(a.error), 'ENOTTRUSTED');
    assert.equal((a.error as KasaTapoError).fix, 'no-password');
    assert.deepEqual(a.calls, ['discover', 'pake_register']);
    const b = await login(extra, { tpapAllowNoPassword: true });
    assert.deepEqual(b.calls, ['discover', 'pake_register', 'pake_share'], 'with the opt-in the login goes on');
    assert.equal((b.error as KasaTapoError).spentLogin, true);
  });

  it('100,000 PBKDF2 iterations are refused; 20,000 are accepted', async () => {
    const a = await login({ iterations: 100_000 });
    assert.equal(codeOf(a.error), 'EPROTOCOL');
    assert.deepEqual(a.calls, ['discover', 'pake_register']);
    const b = await login({ iterations: 20_000 });
    assert.deepEqual(b.calls, ['discover', 'pake_register', 'pake_share']);
  });
});

describe('trust: group addresses are no device', function () {
  this.timeout(20000);
  const GROUP = ['255.255.255.255', '192.168.1.255', '224.0.0.1', '239.255.255.250', '0.0.0.0', '127.255.255.255', '::', 'ff02::1', '::ffff:255.255.255.255'];

  it('isValidHost refuses broadcast, multicast and unspecified addresses', () => {
    for (const h of GROUP) {
      assert.equal(isGroupAddress(h), true, h);
      assert.equal(isValidHost(h), false, h);
    }
    for (const h of ['127.0.0.1', '127.5.6.255', '192.168.1.20', '::1', 'plug.local']) assert.equal(isValidHost(h), true, h);
  });

  it('connect, the pool and unicast discovery refuse them with EBADINPUT and send no datagram', async () => {
    const send = dgram.Socket.prototype.send;
    let sent = 0;
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      sent++;
      return (send as (...a: unknown[]) => void).apply(this, args);
    } as typeof send;
    const pool = new Pool({ credentials });
    try {
      for (const h of GROUP) {
        assert.equal(codeOf(await connect({ host: h, credentials }).catch((e: unknown) => e)), 'EBADINPUT', h);
        assert.equal(codeOf(await discoverSingle(h, { timeoutMs: 100 }).catch((e: unknown) => e)), 'EBADINPUT', h);
        assert.throws(
          () => pool.device(h),
          (e: unknown) => codeOf(e) === 'EBADINPUT' || codeOf(e) === 'ENOTFOUND',
          h,
        );
      }
    } finally {
      dgram.Socket.prototype.send = send;
      await pool.close();
    }
    assert.equal(sent, 0);
  });

  it('unicast discovery never sets SO_BROADCAST; broadcast answers only from inside the subnet', async () => {
    const setBroadcast = dgram.Socket.prototype.setBroadcast;
    let calls = 0;
    dgram.Socket.prototype.setBroadcast = function (this: dgram.Socket, flag: boolean) {
      if (flag) calls++;
      return setBroadcast.call(this, flag);
    };
    const base = randomBase();
    const sockets: dgram.Socket[] = [];
    const bind = (address: string): Promise<dgram.Socket> =>
      new Promise((resolve) => {
        const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
        sockets.push(s);
        s.bind({ address, port: 0 }, () => resolve(s));
      });
    try {
      await discoverSingle(`${base}.3`, { timeoutMs: 150 }).catch(() => undefined);
      assert.equal(calls, 0, 'no SO_BROADCAST for unicast');
      // A listener on the subnet broadcast; one answer from inside the /24, one from another subnet.
      const listener = await bind(`${base}.255`);
      const inside = await bind(`${base}.7`);
      const outside = await bind(`${randomBase()}.9`);
      const answer = xorEncrypt(JSON.stringify({ system: { get_sysinfo: { alias: 'x', model: 'HS100(US)', type: 'IOT.SMARTPLUGSWITCH' } } }));
      listener.on('message', (_m, r) => {
        inside.send(answer, r.port, r.address);
        outside.send(answer, r.port, r.address);
      });
      const port = listener.address().port;
      const found = await discover({ broadcast: `${base}.255`, ports: { legacy: port, tdp: port }, timeoutMs: 400, rounds: 1 });
      assert.deepEqual(
        found.map((r) => r.host),
        [`${base}.7`],
      );
    } finally {
      dgram.Socket.prototype.setBroadcast = setBroadcast;
      for (const s of sockets) s.close();
    }
  });
});
