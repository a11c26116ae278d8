/**
 * The trust rules in Node-RED (src/trust.ts): Scan sends no login on a discovery answer it cannot
 * trust, whatever the password's source; "Add all" never writes aes-v1; Test uses the saved
 * password only for listed devices and at most five times a minute per host; what a device proved
 * survives a restart; group addresses in msg.device are refused before anything is sent; Test and
 * Scan answer only for a tplink-pool.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startSimulatedDevice } from '../../src/simulator/index';
import { clearRouteCache } from '../../src/connect';
import { startFakeAes, type FakeAes } from '../helpers/fake-aes';
import { startImpostor, type Impostor } from '../helpers/impostor';
import { randomBase } from '../helpers/net';
import { CREDS, NODES, collect, helper, poolCreds, poolNode, roundTrip, type Msg } from './support';

const settings = (helper as unknown as { settings(s: Record<string, unknown>): void }).settings.bind(helper);

/** The editor's Scan → list row mapping, taken from tplink-pool.html. */
function fromScan(): (d: Msg) => Msg {
  const html = fs.readFileSync(path.join(__dirname, '../../nodes/tplink-pool.html'), 'utf8');
  const src = /function fromScan\(d\) \{[\s\S]*?\n {6}\}/.exec(html);
  assert.ok(src, 'fromScan in tplink-pool.html');
  return new Function(`return ${src[0]}`)() as (d: Msg) => Msg;
}

