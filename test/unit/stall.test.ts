/**
 * A stall of our own event loop (a busy flow, a burst of messages) is not the device's fault: an
 * exchange whose timer fires late gets the time lost back once, so a device that answers at once
 * is not declared timed out (or offline) because the loop was blocked. A device that is really
 * silent still times out.
 */
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import type { KasaTapoError } from '../../src/errors';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import { LOOP_STALL_MS, stallExtension } from '../../src/transports/http';
import { randomBase } from '../helpers/net';

const credentials = { username: 'stall@example.com', password: 'Stall-Pass-1' };

/** Block the event loop for `ms` (bounded busy wait). */
function stall(ms: number): void {
  const end = Date.now() + ms;
  let spins = 0;
  while (Date.now() < end && spins++ < 1e9) {
    /* busy */
  }
}

describe('timeouts survive a stall of our own event loop', function () {
  this.timeout(20_000);
  const devices: SimulatedDevice[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
  });

  it('stallExtension: on time → 0; late by a stall → the time lost, at most the timeout, once', () => {
    const now = Date.now();
    assert.equal(stallExtension(now, 500, false), 0);
    assert.equal(stallExtension(now - LOOP_STALL_MS + 50, 500, false), 0);
    const got = stallExtension(now - 300, 500, false);
    assert.ok(got >= 300 && got <= 500, String(got));
    assert.equal(stallExtension(now - 5000, 500, false), 500);
    assert.equal(stallExtension(now - 5000, 500, true), 0);
  });

  for (const [id, transport] of [
    ['hs110v1', 'xor'],
    ['p110', 'klap'],
  ] as const) {
    it(`${transport}: a request sent just before a 3× timeout stall is answered, not timed out`, async () => {
      const d = await startSimulatedDevice(id, { host: `${randomBase()}.1`, credentials });
      devices.push(d);
      const dev = await connect({ host: d.host, port: d.port, transport, credentials, timeoutMs: 300, retries: 0 });
      try {
        const pending = dev.getState();
        stall(900);
        const s = await pending;
        assert.equal(typeof s.on, 'boolean');
        // A fresh connection too (the connect phase): closed, then a request, then a stall.
        await dev.close();
        const dev2 = await connect({ host: d.host, port: d.port, transport, credentials, timeoutMs: 300, retries: 0 });
        await dev2.close();
      } finally {
        await dev.close();
      }
    });
  }

  it('a device that really does not answer still times out', async () => {
    const d = await startSimulatedDevice('hs110v1', { host: `${randomBase()}.2`, credentials, faults: { latencyMs: 5000 } });
    devices.push(d);
    const e = await connect({ host: d.host, port: d.port, transport: 'xor', credentials, timeoutMs: 300, retries: 0 }).then(
      () => assert.fail('answered'),
      (x: unknown) => x as KasaTapoError,
    );
    assert.equal(e.code, 'ETIMEDOUT');
  });
});
