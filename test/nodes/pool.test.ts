/**
 * tplink-pool: the runtime credentials declaration (the test helper bypasses the credential
 * filter, so it is checked with a recording fake RED), close and redeploy leaving no socket open,
 * status pushed from the pool to its users, and the editor's Scan/Test admin endpoints.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { openHandles, randomBase, settleHandles } from '../helpers/net';
import { CREDS, NODES, collect, deviceEntry, helper, poolCreds, poolNode, roundTrip, startDevices, until, type Msg } from './support';

describe('tplink-pool', function () {
  this.timeout(30000);

  it('declares username (text) and password (password) credentials at runtime', () => {
    const calls: { type: string; opts: unknown }[] = [];
    const fakeRED = {
      nodes: { registerType: (type: string, _ctor: unknown, opts?: unknown) => calls.push({ type, opts }), createNode() {}, getNode() {} },
      util: {},
      httpAdmin: { post() {} },
      auth: { needsPermission: () => () => undefined },
    };
    for (const n of ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy']) {
      (require(path.join(__dirname, '../../nodes', `${n}.js`)) as (red: unknown) => void)(fakeRED);
    }
    assert.deepEqual(
      calls.map((c) => c.type),
      ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy'],
    );
    assert.deepEqual(calls[0]!.opts, { credentials: { username: { type: 'text' }, password: { type: 'password' } } });
  });

  describe('with devices', () => {
    let devs: SimulatedDevice[];
    before(async () => {
      devs = await startDevices(['hs100', 'p110', 'p100']);
    });
    after(async () => {
      await helper.unload();
      await Promise.all(devs.map((d) => d.close()));
    });
    const flowOf = (interval = 0.1): Msg[] => [
      poolNode([deviceEntry(devs[0]!, 'kasa'), deviceEntry(devs[1]!, 'tapo'), deviceEntry(devs[2]!, 'aes')]),
      { id: 'a', type: 'tplink-action', pool: 'pool', device: 'tapo', action: 'payload', wires: [['out']] },
      { id: 's', type: 'tplink-state', pool: 'pool', target: 'all', mode: 'poll', interval, onlyChanges: true, wires: [['out']] },
      { id: 'e', type: 'tplink-energy', pool: 'pool', device: 'tapo', mode: 'realtime', poll: true, interval, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];

    it('closes every socket on close and on redeploy', async () => {
      await helper.unload();
      const before = openHandles();
      await helper.load(NODES, flowOf(), poolCreds);
      const out = collect(helper.getNode('out')!);
      await until(() => out.filter((m) => m.topic === 'summary').length >= 1 && out.some((m) => m.payload?.powerW !== undefined), 5000, 'polls');
      await roundTrip(helper.getNode('a')!, out, { payload: true, device: 'aes' });
      // Redeploy (full): old nodes close, new ones start.
      await helper.setFlows(flowOf(0.2), 'full', poolCreds);
      const out2 = collect(helper.getNode('out')!);
      await until(() => out2.some((m) => m.topic === 'summary'), 5000, 'polls after redeploy');
      const t0 = Date.now();
      await helper.unload();
      assert.ok(Date.now() - t0 < 10000, 'close well inside 15 s');
      const after = await settleHandles(before, 3000);
      assert.deepEqual(after, before, 'no socket left open');
    });

    it('pushes pool status to the nodes that use the device', async () => {
      await helper.unload();
      await helper.load(
        NODES,
        [
          poolNode([deviceEntry(devs[0]!, 'kasa')], { timeout: 300 }),
          { id: 'a', type: 'tplink-action', pool: 'pool', device: 'kasa', action: 'payload', wires: [[]] },
        ],
        poolCreds,
      );
      const a = helper.getNode('a')!;
      const seen: Msg[] = [];
      a.on('call:status', (call: { args: Msg[] }) => seen.push(call.args[0]!));
      a.receive({ payload: true });
      await until(() => seen.some((s) => s.text === 'on'), 3000, 'on status');
      assert.ok(seen.some((s) => s.text === 'connecting' && s.fill === 'yellow'));
      devs[0]!.faults.refuse = true;
      devs[0]!.faults.dropConnection = true; // the open keep-alive socket fails too
      try {
        a.receive({ payload: true });
        a.receive({ payload: true });
        await until(() => seen.some((s) => s.text === 'offline' && s.fill === 'red' && s.shape === 'ring'), 5000, 'offline status');
      } finally {
        devs[0]!.faults.refuse = false;
        devs[0]!.faults.dropConnection = false;
      }
      await until(() => seen.at(-1)?.text === 'online', 8000, 'back online (probe)');
      await helper.unload();
    });
  });

  describe('admin endpoints', () => {
    let dev: SimulatedDevice;
    before(async () => {
      dev = await startSimulatedDevice('p110', { host: `${randomBase()}.7`, credentials: CREDS, discovery: true });
      // Listed: the saved password goes in a login (Test, Scan) only to devices of the deployed list.
      await helper.load(NODES, [poolNode([deviceEntry(dev, 'p')])], poolCreds);
    });
    after(async () => {
      await helper.unload();
      await dev.close();
    });

    it('Test checks one device with the saved credentials and never echoes them', async () => {
      const r = await helper.request().post('/tplink-pool/test').send({ id: 'pool', host: dev.host, port: dev.port, transport: 'klap' }).expect(200);
      assert.equal(r.body.ok, true);
      assert.equal(r.body.device.model, 'P110');
      assert.equal(r.body.device.protocol, 'klap');
      assert.ok(!JSON.stringify(r.body).includes(CREDS.password) && !JSON.stringify(r.body).includes(CREDS.username));
    });

    it('Test uses unsaved credentials from the body and reports EAUTH without echoing them', async () => {
      const r = await helper
        .request()
        .post('/tplink-pool/test')
        .send({ id: 'pool', host: dev.host, port: dev.port, transport: 'klap', username: 'x@example.com', password: 'unsaved-wrong' })
        .expect(200);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.code, 'EAUTH');
      assert.ok(!JSON.stringify(r.body).includes('unsaved-wrong'));
      const r2 = await helper
        .request()
        .post('/tplink-pool/test')
        .send({ id: 'pool', host: dev.host, port: dev.port, transport: 'klap', username: CREDS.username, password: '__PWRD__' })
        .expect(200);
      assert.equal(r2.body.ok, true, 'the placeholder means the saved password');
      const r3 = await helper.request().post('/tplink-pool/test').send({ id: 'pool' }).expect(200);
      assert.equal(r3.body.code, 'EBADINPUT');
    });

    it('Scan lists simulated devices found on 127.255.255.255 with protocol, support and auth', async () => {
      const r = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: '127.255.255.255', timeout: 1500 }).expect(200);
      const d = (r.body.devices as Msg[]).find((x) => x.host === dev.host);
      assert.ok(d, `found ${JSON.stringify(r.body)}`);
      assert.equal(d.model, 'P110');
      assert.equal(d.protocol, 'klap');
      assert.equal(d.supported, true);
      assert.equal(d.auth, 'ok');
      assert.ok(!JSON.stringify(r.body).includes(CREDS.password));
      const bad = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: 'not-an-ip' }).expect(400);
      assert.equal(bad.body.code, 'EBADINPUT');
    });
  });
});
