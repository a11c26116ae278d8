// Faults seen through the device facade (protocol layer on top of the transports): busy answers
// become EBUSY and are retried with backoff; an expired session is replayed without an error.
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';

const credentials = { username: 'faults@example.com', password: 'faults-pw' };

for (const id of ['p110', 'p100']) {
  describe(`device faults: ${id}`, () => {
    let sim: SimulatedDevice;
    beforeEach(async () => {
      sim = await startSimulatedDevice(id, { host: '127.0.0.1', port: 0, credentials });
    });
    afterEach(() => sim.close());

    const open = (retries: number) =>
      connect({
        host: sim.host,
        port: sim.port,
        transport: sim.transport as 'klap' | 'aes',
        ...(sim.profile.loginVersion === 1 ? { loginVersion: 1 as const } : {}),
        credentials,
        retries,
        backoffMs: 50,
        timeoutMs: 2000,
      });

    it('a busy device → EBUSY when retries are off', async () => {
      const d = await open(0);
      try {
        sim.faults.busyCode = -1301;
        await assert.rejects(d.getState(), { code: 'EBUSY' });
      } finally {
        await d.close();
      }
    });

    it('a device busy for a moment → answered after a retry', async () => {
      const d = await open(3);
      try {
        await d.getState();
        sim.faults.busyCode = -1301;
        const t = setTimeout(() => delete sim.faults.busyCode, 80);
        const s = await d.getState();
        clearTimeout(t);
        assert.equal(s.model, sim.profile.model.replace(/\(.*\)$/, ''));
        assert.ok(d.stats.retries >= 1);
      } finally {
        await d.close();
      }
    });

    it('a session that expires every 3 requests never surfaces an error', async () => {
      const d = await open(0);
      try {
        sim.faults.expireSessionEvery = 3;
        for (let i = 0; i < 12; i++) await d.getState();
        assert.ok(sim.stats.expired >= 2);
      } finally {
        await d.close();
      }
    });
  });
}
