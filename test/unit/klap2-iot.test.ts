// Kasa IOT devices on 2025–26 firmware speak IOT JSON over KLAP with the v2 hashes
// (discovery: IOT.SMARTPLUGSWITCH, KLAP, lv 2, new_klap 1). The protocol family comes from what the
// device says (discovery's device_type, or both request styles tried over the session), the hash
// version from discovery or, for free, from handshake1 (docs/protocols.md#klap-hash-versions-for-kasa-devices). Counted at the
// simulator: logins (KLAP handshake2 accepted) and failed logins.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { clearRouteCache, connect, type ConnectOptions } from '../../src/connect';
import { discoverSingle, parseTdpAnswer } from '../../src/discovery';
import { routeFor } from '../../src/device/table';
import { KasaTapoError } from '../../src/errors';
import { fixFor } from '../../src/fixes';
import { klapAuthHash, klapServerHash } from '../../src/crypto/klap';
import { matchKlapHandshake1 } from '../../src/transports/klap';
import { Pool } from '../../src/pool';
import { getProfile, listProfiles, startSimulatedDevice, tdpPacket, discoveryResult, type DeviceProfile, type SimulatedDevice } from '../../src/simulator';
import type { DeviceApi, DeviceState } from '../../src/types';
import { openHandles, randomBase, settleHandles } from '../helpers/net';

const credentials = { username: 'klap2@example.com', password: 'Klap2-Pass-1' };
const isErr =
  (code: string, check: (e: KasaTapoError) => boolean = () => true) =>
  (e: unknown): boolean =>
    e instanceof KasaTapoError && e.code === code && check(e);

/** A fresh loopback address per device (single-host discovery answers on the device's own address). */
let base = randomBase();
let next = 0;
const address = (): string => {
  if (++next > 250) {
    base = randomBase();
    next = 1;
  }
  return `${base}.${next}`;
};

async function withSim<T>(profile: string | DeviceProfile, body: (sim: SimulatedDevice) => Promise<T>, opts: { password?: string } = {}): Promise<T> {
  const sim = await startSimulatedDevice(profile, {
    host: address(),
    port: 0,
    discovery: true,
    credentials: opts.password ? { ...credentials, password: opts.password } : credentials,
  });
  clearRouteCache();
  try {
    return await body(sim);
  } finally {
    await sim.close();
    clearRouteCache();
  }
}

/** The simulated device's own 20002 answer, parsed as a client does. */
function answerOf(sim: SimulatedDevice) {
  const body = Buffer.from(JSON.stringify({ error_code: 0, result: discoveryResult(sim.profile, sim.host, sim.port) }));
  const r = parseTdpAnswer(tdpPacket(body), sim.host);
  assert.ok(r);
  return r;
}

/** The ways 'auto' can reach a device: a given discovery answer, single-host discovery, none (explicit port). */
const WAYS: [string, (sim: SimulatedDevice) => ConnectOptions][] = [
  ['a given discovery answer', (sim) => ({ host: sim.host, credentials, discovery: answerOf(sim) })],
  ['single-host discovery', (sim) => ({ host: sim.host, credentials, discoveryTimeoutMs: 1500 })],
  ['no discovery (explicit port)', (sim) => ({ host: sim.host, port: sim.port, credentials })],
];

/** What every state of these devices must show: the full normalised state, not an empty one. */
function checkState(s: DeviceState, sim: SimulatedDevice): void {
  const p = sim.profile;
  assert.equal(s.protocol, 'klap');
  assert.equal(s.family, p.family);
  assert.equal(s.model, p.model.replace(/\(.*\)$/, ''));
  assert.equal(s.alias, p.alias);
  assert.equal(s.host, sim.host);
  assert.equal(typeof s.on, 'boolean');
  assert.equal(s.firmware, p.fwVer);
  if (p.family === 'strip') {
    assert.equal(s.children?.length, p.iot!.outlets!.length);
    assert.deepEqual(
      s.children.map((c) => c.alias),
      p.iot!.outlets!.map((o) => o.alias),
    );
  }
}

