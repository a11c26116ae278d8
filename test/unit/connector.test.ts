// Connectors share nothing (docs/architecture.md): each has its own route book (src/routes.ts) and
// RSA key store; each Pool owns one; the free connect() and clearRouteCache() use the default one.
import { strict as assert } from 'node:assert';
import { Connector, clearRouteCache, connect, type ConnectOptions } from '../../src/connect';
import type { Device } from '../../src/device';
import { Pool } from '../../src/pool';
import { ROUTE_BOOK_MAX, RouteBook } from '../../src/routes';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import { createTransport } from '../../src/transports';
import type { TransportKind } from '../../src/types';
import { randomBase } from '../helpers/net';

const credentials = { username: 'conn@example.com', password: 'Connector-Pass-1' };

/** A device as the route book sees it: transport proven and address. */
const fakeDevice = (host: string, port: number, protocol: TransportKind): Device => ({ host, port, info: () => ({ protocol }) }) as unknown as Device;

describe('Connector: no state shared between instances', function () {
  this.timeout(60_000);
  let sim: SimulatedDevice;
  const base = randomBase();
  before(async () => {
    sim = await startSimulatedDevice('p110', { host: `${base}.7`, port: 0, credentials });
  });
  after(async () => {
    await sim.close();
    clearRouteCache();
  });

  /** Connect with 'auto' on `c` (the port given: no discovery); the transports tried, in order. */
  async function tried(c: { connect(o: ConnectOptions): Promise<Device> }): Promise<TransportKind[]> {
    const kinds: TransportKind[] = [];
    const dev = await c.connect({
      host: sim.host,
      port: sim.port,
      credentials,
      timeoutMs: 3000,
      createTransport: (kind, opts) => {
        kinds.push(kind);
        return createTransport(kind, opts);
      },
    });
    await dev.close();
    return kinds;
  }

  it("one Connector remembers the route 'auto' found; another one probes afresh", async () => {
    const a = new Connector();
    const b = new Connector();
    const first = await tried(a);
    assert.ok(first.length > 1 && first[0] === 'xor', `probed: ${first.join(' ')}`);
    const found = first.at(-1)!;
    assert.deepEqual(await tried(a), [found], 'the route book of a');
    assert.deepEqual(await tried(b), first, 'b learned nothing from a');
    a.clearRoutes(sim.host);
    assert.deepEqual(await tried(a), first, 'cleared');
  });

  it('the free connect() and clearRouteCache() use the default Connector, which no new Connector sees', async () => {
    clearRouteCache();
    const first = await tried({ connect });
    assert.deepEqual(await tried({ connect }), [first.at(-1)!]);
    assert.deepEqual(await tried(new Connector()), first);
    clearRouteCache(sim.host);
    assert.deepEqual(await tried({ connect }), first);
  });

  it('each Connector, and so each Pool, has its own RSA key pair, generated once', async () => {
    const a = new Connector();
    const b = new Connector();
    const [a1, a2, b1] = await Promise.all([a.keyPair(), a.keyPair(), b.keyPair()]);
    assert.equal(a1, a2);
    assert.notEqual(a1.publicPem, b1.publicPem);
    const p = new Pool();
    const q = new Pool();
    try {
      const [p1, p2, q1] = await Promise.all([p.keyPair(), p.keyPair(), q.keyPair()]);
      assert.equal(p1, p2);
      assert.notEqual(p1.publicPem, q1.publicPem);
    } finally {
      await Promise.all([p.close(), q.close()]);
    }
  });
});

describe('RouteBook', () => {
  it('forgets one host or all, and keeps at most ROUTE_BOOK_MAX entries (oldest out first)', () => {
    const book = new RouteBook();
    book.remember('127.0.0.1|', fakeDevice('127.0.0.1', 80, 'klap'), 80, undefined, 'smart');
    assert.deepEqual(book.get('127.0.0.1|'), { kind: 'klap', port: 80, protocol: 'smart' });
    assert.deepEqual(book.get('127.0.0.1|80'), { kind: 'klap', port: 80, protocol: 'smart' }, 'also under the exact address');
    book.remember('127.0.0.2|', fakeDevice('127.0.0.2', 9999, 'xor'), 9999, undefined, 'iot');
    book.clear('127.0.0.1');
    assert.equal(book.get('127.0.0.1|'), undefined);
    assert.equal(book.get('127.0.0.1|80'), undefined);
    assert.ok(book.get('127.0.0.2|'));
    book.clear();
    assert.equal(book.get('127.0.0.2|'), undefined);
    for (let i = 0; i < ROUTE_BOOK_MAX + 5; i++) book.rememberProtocol(`h${i}|1`, fakeDevice(`h${i}`, 1, 'klap'), 'smart');
    assert.equal(book.get('h0|1'), undefined);
    assert.equal(book.get('h4|1'), undefined);
    assert.ok(book.get('h5|1'));
    assert.ok(book.get(`h${ROUTE_BOOK_MAX + 4}|1`));
  });
});
