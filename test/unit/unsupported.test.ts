// A device the package cannot speak to (HTTPS-only cameras and robot vacuums), listed with its
// port: probing it there only meets a reset connection; the error must say "unsupported" and why,
// as it does when the device is listed without a port (discovery then answers first).
import { strict as assert } from 'node:assert';
import { Pool } from '../../src/index';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';

describe('a listed device the package cannot speak to', function () {
  this.timeout(30000);
  const devs: SimulatedDevice[] = [];
  before(async () => {
    const base = randomBase();
    for (const [i, id] of ['c210', 'rv30'].entries()) devs.push(await startSimulatedDevice(id, { host: `${base}.${i + 1}`, discovery: true }));
  });
  after(async () => {
    await Promise.all(devs.map((d) => d.close()));
  });

  for (const withPort of [false, true]) {
    it(`answers EUNSUPPORTED with the reason (${withPort ? 'its port listed' : 'host only'}), not ECONNRESET`, async () => {
      for (const d of devs) {
        const pool = new Pool({ devices: [{ alias: 'cam', host: d.host, ...(withPort ? { port: d.port } : {}) }], timeoutMs: 1500, retries: 0 });
        const dev = pool.device('cam');
        try {
          await assert.rejects(dev.getState(), (e: Error & { code?: string }) => {
            assert.equal(e.code, 'EUNSUPPORTED', `${d.profile.id}: ${e.message}`);
            assert.match(e.message, /cannot be controlled by this library.*HTTPS/);
            return true;
          });
        } finally {
          dev.release();
          await pool.close();
        }
      }
    });
  }
});