/** Switch, outlet control and energy through any DeviceApi (a connect()ed device or a pooled one). */
async function exercise(dev: DeviceApi, sim: SimulatedDevice): Promise<void> {
  const p = sim.profile;
  checkState(await dev.getState(), sim);
  if (p.family === 'strip') {
    assert.equal((await dev.setState({ on: true }, 2)).children![2]!.on, true);
    assert.equal((await dev.setState({ on: false }, 'Printer')).children![2]!.on, false);
    const e = await dev.getEnergy(0);
    assert.ok(typeof e.powerW === 'number' && e.powerW > 0, JSON.stringify(e));
  } else {
    assert.equal((await dev.setState({ on: false })).on, false);
    assert.equal((await dev.setState({ on: true })).on, true);
    if (p.iot?.emeter) {
      const e = await dev.getEnergy();
      assert.ok(typeof e.powerW === 'number' && e.powerW > 0, JSON.stringify(e));
      assert.ok(typeof e.voltageV === 'number' && e.voltageV > 100);
    } else await assert.rejects(dev.getEnergy(), isErr('EUNSUPPORTED'));
  }
}

describe('IOT over KLAP v2', function () {
  this.timeout(30_000);
  let handles: Record<string, number>;
  before(() => {
    handles = openHandles();
  });
  after(async () => {
    const left = await settleHandles(handles);
    for (const k of Object.keys(left)) assert.ok((left[k] ?? 0) <= (handles[k] ?? 0), `leaked ${k}: ${JSON.stringify(left)}`);
  });

  it('the simulator serves HS103, KP115 and HS300 over KLAP v2 with the real discovery answer', () => {
    for (const id of ['hs103klap2', 'kp115klap2', 'hs300klap2']) {
      const p = getProfile(id);
      assert.equal(p.protocol, 'iot');
      assert.equal(p.transport, 'klap');
      const r = discoveryResult(p, '127.0.0.1', 80)!;
      assert.equal(r['device_type'], 'IOT.SMARTPLUGSWITCH');
      assert.deepEqual(r['mgt_encrypt_schm'], { is_support_https: false, encrypt_type: 'KLAP', http_port: 80, lv: 2, new_klap: 1 });
      assert.ok(listProfiles({ all: true }).includes(id));
    }
    assert.equal(getProfile('hs300klap2').iot!.outlets!.length, 6);
    // Kept out of the default home (the examples' pools list it), but unique should they join it.
    assert.ok(listProfiles().includes('hs103klap2'), 'the HS103 is in the demo home');
    assert.ok(!listProfiles().includes('kp115klap2') && !listProfiles().includes('hs300klap2'), 'the KP115 and HS300 are started by id');
    const all = listProfiles({ all: true }).map(getProfile);
    for (const k of ['mac', 'deviceId', 'alias'] as const) assert.equal(new Set(all.map((p) => p[k])).size, all.length, k);
  });

  describe('discovery picks the hashes (KLAP hash versions, rule 1) and the family from device_type', () => {
    const schm = (extra: Record<string, unknown>) => ({ lv: extra['lv'], newKlap: extra['new_klap'] });
    it('IOT.KLAP: lv >= 2 or new_klap >= 1 → v2 (klap), neither → v1; SMART.KLAP always v2', () => {
      assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false, undefined, schm({ lv: 2, new_klap: 1 })), {
        supported: true,
        transport: 'klap',
        protocol: 'iot',
      });
      assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false, undefined, schm({ lv: 2 })), { supported: true, transport: 'klap', protocol: 'iot' });
      assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false, undefined, schm({ new_klap: 1 })), {
        supported: true,
        transport: 'klap',
        protocol: 'iot',
      });
      assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false, undefined, schm({ lv: 1 })), { supported: true, transport: 'klap-v1', protocol: 'iot' });
      assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false), { supported: true, transport: 'klap-v1', protocol: 'iot' });
      assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, undefined, schm({})), { supported: true, transport: 'klap', protocol: 'smart' });
      assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, undefined, schm({ lv: 1, new_klap: 0 })), {
        supported: true,
        transport: 'klap',
        protocol: 'smart',
      });
    });

    for (const drop of ['lv', 'newKlap'] as const) {
      it(`with ${drop === 'lv' ? 'new_klap' : 'lv'} only: supported, transport klap, protocol iot, one login`, async () => {
        const p = getProfile('hs103klap2');
        delete p.discovery![drop];
        await withSim(p, async (sim) => {
          const r = await discoverSingle(sim.host, { timeoutMs: 1500 });
          assert.equal(r.supported, true);
          assert.equal(r.transport, 'klap');
          assert.equal(r.protocol, 'iot');
          assert.equal(r.loginVersion, 2);
          assert.equal(r.model, 'HS103');
          const dev = await connect({ host: sim.host, credentials, discovery: r });
          try {
            checkState(await dev.getState(), sim);
            assert.equal(sim.stats.handshakes, 1);
          } finally {
            await dev.close();
          }
        });
      });
    }
  });

  for (const id of ['hs103klap2', 'kp115klap2', 'hs300klap2']) {
    describe(`${id}: full state, outlet control and energy through transport 'auto'`, () => {
      for (const [way, opts] of WAYS) {
        it(`with ${way}: one login, IOT requests only after the session`, async () => {
          await withSim(id, async (sim) => {
            const dev = await connect(opts(sim));
            try {
              await exercise(dev, sim);
              assert.equal(dev.info()!.protocol, 'klap');
              assert.equal(sim.stats.handshakes, 1, 'one login: the hash version came from discovery or from handshake1');
              assert.equal(sim.stats.authFailures, 0);
              // With the family known (discovery), no SMART request ever reaches the device.
              if (way !== 'no discovery (explicit port)') assert.equal(sim.log.count('get_device_info') + sim.log.count('multipleRequest'), 0);
              // Without it, one SMART request is the price: an answer without error_code is not SMART, not asked again.
              else {
                const smart = sim.log.entries.filter((e) => ['multipleRequest', 'get_device_info', 'component_nego'].some((m) => e.methods.includes(m)));
                assert.equal(smart.length, 1, 'SMART requests that reached the device');
              }
            } finally {
              await dev.close();
            }
            // The second connect knows the route and the family: no probing, no SMART request.
            const before = sim.log.entries.length;
            const again = await connect(opts(sim));
            try {
              checkState(await again.getState(), sim);
              assert.ok(sim.log.entries.slice(before).every((e) => e.methods.every((m) => m.startsWith('system.'))));
            } finally {
              await again.close();
            }
          });
        });
      }

      it('through the Pool (auto, then an explicit klap reconnect that must find the family again)', async () => {
        await withSim(id, async (sim) => {
          const pool = new Pool({ credentials, timeoutMs: 3000, backoffMs: 50, devices: [{ host: sim.host }] });
          try {
            await exercise(pool.device({ host: sim.host }), sim);
            clearRouteCache();
            const explicit = pool.device({ host: sim.host, port: sim.port, transport: 'klap' });
            checkState(await explicit.getState(), sim);
            assert.equal(sim.stats.authFailures, 0);
          } finally {
            await pool.close();
          }
        });
      });
    });
  }

  describe('the hash version from handshake1 (KLAP hash versions, rule 3): a wrong guess costs no extra login', () => {
    it('matchKlapHandshake1 finds the version whose server hash matches, whichever is preferred', () => {
      const local = Buffer.alloc(16, 1);
      const remote = Buffer.alloc(16, 2);
      const hashes = { 1: [klapAuthHash(1, 'u', 'p')], 2: [klapAuthHash(2, 'u', 'p')] };
      for (const v of [1, 2] as const) {
        const body = Buffer.concat([remote, klapServerHash(v, local, remote, hashes[v][0]!)]);
        for (const preferred of [1, 2] as const) {
          const m = matchKlapHandshake1(preferred, local, body, hashes, 'h');
          assert.equal(m.version, v);
          assert.ok(m.auth.equals(hashes[v][0]!));
        }
        const other = { 1: [klapAuthHash(1, 'u', 'wrong')], 2: [klapAuthHash(2, 'u', 'wrong')] };
        assert.throws(() => matchKlapHandshake1(v, local, body, other, 'h'), isErr('EAUTH'));
      }
      assert.throws(() => matchKlapHandshake1(2, local, Buffer.alloc(47), hashes, 'h'), isErr('EPROTOCOL'));
    });

    it("transport 'klap-v1' to a v2 IOT device: continues with v2, reports 'klap', one login", async () => {
      await withSim('hs103klap2', async (sim) => {
        const dev = await connect({ host: sim.host, port: sim.port, credentials, transport: 'klap-v1' });
        try {
          checkState(await dev.getState(), sim);
          assert.equal(sim.stats.handshakes, 1);
          assert.equal(sim.stats.authFailures, 0);
        } finally {
          await dev.close();
        }
      });
    });

    it("an old IOT.KLAP (v1) device still works: auto with and without discovery, and transport 'klap'", async () => {
      await withSim('hs100uk', async (sim) => {
        const r = await discoverSingle(sim.host, { timeoutMs: 1500 });
        assert.equal(r.transport, 'klap-v1');
        for (const opts of [
          { host: sim.host, credentials, discovery: r },
          { host: sim.host, port: sim.port, credentials },
          { host: sim.host, port: sim.port, credentials, transport: 'klap' as const },
        ]) {
          clearRouteCache();
          const logins = sim.stats.handshakes;
          const dev = await connect(opts);
          try {
            const s = await dev.getState();
            assert.equal(s.protocol, 'klap-v1');
            assert.equal(s.family, 'plug');
            assert.equal(s.model, 'HS100');
            assert.equal(sim.stats.handshakes - logins, 1, JSON.stringify(opts));
          } finally {
            await dev.close();
          }
        }
        assert.equal(sim.stats.authFailures, 0);
        // Handshake1 proved v1 before the first request: the 2021 Kasa firmware gets IOT JSON only.
        assert.equal(sim.log.count('multipleRequest') + sim.log.count('get_device_info'), 0);
      });
    });

    it('a SMART KLAP device still works, with and without discovery', async () => {
      await withSim('p110', async (sim) => {
        for (const opts of [
          { host: sim.host, credentials },
          { host: sim.host, port: sim.port, credentials },
        ]) {
          clearRouteCache();
          const logins = sim.stats.handshakes;
          const dev = await connect(opts);
          try {
            const s = await dev.getState();
            assert.equal(s.protocol, 'klap');
            assert.equal(s.family, 'plug');
            assert.equal(s.model, 'P110');
            assert.ok((await dev.getEnergy()).powerW! >= 0);
            assert.equal(sim.stats.handshakes - logins, 1);
          } finally {
            await dev.close();
          }
        }
        assert.equal(sim.log.count('system.get_sysinfo'), 0, 'SMART is tried first on KLAP: no IOT request reached the Tapo plug');
      });
    });
  });

  it("the CLI shows it as supported with transport 'klap' (discover) and reads it (auto and --transport klap)", async () => {
    const cli = path.join(__dirname, '../../src/cli.js');
    const env = { ...process.env, KASA_TAPO_USERNAME: credentials.username, KASA_TAPO_PASSWORD: credentials.password };
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, [cli, ...args], { env, timeout: 15000 }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
        );
      });
    await withSim('hs300klap2', async (sim) => {
      const found = await run(['discover', '--broadcast', sim.host, '--timeout', '1500', '--json']);
      assert.equal(found.code, 0, found.stderr);
      const d = (JSON.parse(found.stdout) as { host: string; supported: boolean; transport?: string; protocol: string }[]).find((x) => x.host === sim.host);
      assert.deepEqual([d?.supported, d?.transport, d?.protocol], [true, 'klap', 'iot']);
      for (const extra of [[], ['--port', String(sim.port), '--transport', 'klap']]) {
        const r = await run(['--host', sim.host, ...extra, 'info', '--json']);
        assert.equal(r.code, 0, r.stderr);
        const s = JSON.parse(r.stdout) as DeviceState;
        assert.deepEqual([s.protocol, s.family, s.model, s.children?.length], ['klap', 'strip', 'HS300', 6]);
      }
    });
  });

  describe('failures say what was seen', () => {
    it("wrong password on an IOT v2 device → EAUTH with fix 'klap-v2-iot', one handshake1 and no login", async () => {
      await withSim(
        'kp115klap2',
        async (sim) => {
          const err = await connect({ host: sim.host, credentials, discovery: answerOf(sim) }).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(isErr('EAUTH', (e) => e.fix === 'klap-v2-iot' && e.hint === fixFor('klap-v2-iot'))(err), String(err));
          assert.ok(!String((err as Error).message).includes('Klap2-Pass-1'));
          assert.equal(sim.stats.handshakes, 0);
          // Without discovery nothing says the device is IOT: the usual auth hint.
          await assert.rejects(
            connect({ host: sim.host, port: sim.port, credentials, transport: 'klap' }),
            isErr('EAUTH', (e) => e.fix === undefined),
          );
        },
        { password: 'not-the-password' },
      );
    });

    it("KLAP handshake answered 403 → EAUTH with fix 'third-party'", async () => {
      await withSim('hs103klap2', async (sim) => {
        sim.faults.forbidHandshake = true;
        await assert.rejects(
          connect({ host: sim.host, port: sim.port, credentials, transport: 'klap' }),
          isErr('EAUTH', (e) => e.fix === 'third-party' && e.hint === fixFor('third-party') && e.httpStatus === 403),
        );
      });
    });

    it('a device that completes the KLAP login but answers neither request style → EUNSUPPORTED naming what it answered', async () => {
      const p = getProfile('hs103klap2');
      delete p.iot; // no device model: every request is answered with {}
      await withSim(p, async (sim) => {
        for (const opts of [
          { host: sim.host, port: sim.port, credentials },
          { host: sim.host, port: sim.port, credentials, transport: 'klap' as const },
        ]) {
          const err = await connect(opts).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(isErr('EUNSUPPORTED')(err), String(err));
          const msg = (err as Error).message;
          assert.match(msg, /klap login but answered neither request style/);
          assert.match(msg, /SMART get_device_info → .*no error_code: not a SMART answer/);
          assert.match(msg, /IOT system\.get_sysinfo → .*lacks module system/);
        }
        assert.equal(sim.stats.authFailures, 0);
      });
    });
  });

  describe('another device takes the address (DHCP hands it on): the route cache is not trusted blindly', () => {
    /** Start `first` on a fresh address, read it, stop it; start `second` on the same address and port. */
    async function handOver(first: string, firstTransport: 'xor' | 'klap', second: string): Promise<{ state: DeviceState; sim: SimulatedDevice }> {
      const host = address();
      clearRouteCache();
      const a = await startSimulatedDevice(first, { host, port: 0, credentials });
      const port = a.port;
      try {
        const dev = await connect({ host, port, transport: firstTransport, credentials });
        await dev.getState();
        await dev.close();
      } finally {
        await a.close();
      }
      const b = await startSimulatedDevice(second, { host, port, credentials });
      try {
        const dev = await connect({ host, port, transport: 'klap', credentials });
        try {
          return { state: await dev.getState(), sim: b };
        } finally {
          await dev.close();
        }
      } finally {
        await b.close();
        clearRouteCache();
      }
    }

    it('a Kasa IOT device over KLAP v2, then a Tapo SMART one: read in SMART after one IOT miss', async () => {
      const { state } = await handOver('hs103klap2', 'klap', 'p110');
      assert.equal(state.model, 'P110');
    });

    it('an XOR device learned at this port says nothing about a KLAP device there', async () => {
      const { state, sim } = await handOver('hs100', 'xor', 'p110');
      assert.equal(state.model, 'P110');
      assert.equal(sim.log.count('system.get_sysinfo'), 0, 'no IOT request reached the SMART device');
    });
  });
});
