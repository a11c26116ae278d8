import { strict as assert } from 'node:assert';
import { KasaTapoError } from '../../src/errors';
import { buildIotRequest, checkIotAnswer, IOT_MODULES, IotProtocol } from '../../src/protocols/iot';
import { FakeTransport } from '../helpers/fake-transport';

const rejects = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => e instanceof KasaTapoError && e.code === code);

describe('IOT protocol', () => {
  it('puts context first with child ids', () => {
    const text = buildIotRequest({ system: { set_relay_state: { state: 1 } } }, ['ABC00']);
    assert.equal(text, '{"context":{"child_ids":["ABC00"]},"system":{"set_relay_state":{"state":1}}}');
    assert.equal(buildIotRequest({ system: { get_sysinfo: {} } }), '{"system":{"get_sysinfo":{}}}');
  });

  it('answers checked results', async () => {
    const t = new FakeTransport('xor', () => ({ system: { get_sysinfo: { err_code: 0, alias: 'a' } } }));
    const p = new IotProtocol(t);
    const { value: a, raw } = await p.exchange({ system: { get_sysinfo: {} } });
    assert.equal(a['system']!['get_sysinfo']!['alias'], 'a');
    assert.deepEqual(raw, { system: { get_sysinfo: { err_code: 0, alias: 'a' } } });
  });

  it('maps module-level "module not support" to EUNSUPPORTED', async () => {
    const t = new FakeTransport('xor', () => ({ emeter: { err_code: -1, err_msg: 'module not support' } }));
    await assert.rejects(new IotProtocol(t).query({ emeter: { get_realtime: {} } }), (e: unknown) => {
      assert.ok(e instanceof KasaTapoError);
      assert.equal(e.code, 'EUNSUPPORTED');
      assert.equal(e.deviceCode, -1);
      assert.equal(e.method, 'emeter');
      return true;
    });
  });

  it('maps method-level errors: -2001 unsupported, -3 device error', async () => {
    const t1 = new FakeTransport('xor', () => ({ x: { y: { err_code: -2001, err_msg: 'Module not support' } } }));
    await rejects(new IotProtocol(t1).query({ x: { y: {} } }), 'EUNSUPPORTED');
    const t2 = new FakeTransport('xor', () => ({ system: { set_relay_state: { err_code: -3, err_msg: 'invalid argument' } } }));
    await assert.rejects(new IotProtocol(t2).query({ system: { set_relay_state: { state: 1 } } }), (e: unknown) => {
      assert.ok(e instanceof KasaTapoError && e.code === 'EDEVICE' && e.deviceCode === -3 && e.method === 'system.set_relay_state');
      return true;
    });
  });

  it('rejects answers lacking the module or not an object', async () => {
    await rejects(new IotProtocol(new FakeTransport('xor', () => ({}))).query({ system: { get_sysinfo: {} } }), 'EPROTOCOL');
    await rejects(new IotProtocol(new FakeTransport('xor', () => [1])).query({ system: { get_sysinfo: {} } }), 'EPROTOCOL');
    assert.throws(() => checkIotAnswer({ a: { b: {} } }, { a: { b: 5 } }), KasaTapoError);
  });

  it('splits bulb requests one method per exchange and merges the answers', async () => {
    const t = new FakeTransport('xor', (req) => {
      const [mod] = Object.keys(req);
      const [meth] = Object.keys(req[mod!] as object);
      return { [mod!]: { [meth!]: { err_code: 0, v: meth } } };
    });
    const p = new IotProtocol(t);
    p.splitMethods = true;
    const em = IOT_MODULES.bulb.emeter;
    const { value: a, raw } = await p.exchange({ [em]: { get_realtime: {}, get_daystat: { year: 2024, month: 1 } } });
    assert.equal(t.sent.length, 2);
    assert.equal(a[em]!['get_daystat']!['v'], 'get_daystat');
    assert.deepEqual(Object.keys((raw as Record<string, object>)[em]!), ['get_realtime', 'get_daystat']);
  });

  it('raw returns the answer unchecked and validates its input', async () => {
    const t = new FakeTransport('xor', () => ({ system: { reboot: { err_code: -2 } } }));
    const p = new IotProtocol(t);
    assert.deepEqual(await p.raw({ system: { reboot: { delay: 1 } } }), { system: { reboot: { err_code: -2 } } });
    await rejects(p.raw('nope'), 'EBADINPUT');
    await rejects(p.raw({ system: 5 }), 'EBADINPUT');
  });

  it('module names by class', () => {
    assert.equal(IOT_MODULES.plug.emeter, 'emeter');
    assert.equal(IOT_MODULES.bulb.emeter, 'smartlife.iot.common.emeter');
    assert.equal(IOT_MODULES.bulb.systemSet, 'smartlife.iot.common.system');
  });

  describe('retry policy', () => {
    const err = (code: ConstructorParameters<typeof KasaTapoError>[0]) => new KasaTapoError(code, code);
    const flaky = (codes: ConstructorParameters<typeof KasaTapoError>[0][]) =>
      new FakeTransport('xor', (_r, n) => {
        if (n <= codes.length) throw err(codes[n - 1]!);
        return { system: { get_sysinfo: { err_code: 0 } } };
      });
    const q = (p: IotProtocol) => p.query({ system: { get_sysinfo: {} } });

    it('replays once after ESESSION with a reset', async () => {
      const t = flaky(['ESESSION']);
      const p = new IotProtocol(t);
      await q(p);
      assert.equal(t.resets, 1);
      assert.equal(p.stats.retries, 1);
      await rejects(q(new IotProtocol(flaky(['ESESSION', 'ESESSION']))), 'ESESSION');
    });

    it('retries ECONNRESET once at once', async () => {
      const t = flaky(['ECONNRESET']);
      await q(new IotProtocol(t));
      assert.equal(t.resets, 0);
      await rejects(q(new IotProtocol(flaky(['ECONNRESET', 'ECONNRESET']))), 'ECONNRESET');
    });

    it('retries ETIMEDOUT/EBUSY up to `retries` with backoff and reset', async () => {
      const t = flaky(['ETIMEDOUT', 'EBUSY']);
      const p = new IotProtocol(t, { retries: 2, backoffMs: 5 });
      const t0 = Date.now();
      await q(p);
      assert.ok(Date.now() - t0 >= 8);
      assert.equal(t.resets, 2);
      assert.equal(p.stats.retries, 2);
      await rejects(q(new IotProtocol(flaky(['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT']), { retries: 2, backoffMs: 1 })), 'ETIMEDOUT');
    });

    it('never retries EAUTH, ECONNREFUSED, EPROTOCOL', async () => {
      for (const code of ['EAUTH', 'ECONNREFUSED', 'EPROTOCOL'] as const) {
        const t = flaky([code]);
        await rejects(q(new IotProtocol(t, { backoffMs: 1 })), code);
        assert.equal(t.sent.length, 1);
      }
    });

    it('wraps plain socket errors', async () => {
      const t = new FakeTransport('xor', () => {
        throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      });
      await rejects(q(new IotProtocol(t)), 'ECONNREFUSED');
    });
  });
});