describe('trust in Node-RED: Scan, Test, restarts, group addresses', function () {
  this.timeout(40000);
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await helper.unload();
    settings({});
    clearRouteCache();
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function aesImpostor(): Promise<{ fake: FakeAes; imp: Impostor }> {
    const host = `${randomBase()}.66`;
    const fake = await startFakeAes(host);
    const imp = await startImpostor({ host, as: 'aes', httpPort: fake.port, broadcast: '127.255.255.255' });
    cleanup.push(
      () => fake.close(),
      () => imp.close(),
    );
    return { fake, imp };
  }

  it('Scan: a hostile AES answer (no lv) gets no login with a typed or the saved password; Add all writes no aes-v1', async () => {
    const { fake, imp } = await aesImpostor();
    await helper.load(NODES, [poolNode([])], poolCreds);
    const scan = (extra: Msg) =>
      helper
        .request()
        .post('/tplink-pool/scan')
        .send({ id: 'pool', broadcast: '127.255.255.255', timeout: 600, ...extra })
        .expect(200);
    for (const creds of [{ username: 'typed@example.com', password: 'typed-password' }, {}]) {
      const r = await scan(creds);
      const row = (r.body.devices as Msg[]).find((d) => d.host === fake.host);
      assert.ok(row, JSON.stringify(r.body));
      assert.equal(row.protocol, 'aes');
      assert.equal(row.auth, 'not tried');
      assert.match(row.warning, /AES device: add it/);
      assert.equal(fromScan()(row).transport, 'aes', 'never aes-v1 from an answer');
    }
    assert.ok(imp.probes >= 2);
    assert.equal(fake.handshakes + fake.logins.length, 0, 'no AES handshake or login');
  });

  it('Test: 50 requests with the saved password to an unlisted host reach it never; typed ones fail at most 5 times a minute', async () => {
    // A hostile KLAP host: its handshake1 hash is random, so each login fails at the proof (one guess).
    let requests = 0;
    const server = http.createServer((q, s) => {
      requests++;
      q.resume();
      q.on('end', () => s.writeHead(200, { 'Set-Cookie': 'TP_SESSIONID=hostile;TIMEOUT=86400' }).end(randomBytes(48)));
    });
    const host = `${randomBase()}.5`;
    await new Promise<void>((r) => server.listen(0, host, () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    await helper.load(NODES, [poolNode([])], poolCreds);
    const post = (body: Msg) =>
      helper
        .request()
        .post('/tplink-pool/test')
        .send({ id: 'pool', host, port, ...body });
    for (let i = 0; i < 50; i++) {
      const r = await post({ transport: i % 2 ? 'klap' : 'tpap' }).expect(200);
      assert.equal(r.body.code, 'ENOTTRUSTED');
    }
    assert.equal(requests, 0, 'no handshake reached the unlisted host');
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await post({ transport: 'klap', username: 'typed@example.com', password: 'typed-password' });
      codes.push(r.status === 200 ? r.body.code : r.status);
    }
    assert.deepEqual(codes, ['EAUTH', 'EAUTH', 'EAUTH', 'EAUTH', 'EAUTH', 429, 429]);
    assert.equal(requests, 5, 'one handshake1 per allowed Test');
  });

  it('Test and Scan answer only for a tplink-pool id', async () => {
    await helper.load(NODES, [poolNode([]), { id: 'other', type: 'tplink-action', pool: 'pool', device: 'x', action: 'payload', wires: [] }], poolCreds);
    const t = await helper.request().post('/tplink-pool/test').send({ id: 'other', host: '127.0.0.1', transport: 'xor' });
    assert.equal(t.status, 400);
    assert.equal(t.body.code, 'EBADINPUT');
    const s = await helper.request().post('/tplink-pool/scan').send({ id: 'other', broadcast: '127.255.255.255', timeout: 200 });
    assert.equal(s.status, 400);
  });

  it('an auto device that proved KLAP is not moved to AES after a Node-RED restart', async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-tapo-proven-'));
    cleanup.push(async () => fs.rmSync(userDir, { recursive: true, force: true }));
    settings({ userDir });
    const host = `${randomBase()}.8`;
    const flow = (): Msg[] => [
      poolNode([{ alias: 'plug', host, port: '', transport: 'auto' }], { timeout: 1500 }),
      { id: 'a', type: 'tplink-action', pool: 'pool', device: 'plug', action: 'payload', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    const sim = await startSimulatedDevice('p110', { host, port: 0, credentials: CREDS, discovery: true });
    try {
      await helper.load(NODES, flow(), poolCreds);
      const m = await roundTrip(helper.getNode('a')!, collect(helper.getNode('out')!), { payload: true });
      assert.equal(m.device.protocol, 'klap');
      const file = path.join(userDir, 'kasa-tapo', 'pool.proven.json');
      for (let t0 = Date.now(); !fs.existsSync(file) && Date.now() - t0 < 3000;) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { [host]: { kind: 'klap' } });
    } finally {
      await helper.unload();
      await sim.close();
    }
    clearRouteCache();
    const fake = await startFakeAes(host);
    const imp = await startImpostor({ host, as: 'aes', httpPort: fake.port });
    cleanup.push(
      () => fake.close(),
      () => imp.close(),
    );
    await helper.load(NODES, flow(), poolCreds);
    const m = await roundTrip(helper.getNode('a')!, collect(helper.getNode('caught')!), { payload: true });
    assert.equal(m.error.code, 'ENOTTRUSTED', m.error.message);
    assert.match(m.error.message, /Accept the change|accept the change/);
    assert.equal(fake.handshakes + fake.logins.length, 0);
  });

  it('msg.device "255.255.255.255" (and other group addresses): EBADINPUT, no datagram sent', async () => {
    await helper.load(
      NODES,
      [
        poolNode([]),
        { id: 'a', type: 'tplink-action', pool: 'pool', device: 'x', action: 'payload', wires: [[]] },
        { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      poolCreds,
    );
    const send = dgram.Socket.prototype.send;
    let sent = 0;
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      sent++;
      return (send as (...a: unknown[]) => void).apply(this, args);
    } as typeof send;
    try {
      const caught = collect(helper.getNode('caught')!);
      for (const device of ['255.255.255.255', '192.168.1.255', '224.0.0.251', '0.0.0.0', { host: '255.255.255.255' }]) {
        const m = await roundTrip(helper.getNode('a')!, caught, { payload: true, device });
        assert.equal(m.error.code, 'EBADINPUT', `${JSON.stringify(device)}: ${m.error.message}`);
      }
    } finally {
      dgram.Socket.prototype.send = send;
    }
    assert.equal(sent, 0);
  });
});
