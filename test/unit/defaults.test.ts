// The library's Pool and the tplink-pool node start from the same defaults: a script that sends a
// burst to one device (200 requests at once) must not meet EQUEUEFULL where a flow would not.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POOL_DEFAULTS, Pool, type DeviceApi, type KasaTapoError } from '../../src/index';
import { repoRoot } from '../helpers/nodered';

/** A device that answers every raw request after a turn of the event loop. */
const fakeConnect = async (opts: { host: string; port?: number }): Promise<DeviceApi> =>
  ({
    host: opts.host,
    port: opts.port ?? 80,
    raw: (req: unknown) => new Promise((r) => setImmediate(() => r(req))),
    info: () => undefined,
    close: async () => undefined,
  }) as unknown as DeviceApi;

describe('library defaults equal the node defaults', () => {
  it('a default Pool queues a burst of 200 requests for one device (no EQUEUEFULL)', async () => {
    const pool = new Pool({ connect: fakeConnect });
    try {
      const d = pool.device('127.0.0.1:1');
      const settled = await Promise.allSettled(Array.from({ length: 200 }, (_, n) => d.raw({ n })));
      const full = settled.filter((s) => s.status === 'rejected').map((s) => (s.reason as KasaTapoError).code);
      assert.deepEqual(full, []);
    } finally {
      await pool.close();
    }
  });

  it("the pool node's editor defaults (timeout, retries, queue limit) are the library's", () => {
    const html = fs.readFileSync(path.join(repoRoot(), 'nodes', 'tplink-pool.html'), 'utf8');
    const dflt = (field: string): number => {
      const m = new RegExp(`\\b${field}: \\{ value: (\\d+)`).exec(html);
      assert.ok(m, `no default for ${field} in tplink-pool.html`);
      return Number(m[1]);
    };
    assert.equal(dflt('timeout'), POOL_DEFAULTS.timeoutMs);
    assert.equal(dflt('retries'), POOL_DEFAULTS.retries);
    assert.equal(dflt('queueLimit'), POOL_DEFAULTS.queueLimit);
  });
});
