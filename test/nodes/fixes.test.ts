/**
 * Guided fixes in the nodes: one test per row of src/fixes.ts showing its
 * sentence for its fault — in the error a Catch node gets (`msg.error.message` ends with it), on
 * the node status (a short red text; a lockout shows its
 * time), and in the editor's Test and Scan answers (`hint`).
 *
 * End to end against the simulator for Third-Party Compatibility off (KLAP 403) and a TPAP login
 * refused. For the others (KLAP v2 on Kasa, lockouts, wake-up probes) a fake connect() raises the
 * error the library raises, with its fix, to show the nodes, Test and Scan display any error's fix
 * with no code of their own; test/unit/fixes.test.ts produces each of those faults end to end. Also: tplink-state's protocol/firmware change messages, and tplink-action's
 * auto-update forms.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { KasaTapoError } from '../../src/errors';
import { clockTime, fixFor, type FixId } from '../../src/fixes';
import type { Pool } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { CREDS, NODES, collect, deviceEntry, helper, poolNode, roundTrip, until, type Msg, type TestNode } from './support';

type ConnectFn = (opts: Record<string, unknown>) => Promise<unknown>;
const connectModule = require(path.join(__dirname, '../../src/connect')) as { Connector: { prototype: { connect: ConnectFn } } };

/**
 * Replace the library's connect() for one test — every Connector's: the pool's own, and the
 * default one behind Test's and Scan's connect() — restored by the returned function.
 */
function fakeConnect(fn: ConnectFn): () => void {
  const proto = connectModule.Connector.prototype;
  const real = proto.connect;
  proto.connect = fn;
  return () => {
    proto.connect = real;
  };
}

/** Every status a node shows. */
function statusesOf(n: TestNode): Msg[] {
  const seen: Msg[] = [];
  n.on('call:status', (call: { args: Msg[] }) => seen.push(call.args[0]!));
  return seen;
}

const poolOf = (): Pool => (helper.getNode('pool') as unknown as { pool: Pool }).pool;

