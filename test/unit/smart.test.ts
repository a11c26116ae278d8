import { strict as assert } from 'node:assert';
import { KasaTapoError } from '../../src/errors';
import { b64Decode, b64Encode, MAX_PAGES, SmartProtocol, smartError } from '../../src/protocols/smart';
import { HINTS } from '../../src/errors';
import { FakeTransport } from '../helpers/fake-transport';

type Req = { method: string; params?: Record<string, unknown> };
const ok = (result: unknown = {}) => ({ error_code: 0, result });
const rejects = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => e instanceof KasaTapoError && e.code === code);

/** A device answering single requests from `methods` and batches like a real one (stops after a failure). */
function device(methods: Record<string, (p?: Record<string, unknown>) => unknown>, batchCode = 0) {
  return new FakeTransport('klap', (req) => {
    const r = req as unknown as Req;
    if (r.method === 'multipleRequest') {
      if (batchCode) return { error_code: batchCode };
      const responses: unknown[] = [];
      for (const sub of r.params!['requests'] as Req[]) {
        const h = methods[sub.method];
        if (!h) {
          responses.push({ method: sub.method, error_code: -1002 });
          break;
        }
        responses.push({ method: sub.method, ...(h(sub.params) as object) });
      }
      return ok({ responses });
    }
    const h = methods[r.method];
    return h ? h(r.params) : { error_code: -1002 };
  });
}

