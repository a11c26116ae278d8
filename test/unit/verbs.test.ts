// The library's own device verbs: toggle and reboot on every family through connect()
// and the pool, one child lookup, withRaw handing back the device's own answer, and the shared
// poll wake-ups. Against simulated devices on loopback (port 0); no timing assertions.
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import { findChild } from '../../src/device/children';
import { KasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { Wakeups } from '../../src/pool/slots';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';

const credentials = { username: 'verbs@example.com', password: 'Verbs-Pass-1' };
const isErr = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;

async function withSim(profile: string, body: (sim: SimulatedDevice) => Promise<void>): Promise<void> {
  const sim = await startSimulatedDevice(profile, { host: '127.0.0.1', port: 0, credentials, faults: {} });
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

describe('device verbs in the library', () => {
  for (const [profile, transport] of [
    ['hs100', 'xor'],
    ['p110', 'klap'],
    ['p100', 'aes'],
  ] as const) {
    it(`${profile}: toggle flips the switch and answers the new state; reboot sends the family's command`, () =>
      withSim(profile, async (sim) => {
        // The simulated P100 is old firmware that needs AES login v1 (its discovery answer has no lv).
        const dev = await connect({
          host: sim.host,
          port: sim.port,
          transport,
          credentials,
          timeoutMs: 3000,
          ...(profile === 'p100' ? { loginVersion: 1 as const } : {}),
        });
        try {
          const before = (await dev.getState()).on;
          assert.equal(typeof before, 'boolean');
          assert.equal((await dev.toggle()).on, !before);
          assert.equal((await dev.getState()).on, !before);
          const back = await dev.withRaw((d) => d.toggle());
          assert.equal(back.value.on, before);
          assert.deepEqual(Object.keys(back.raw as object), ['set', 'get']);
          const r = await dev.withRaw((d) => d.reboot());
          assert.equal(r.value, undefined);
          if (transport === 'xor') assert.deepEqual(r.raw, { system: { reboot: { err_code: 0 } } });
          else {
            assert.deepEqual(Object.keys(r.raw as object), ['device_reboot']);
            assert.equal(sim.log.count('device_reboot'), 1);
          }
        } finally {
          await dev.close();
        }
      }));
  }

  it('toggles one strip outlet by index, id or alias, and refuses what has no switch', () =>
    withSim('hs300', async (sim) => {
      const pool = new Pool({ credentials, timeoutMs: 3000 });
      try {
        const dev = pool.device({ host: sim.host, port: sim.port, transport: 'xor' });
        const s0 = await dev.getState();
        const kids = s0.children ?? [];
        assert.ok(kids.length >= 2);
        const first = kids[0]!;
        const second = kids[1]!;
        const s1 = await dev.toggle(0);
        assert.equal(findChild(s1, 0)?.on, !first.on);
        assert.equal(findChild(s1, 1)?.on, second.on, 'the other outlets stay as they were');
        const s2 = await dev.toggle(first.id);
        assert.equal(findChild(s2, first.id)?.on, first.on);
        if (first.alias) assert.equal(findChild(s2, first.alias.toUpperCase())?.id, first.id, 'aliases match case-insensitively');
        await assert.rejects(dev.toggle('no such outlet'), isErr('ENOTFOUND'));
      } finally {
        await pool.close();
      }
    }));

  it('a hub sensor has no switch to toggle: EUNSUPPORTED', () =>
    withSim('h100', async (sim) => {
      const dev = await connect({ host: sim.host, port: sim.port, transport: 'aes', credentials, timeoutMs: 3000 });
      try {
        const s = await dev.getState();
        const sensor = (s.children ?? []).find((c) => c.on === undefined);
        assert.ok(sensor, 'the hub has a sensor');
        await assert.rejects(dev.toggle(sensor.id), isErr('EUNSUPPORTED'));
        await assert.rejects(dev.toggle(), isErr('EUNSUPPORTED'));
      } finally {
        await dev.close();
      }
    }));
});

describe('shared poll wake-ups', () => {
  it('runs every callback due in one slot in the same wake-up, and not a cancelled one', async () => {
    const w = new Wakeups();
    try {
      const now = Date.now();
      const ran: string[] = [];
      let sameTurn = true;
      let first = true;
      const cb = (name: string) => () => {
        ran.push(name);
        // A microtask queued by the first callback has not run yet when the others run: they
        // share the first one's macrotask (one timer wake-up).
        if (first) {
          first = false;
          queueMicrotask(() => void (sameTurn = ran.length === 3));
        }
      };
      const at = Math.ceil((now + 30) / 100) * 100;
      w.at(at - 20, 100, cb('a'));
      w.at(at - 5, 100, cb('b'));
      const cancel = w.at(at - 10, 100, cb('cancelled'));
      w.at(at, 100, cb('c'));
      cancel();
      await new Promise((r) => setTimeout(r, at - Date.now() + 300));
      assert.deepEqual(ran.sort(), ['a', 'b', 'c']);
      assert.ok(sameTurn, 'the three callbacks ran in one wake-up');
    } finally {
      w.stop();
    }
  });
});