/** A pool with `devices`, one node `n` (wired to `out`) and a Catch node (wired to `caught`). */
async function flow(devices: unknown[], node: Record<string, unknown>, creds = CREDS) {
  await helper.unload();
  await helper.load(
    NODES,
    [
      poolNode(devices, { timeout: 3000 }),
      { id: 'n', pool: 'pool', version: 1, wires: [['out']], ...node },
      { id: 'out', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ],
    { pool: { ...creds } },
  );
  const n = helper.getNode('n')!;
  return { n, seen: statusesOf(n), out: collect(helper.getNode('out')!), caught: collect(helper.getNode('caught')!) };
}

/** Send one message into an action node and wait for its Catch. */
async function caughtError(n: TestNode, caught: Msg[], msg: Msg = { payload: true }): Promise<Msg> {
  const before = caught.length;
  n.receive(msg);
  await until(() => caught.length > before, 8000, 'a Catch');
  return caught[before]!.error as Msg;
}

describe('guided fixes in the nodes, Test and Scan', function () {
  this.timeout(30000);
  const base = randomBase();
  let p110: SimulatedDevice, tpap: SimulatedDevice, hs100: SimulatedDevice;

  before(async () => {
    p110 = await startSimulatedDevice('p110', { host: `${base}.1`, credentials: CREDS, discovery: true });
    tpap = await startSimulatedDevice('kp125mtpap', { host: `${base}.2`, credentials: CREDS });
    hs100 = await startSimulatedDevice('hs100', { host: `${base}.3` });
  });
  after(async () => {
    await helper.unload();
    await Promise.all([p110, tpap, hs100].map((d) => d.close()));
  });

  describe('end to end against the simulator', () => {
    it('third-party: a device refusing the KLAP handshake (HTTP 403) → the Third-Party Compatibility sentence', async () => {
      p110.faults.forbidHandshake = true;
      try {
        const { n, seen, caught } = await flow([deviceEntry(p110, 'tapo')], { type: 'tplink-action', device: 'tapo', action: 'payload' });
        const err = await caughtError(n, caught);
        assert.equal(err.code, 'EAUTH');
        assert.ok(String(err.message).endsWith(fixFor('third-party')), err.message);
        await until(() => seen.at(-1)?.text === 'enable Third-Party Compatibility', 3000, 'the fix on the status');
        assert.equal(seen.at(-1)!.fill, 'red');
        // The sidebar's device row carries the sentence too (shown on hover).
        const sb = await helper.request().get('/tplink-pool/sidebar').expect(200);
        const sbDev = (sb.body.pools as Msg[]).flatMap((p) => p.devices as Msg[]).find((d) => d.host === p110.host);
        assert.equal(sbDev?.hint, fixFor('third-party'), JSON.stringify(sb.body));

        const t = await helper.request().post('/tplink-pool/test').send({ id: 'pool', host: p110.host, port: p110.port, transport: 'klap' }).expect(200);
        assert.equal(t.body.ok, false);
        assert.equal(t.body.fix, 'third-party', JSON.stringify(t.body));
        assert.equal(t.body.hint, fixFor('third-party'));

        const s = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: '127.255.255.255', timeout: 1500 }).expect(200);
        const row = (s.body.devices as Msg[]).find((d) => d.host === p110.host);
        assert.ok(row, JSON.stringify(s.body));
        assert.equal(row.auth, 'failed');
        assert.equal(row.fix, 'third-party', JSON.stringify(row));
        assert.equal(row.hint, fixFor('third-party'));
      } finally {
        p110.faults.forbidHandshake = false;
      }
    });

    it('tpap-credentials: a TPAP login refused → the sentence naming the credential transform', async () => {
      const wrong = { username: CREDS.username, password: 'not-the-pw' };
      const { n, seen, caught } = await flow([deviceEntry(tpap, 'kasa heater')], { type: 'tplink-action', device: 'kasa heater', action: 'payload' }, wrong);
      const err = await caughtError(n, caught);
      assert.equal(err.code, 'EAUTH');
      assert.ok(String(err.message).endsWith(fixFor('tpap-credentials', { transform: 'password_shadow 2' })), err.message);
      assert.ok(!String(err.message).includes(wrong.password));
      await until(() => seen.at(-1)?.text === 'account refused (TPAP)', 3000, 'the fix on the status');

      const t = await helper
        .request()
        .post('/tplink-pool/test')
        .send({ id: 'pool', host: tpap.host, port: tpap.port, transport: 'tpap', username: wrong.username, password: wrong.password })
        .expect(200);
      assert.equal(t.body.fix, 'tpap-credentials');
      assert.equal(t.body.hint, fixFor('tpap-credentials', { transform: 'password_shadow 2' }));
      assert.ok(!JSON.stringify(t.body).includes(wrong.password));
    });
  });

  describe('any error carrying a fix (rows produced on other branches)', () => {
    const until1432 = (() => {
      const d = new Date(Date.now() + 3600_000);
      d.setSeconds(0, 0);
      return d.getTime();
    })();
    const rows: { id: FixId; error: () => KasaTapoError; status: string }[] = [
      {
        id: 'klap-v2-iot',
        error: () =>
          new KasaTapoError('EAUTH', 'The device rejected both KLAP hashes (challenge mismatch)', { fix: 'klap-v2-iot', hint: fixFor('klap-v2-iot') }),
        status: 'account refused (KLAP v2)',
      },
      {
        id: 'locked',
        error: () =>
          new KasaTapoError('ELOCKED', 'The device blocks logins', { fix: 'locked', until: until1432, hint: fixFor('locked', { until: until1432 }) }),
        status: `login blocked until ${clockTime(until1432)}`,
      },
      {
        id: 'woke',
        error: () => new KasaTapoError('ETIMEDOUT', 'The device did not answer in time', { fix: 'woke', hint: fixFor('woke', { port: 80 }) }),
        status: 'woken by a probe',
      },
      {
        id: 'unreachable',
        error: () => new KasaTapoError('ECONNREFUSED', 'Connection refused', { fix: 'unreachable', hint: fixFor('unreachable', { port: 80 }) }),
        status: 'unreachable after a probe',
      },
      {
        id: 'two-factor',
        error: () => new KasaTapoError('EAUTH', 'The TP-Link cloud wants a verification code', { fix: 'two-factor', hint: fixFor('two-factor') }),
        status: 'two-factor account',
      },
    ];
    for (const row of rows) {
      it(`${row.id}: Catch, status, Test and Scan show its sentence`, async () => {
        const restore = fakeConnect(() => Promise.reject(row.error()));
        try {
          const { n, seen, caught } = await flow([deviceEntry(p110, 'tapo')], { type: 'tplink-action', device: 'tapo', action: 'payload' });
          const err = await caughtError(n, caught);
          const sentence = row.error().hint!;
          assert.ok(String(err.message).endsWith(sentence), err.message);
          await until(() => seen.at(-1)?.text === row.status, 3000, `status "${row.status}" (saw ${JSON.stringify(seen.at(-1))})`);
          assert.equal(seen.at(-1)!.fill, 'red');

          const t = await helper.request().post('/tplink-pool/test').send({ id: 'pool', host: p110.host, port: p110.port, transport: 'klap' }).expect(200);
          assert.equal(t.body.ok, false);
          assert.equal(t.body.fix, row.id);
          assert.equal(t.body.hint, sentence);

          if (row.id === 'klap-v2-iot') {
            // Scan: one row is enough to show the plumbing (discovery is real, the login check is the fake).
            const s = await helper.request().post('/tplink-pool/scan').send({ id: 'pool', broadcast: '127.255.255.255', timeout: 1500 }).expect(200);
            const found = (s.body.devices as Msg[]).find((d) => d.host === p110.host);
            assert.ok(found, JSON.stringify(s.body));
            assert.equal(found.fix, row.id);
            assert.equal(found.hint, sentence);
          }
        } finally {
          restore();
        }
      });
    }

    it('a pool status "locked" shows "login blocked until HH:MM" on the nodes watching the device', async () => {
      const { seen } = await flow([deviceEntry(p110, 'tapo')], { type: 'tplink-state', device: 'tapo', mode: 'poll', interval: 3600 });
      const pool = poolOf();
      const d = pool.device('tapo');
      const key = d.key;
      d.release();
      await until(() => seen.some((x) => x.text === 'on' || x.text === 'off'), 5000, 'the first poll');
      const err = new KasaTapoError('ELOCKED', 'blocked', { until: until1432 });
      pool.emit('status', key, 'locked', err);
      await until(
        () => seen.at(-1)!.text === `login blocked until ${clockTime(until1432)}`,
        3000,
        `the lockout on the status (saw ${JSON.stringify(seen.at(-1))})`,
      );
      assert.equal(seen.at(-1)!.fill, 'red');
      pool.emit('status', key, 'locked', undefined);
      await until(() => seen.at(-1)!.text === 'login blocked', 3000, 'a lockout without a time');
    });
  });

  describe('tplink-state: protocol and firmware changes as messages', () => {
    it('sends them when the option is on (input and poll mode), not when it is off; the status says so', async () => {
      await helper.unload();
      await helper.load(
        NODES,
        [
          poolNode([deviceEntry(p110, 'tapo'), deviceEntry(hs100, 'kasa')], { timeout: 3000 }),
          { id: 'st-in', type: 'tplink-state', pool: 'pool', device: 'tapo', mode: 'input', changes: true, wires: [['out']] },
          { id: 'polling', type: 'tplink-state', pool: 'pool', device: 'kasa', mode: 'poll', interval: 3600, changes: true, wires: [['out2']] },
          { id: 'st-off', type: 'tplink-state', pool: 'pool', device: 'tapo', mode: 'input', wires: [['out3']] },
          { id: 'out', type: 'helper' },
          { id: 'out2', type: 'helper' },
          { id: 'out3', type: 'helper' },
        ],
        { pool: { ...CREDS } },
      );
      const out = collect(helper.getNode('out')!);
      const out2 = collect(helper.getNode('out2')!);
      const out3 = collect(helper.getNode('out3')!);
      const onSeen = statusesOf(helper.getNode('st-in')!);
      const pool = poolOf();
      const keyOf = (alias: string) => {
        const d = pool.device(alias);
        d.release();
        return d.key;
      };
      await until(() => out2.length > 0, 5000, 'the first poll');
      out2.length = 0;

      pool.emit('protocol-changed', keyOf('tapo'), { host: p110.host, from: 'klap', to: 'tpap' });
      pool.emit('firmware-changed', keyOf('kasa'), { host: hs100.host, from: '1.2.5 Build 200311', to: '1.2.6 Build 250101' });
      await until(() => out.length === 1 && out2.length === 1, 3000, 'the change messages');
      assert.equal(out[0]!.topic, 'protocol-changed');
      assert.deepEqual(out[0]!.payload, { host: p110.host, from: 'klap', to: 'tpap' });
      assert.equal(out[0]!.device.host, p110.host);
      assert.equal(out[0]!.device.alias, 'tapo');
      assert.equal(out2[0]!.topic, 'firmware-changed');
      assert.deepEqual(out2[0]!.payload, { host: hs100.host, from: '1.2.5 Build 200311', to: '1.2.6 Build 250101' });
      assert.equal(onSeen.at(-1)!.text, 'protocol klap → tpap');
      // The node without the option sends nothing; a device nobody watches reaches nobody.
      pool.emit('protocol-changed', '127.9.9.9', { host: '127.9.9.9', from: 'xor', to: 'klap' });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(out3.length, 0);
      assert.equal(out.length, 1);
    });
  });

  describe('tplink-action: automatic firmware updates', () => {
    it('{autoUpdate: false} switches it off, "autoUpdate" reads it, a Kasa plug goes to Catch as EUNSUPPORTED', async () => {
      const { n, out, caught, seen } = await flow([deviceEntry(p110, 'tapo'), deviceEntry(hs100, 'kasa')], {
        type: 'tplink-action',
        device: 'tapo',
        action: 'payload',
      });
      let m = await roundTrip(n, out, { payload: { autoUpdate: false } });
      assert.deepEqual(m.payload, { autoUpdate: false, time: '03:00', randomMinutes: 120 });
      assert.equal(m.device.model, 'P110');
      assert.equal(seen.at(-1)!.text, 'auto-update off');
      m = await roundTrip(n, out, { payload: 'autoUpdate' });
      assert.equal(m.payload.autoUpdate, false);
      m = await roundTrip(n, out, { payload: { autoUpdate: true } });
      assert.equal(m.payload.autoUpdate, true);
      const err = await caughtError(n, caught, { device: 'kasa', payload: 'autoUpdate' });
      assert.equal(err.code, 'EUNSUPPORTED');
      assert.match(String(err.message), /no automatic firmware update setting/);
    });
  });
});