describe('SMART protocol', () => {
  it('builds the envelope: params omitted when empty, uuid fixed per instance', async () => {
    const t = device({ get_device_info: () => ok({ a: 1 }), set_device_info: () => ok() });
    const p = new SmartProtocol(t);
    assert.deepEqual(await p.query('get_device_info'), { a: 1 });
    await p.query('set_device_info', { device_on: true });
    await p.query('get_device_info', {});
    const [a, b, c] = t.sent;
    assert.equal('params' in a!, false);
    assert.equal('params' in c!, false);
    assert.deepEqual(b!['params'], { device_on: true });
    assert.equal(typeof a!['request_time_milis'], 'number');
    assert.equal(a!['terminal_uuid'], b!['terminal_uuid']);
    assert.equal(Buffer.from(p.terminalUuid, 'base64').length, 16);
    assert.notEqual(new SmartProtocol(t).terminalUuid, p.terminalUuid);
    assert.ok(t.texts[0]!.startsWith('{"method":"get_device_info","request_time_milis":'));
  });

  it('result defaults to {} for setters', async () => {
    const p = new SmartProtocol(device({ set_device_info: () => ({ error_code: 0 }) }));
    assert.deepEqual(await p.query('set_device_info', { device_on: false }), {});
  });

  it('classifies error codes (docs/protocols.md#smart-error-codes)', () => {
    const cases: [number, string][] = [
      [-1501, 'EAUTH'],
      [1111, 'EAUTH'],
      [1003, 'EUNSUPPORTED'],
      [1002, 'EBUSY'],
      [-1301, 'EBUSY'],
      [9999, 'ESESSION'],
      [-1002, 'EUNSUPPORTED'],
      [-1008, 'EDEVICE'],
      [123456, 'EDEVICE'],
    ];
    for (const [code, want] of cases) {
      const e = smartError(code, 'm');
      assert.equal(e.code, want, String(code));
      assert.equal(e.deviceCode, code);
    }
    assert.equal(smartError(-1501, 'login').hint, HINTS.auth);
  });

  it('batches ≤ 5 per multipleRequest', async () => {
    const methods: Record<string, () => unknown> = {};
    for (let i = 0; i < 7; i++) methods[`m${i}`] = () => ok({ i });
    const t = device(methods);
    const r = await new SmartProtocol(t).multi(Object.keys(methods).map((method) => ({ method })));
    assert.equal(t.sent.length, 2);
    assert.equal((t.sent[0]!['params'] as { requests: unknown[] }).requests.length, 5);
    assert.deepEqual(r['m6'], { i: 6 });
  });

  it('re-sends methods missing after a failing sub-request, storing per-method errors', async () => {
    const t = device({ a: () => ok({ a: 1 }), c: () => ok({ c: 1 }) });
    const r = await new SmartProtocol(t).multi([{ method: 'a' }, { method: 'b' }, { method: 'c' }]);
    assert.deepEqual(r['a'], { a: 1 });
    assert.ok(r['b'] instanceof KasaTapoError && r['b'].code === 'EUNSUPPORTED');
    assert.deepEqual(r['c'], { c: 1 });
    assert.deepEqual(
      t.sent.map((s) => s['method']),
      ['multipleRequest', 'c'],
    );
  });

  it('turns batching off after an outer -1003', async () => {
    const t = device({ a: () => ok({ a: 1 }), b: () => ok({ b: 2 }) }, -1003);
    const p = new SmartProtocol(t);
    const r = await p.multi([{ method: 'a' }, { method: 'b' }]);
    assert.deepEqual(r, { a: { a: 1 }, b: { b: 2 } });
    assert.equal(p.batchSize, 1);
    await p.multi([{ method: 'a' }, { method: 'b' }]);
    assert.deepEqual(
      t.sent.map((s) => s['method']),
      ['multipleRequest', 'a', 'b', 'a', 'b'],
    );
  });

  it('throws session-wide errors from inside a batch', async () => {
    const t = new FakeTransport('klap', () => ok({ responses: [{ method: 'a', error_code: -1501 }] }));
    await rejects(new SmartProtocol(t).multi([{ method: 'a' }, { method: 'b' }]), 'EAUTH');
  });

  it('control_child with requestData/responseData, inner errors typed', async () => {
    const t = device({
      control_child: (p) => {
        const rd = p!['requestData'] as Req;
        if (rd.method === 'bad') return ok({ responseData: { error_code: -1008 } });
        return ok({ responseData: ok({ id: p!['device_id'], m: rd.method, p: rd.params }) });
      },
    });
    const p = new SmartProtocol(t);
    assert.deepEqual(await p.controlChild('C1', 'set_device_info', { device_on: true }), { id: 'C1', m: 'set_device_info', p: { device_on: true } });
    assert.equal('params' in ((t.sent[0]!['params'] as Record<string, Req>)['requestData'] as object), true);
    await p.controlChild('C1', 'get_device_info');
    assert.equal('params' in ((t.sent[1]!['params'] as Record<string, Req>)['requestData'] as object), false);
    await rejects(p.controlChild('C1', 'bad'), 'EDEVICE');
    const t2 = device({ control_child: () => ok({}) });
    await rejects(new SmartProtocol(t2).controlChild('C1', 'x'), 'EPROTOCOL');
  });

  it('pages with start_index/sum', async () => {
    const all = [1, 2, 3, 4, 5];
    const t = device({
      get_child_device_list: (p) =>
        ok({ child_device_list: all.slice(p!['start_index'] as number, (p!['start_index'] as number) + 2), start_index: p!['start_index'], sum: 5 }),
    });
    assert.deepEqual(await new SmartProtocol(t).list('get_child_device_list', 'child_device_list'), all);
    assert.deepEqual(
      t.sent.map((s) => (s['params'] as Record<string, number>)['start_index']),
      [0, 2, 4],
    );
  });

  it('stops on an empty page and at the page cap', async () => {
    const t1 = device({ l: () => ok({ items: [], sum: 10 }) });
    assert.deepEqual(await new SmartProtocol(t1).list('l', 'items'), []);
    const t2 = device({ l: () => ok({ items: [1], sum: 1e9 }) });
    const got = await new SmartProtocol(t2).list('l', 'items');
    assert.equal(got.length, MAX_PAGES);
    assert.equal(t2.sent.length, MAX_PAGES);
  });

  it('replays once on 9999 after a reset; does not retry auth', async () => {
    let n = 0;
    const t = new FakeTransport('klap', () => (n++ === 0 ? { error_code: 9999 } : ok({ x: 1 })));
    const p = new SmartProtocol(t);
    assert.deepEqual(await p.query('get_device_info'), { x: 1 });
    assert.equal(t.resets, 1);
    assert.equal(p.stats.retries, 1);
    const t2 = new FakeTransport('klap', () => ({ error_code: -1501 }));
    await rejects(new SmartProtocol(t2).query('get_device_info'), 'EAUTH');
    assert.equal(t2.sent.length, 1);
  });

  it('retries busy answers with backoff', async () => {
    let n = 0;
    const t = new FakeTransport('klap', () => (n++ < 2 ? { error_code: -1301 } : ok()));
    const p = new SmartProtocol(t, { retries: 2, backoffMs: 1 });
    await p.query('get_device_info');
    assert.equal(p.stats.retries, 2);
    const t2 = new FakeTransport('klap', () => ({ error_code: 1002 }));
    await rejects(new SmartProtocol(t2, { retries: 1, backoffMs: 1 }).query('x'), 'EBUSY');
    assert.equal(t2.sent.length, 2);
  });

  it('raw returns device errors in the answer but throws session-wide ones', async () => {
    const p = new SmartProtocol(device({}));
    assert.deepEqual(await p.raw({ method: 'nope' }), { error_code: -1002 });
    await rejects(p.raw({ params: {} }), 'EBADINPUT');
    await rejects(new SmartProtocol(new FakeTransport('klap', () => ({ error_code: 1111 }))).raw({ method: 'x' }), 'EAUTH');
  });

  it('base64 text fields', () => {
    assert.equal(b64Decode(b64Encode('Küche')), 'Küche');
    assert.equal(b64Decode('I01BU0tFRF9OQU1FIw=='), '#MASKED_NAME#');
    assert.equal(b64Decode('plain name'), 'plain name');
    assert.equal(b64Decode('abc'), 'abc');
    assert.equal(b64Decode('/w=='), '/w=='); // not UTF-8
  });
});
