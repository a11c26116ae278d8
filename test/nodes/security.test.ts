/**
 * msg.device cannot send the account to a host the user did not list; Test
 * and Scan never use the saved password in an AES login outside the deployed list; caller text in
 * errors and the log is short and escaped; one Scan at a time per pool; a device that accepts
 * TP-Link's default credentials says so in its state, in Test, in Scan and once in the log.
 */
import { strict as assert } from 'node:assert';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { DEFAULT_CREDENTIALS_NOTICE } from '../../src/trust';
import { startFakeAes, type FakeAes } from '../helpers/fake-aes';
import { randomBase } from '../helpers/net';
import { CREDS, NODES, collect, deviceEntry, helper, poolCreds, poolNode, roundTrip, type Msg } from './support';

const TEN_MB = 'x'.repeat(10 * 1024 * 1024);
const isV2 = (p: Record<string, unknown>): boolean => typeof p.password2 === 'string' && p.password === undefined;

describe('security', function () {
  this.timeout(30000);
  let listed: FakeAes;
  let unlisted: FakeAes;
  let fresh: SimulatedDevice;
  const base = randomBase();

  before(async () => {
    listed = await startFakeAes(`${base}.1`);
    unlisted = await startFakeAes(`${base}.2`);
    // Bound to no account: accepts blank credentials (a freshly reset device).
    fresh = await startSimulatedDevice('p110', { host: `${base}.3`, credentials: { username: '', password: '' }, discovery: true });
  });
  after(async () => {
    await helper.unload();
    await Promise.all([listed.close(), unlisted.close(), fresh.close()]);
  });
  beforeEach(() => {
    for (const f of [listed, unlisted]) {
      f.logins.length = 0;
      f.handshakes = 0;
    }
  });

  const flow = (): Msg[] => [
    poolNode([{ alias: 'listed aes', host: listed.host, port: String(listed.port), transport: 'aes' }, deviceEntry(fresh, 'fresh plug')], { timeout: 1500 }),
    { id: 'a', type: 'tplink-action', pool: 'pool', device: 'listed aes', action: 'payload', wires: [['out']] },
    { id: 's', type: 'tplink-state', pool: 'pool', target: 'one', device: 'fresh plug', mode: 'input', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('msg.device: an unlisted AES host gets no login (ENOTTRUSTED); the listed one only the v2 form, once', async () => {
    await helper.unload();
    await helper.load(NODES, flow(), poolCreds);
    const a = helper.getNode('a')!;
    const caught = collect(helper.getNode('caught')!);
    let m = await roundTrip(a, caught, { payload: true, device: `${unlisted.host}:${unlisted.port}` });
    assert.equal(m.error.code, 'ENOTTRUSTED', m.error.message);
    assert.match(m.error.message, /device list/);
    m = await roundTrip(a, caught, { payload: true, device: { host: unlisted.host, port: unlisted.port, transport: 'aes' } });
    assert.equal(m.error.code, 'ENOTTRUSTED', m.error.message);
    assert.equal(unlisted.logins.length, 0, 'no login at all');
    m = await roundTrip(a, caught, { payload: true });
    assert.equal(m.error.code, 'EAUTH');
    assert.equal(listed.logins.length, 1);
    assert.ok(isV2(listed.logins[0]!), 'login v2 only');
    assert.ok(!JSON.stringify(caught).includes(CREDS.password));
  });

  it('a 10 MB msg.device → an error under 300 characters; a host object with CRLF never reaches the log raw', async () => {
    await helper.unload();
    await helper.load(NODES, flow(), poolCreds);
    const a = helper.getNode('a')!;
    const caught = collect(helper.getNode('caught')!);
    let m = await roundTrip(a, caught, { payload: true, device: TEN_MB });
    assert.ok(m.error.message.length < 300, `${m.error.message.length} characters`);
    m = await roundTrip(a, caught, { payload: true, device: { host: 'evil\r\n[error] forged line' } });
    assert.equal(m.error.code, 'EBADINPUT');
    assert.ok(!/[\r\n]/.test(m.error.message), m.error.message);
    // Without a Catch node Node-RED logs the error itself: escaped there too.
    await helper.unload();
    await helper.load(
      NODES,
      flow().filter((n) => n.type !== 'catch'),
      poolCreds,
    );
    const b = helper.getNode('a')!;
    b.receive({ payload: true, device: { host: 'evil\r\n[error] forged line' } });
    const texts = (): string[] =>
      helper.log().args.map((c) => {
        const msg = (c[0] as { msg?: unknown })?.msg;
        return typeof msg === 'string' ? msg : msg instanceof Error ? msg.message : JSON.stringify(msg ?? '');
      });
    for (let t0 = Date.now(); !texts().some((t) => t.includes('forged')) && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 20));
    const logged = texts().filter((t) => t.includes('forged'));
    assert.ok(logged.length >= 1, 'the error was logged');
    for (const t of logged) assert.ok(!/[\r\n]/.test(t) && t.includes('evil\\r\\n'), `raw CRLF in the log: ${t.slice(0, 160)}`);
  });

  it('Test: the saved password never goes in an AES login to an unlisted host; a typed one does', async () => {
    await helper.unload();
    await helper.load(NODES, flow(), poolCreds);
    const post = (body: Msg) =>
      helper
        .request()
        .post('/tplink-pool/test')
        .send({ id: 'pool', ...body })
        .expect(200);
    let r = await post({ host: unlisted.host, port: unlisted.port, transport: 'aes' });
    assert.equal(r.body.code, 'ENOTTRUSTED', JSON.stringify(r.body));
    assert.match(r.body.error, /deployed (device )?list/);
    r = await post({ host: unlisted.host, port: unlisted.port, transport: 'auto', username: CREDS.username, password: '__PWRD__' });
    assert.equal(r.body.code, 'ENOTTRUSTED');
    r = await post({ host: unlisted.host, port: unlisted.port, transport: 'aes-v1' });
    assert.equal(r.body.code, 'ENOTTRUSTED');
    assert.equal(unlisted.logins.length, 0, 'the saved password never went there');
    // The listed device: the saved password, login v2 only, one login.
    r = await post({ host: listed.host, port: listed.port, transport: 'aes-v1' });
    assert.equal(r.body.code, 'EAUTH');
    assert.equal(listed.logins.length, 1);
    assert.ok(isV2(listed.logins[0]!), 'the row cannot downgrade the saved password to login v1');
    // A password typed in the dialog goes where the dialog says.
    r = await post({ host: unlisted.host, port: unlisted.port, transport: 'aes', username: 'typed@example.com', password: 'typed-password' });
    assert.equal(r.body.code, 'EAUTH');
    assert.equal(unlisted.logins.length, 1);
    assert.ok(!JSON.stringify(r.body).includes('typed-password'));
  });

  it('default credentials: state, msg.device, Test and Scan say so; the log warns once', async () => {
    await helper.unload();
    await helper.load(NODES, flow(), poolCreds);
    const s = helper.getNode('s')!;
    const out = collect(helper.getNode('out')!);
    let m = await roundTrip(s, out, {});
    assert.equal(m.payload.defaultCredentials, true);
    assert.equal(m.device.defaultCredentials, true);
    fresh.expireSessions();
    m = await roundTrip(s, out, {});
    assert.equal(m.payload.defaultCredentials, true);
    const warns = helper.log().args.filter((c) => String((c[0] as { msg?: unknown })?.msg ?? '').includes(DEFAULT_CREDENTIALS_NOTICE));
    assert.equal(warns.length, 1, 'one warning per device');
    const t = await helper.request().post('/tplink-pool/test').send({ id: 'pool', host: fresh.host, port: fresh.port, transport: 'klap' }).expect(200);
    assert.equal(t.body.ok, true);
    assert.equal(t.body.warning, DEFAULT_CREDENTIALS_NOTICE);
    assert.equal(t.body.device.defaultCredentials, true);
    const scan = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: '127.255.255.255', timeout: 1000 }).expect(200);
    const row = (scan.body.devices as Msg[]).find((d) => d.host === fresh.host);
    assert.ok(row, JSON.stringify(scan.body));
    assert.equal(row.auth, 'default credentials');
    assert.equal(row.warning, DEFAULT_CREDENTIALS_NOTICE);
  });

  it('Scan: one at a time per pool (the second gets 429), an IPv4 target only', async () => {
    await helper.unload();
    await helper.load(NODES, flow(), poolCreds);
    const scan = () => helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: '127.255.255.255', timeout: 1000 });
    const [r1, r2] = await Promise.all([scan(), scan()]);
    assert.deepEqual([r1.status, r2.status].sort(), [200, 429]);
    assert.equal((r1.status === 429 ? r1 : r2).body.code, 'EBUSY');
    const after = await scan();
    assert.equal(after.status, 200, 'free again once the first ended');
    for (const target of ['example.com', '10.0.0.0/8', '::1', 'evil\r\nhost']) {
      const bad = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: target, timeout: 200 });
      assert.equal(bad.status, 400, target);
      assert.ok(!/[\r\n]/.test(bad.body.error));
    }
  });
});
