// Every simulator profile over its real transport: discover via 127.255.255.255, connect, read,
// switch, dim/colour where the family has it, energy where it meters, strip outlets and hub children.
import { strict as assert } from 'node:assert';
import { discover } from '../../src/discovery';
import { connect, clearRouteCache } from '../../src/connect';
import { startSimulatedHome, listProfiles, getProfile, type SimulatedHome } from '../../src/simulator';
import type { DiscoveryResult } from '../../src/types';
import { openHandles, randomBase, settleHandles } from '../helpers/net';

const credentials = { username: 'matrix@example.com', password: 'Matrix-Pass-1' };

describe('every profile over its transport (simulated home)', function () {
  let home: SimulatedHome;
  let found: DiscoveryResult[] = [];
  let base: string;
  let handlesBefore: Record<string, number>;

  before(async () => {
    handlesBefore = openHandles();
    base = randomBase();
    home = await startSimulatedHome({ baseAddress: base, credentials });
    found = (await discover({ broadcast: '127.255.255.255', timeoutMs: 1500 })).filter((d) => d.host.startsWith(base + '.'));
  });
  after(async () => {
    await home?.close();
    clearRouteCache();
    const left = await settleHandles(handlesBefore);
    for (const k of Object.keys(left)) assert.ok((left[k] ?? 0) <= (handlesBefore[k] ?? 0), `leaked ${k}: ${JSON.stringify(left)}`);
  });

  it('discovers every device of the home on 127.255.255.255', () => {
    assert.equal(found.length, listProfiles().length, JSON.stringify(found.map((f) => f.host)));
  });

  for (const id of listProfiles()) {
    const profile = getProfile(id);
    describe(`${id} (${profile.model}, ${profile.family}, ${profile.transport})`, () => {
      const dev = () => home.device(id)!;
      const answer = () => found.find((f) => f.host === dev().host);
      // Firmware older than login v2 needs login v1, which only the user chooses (never an answer's lv).
      const userLv = (): { loginVersion?: 1 } => (profile.loginVersion === 1 ? { loginVersion: 1 } : {});

      if (profile.unsupported || profile.transport === 'https') {
        it('is found but reported unsupported, with a reason', () => {
          const a = answer();
          assert.ok(a, 'found');
          assert.equal(a.supported, false);
          assert.ok(a.reason && a.reason.length > 10);
        });
        return;
      }

      it('is discovered with the right transport', () => {
        const a = answer();
        assert.ok(a, 'found');
        assert.equal(a.supported, true);
        // A KLAP device that announces TPAP (KP125M 1.4.1) is announced as TPAP; connect() finds KLAP.
        assert.equal(a.transport, profile.tpapDiscover ? 'tpap' : profile.transport);
        assert.equal(a.mac, profile.mac.toUpperCase());
      });

      it('connects, reads, switches off and on', async () => {
        const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, timeoutMs: 3000, ...userLv() });
        try {
          const s = await d.getState();
          assert.equal(s.family, profile.family);
          assert.equal(s.protocol, profile.transport);
          assert.equal(s.alias, profile.alias);
          assert.equal(s.host, dev().host);
          if (profile.family === 'hub') return; // a hub has no relay
          assert.equal((await d.setState({ on: false })).on, false);
          assert.equal((await d.setState({ on: true })).on, true);
        } finally {
          await d.close();
        }
      });

      const light = profile.iot?.light ?? profile.smart?.light;
      const dims = ['dimmer', 'bulb', 'lightstrip'].includes(profile.family);
      if (dims) {
        it('sets brightness', async () => {
          const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, ...userLv() });
          try {
            assert.equal((await d.setState({ on: true, brightness: 37 })).brightness, 37);
          } finally {
            await d.close();
          }
        });
      }
      if (light && light.range[1] > 0) {
        it('sets colour and colour temperature', async () => {
          const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, ...userLv() });
          try {
            const c = await d.setState({ hue: 120, saturation: 80 });
            assert.equal(c.hue, 120);
            assert.equal(c.saturation, 80);
            if (light.range[1] > light.range[0]) {
              const t = await d.setState({ colorTemp: light.range[0] + 300 });
              assert.equal(t.colorTemp, light.range[0] + 300);
            }
          } finally {
            await d.close();
          }
        });
      }

      const meters = !!(profile.iot?.emeter || profile.smart?.energy || profile.smart?.children?.some((c) => c.baseW));
      if (meters) {
        it('reads energy now and this month by day', async () => {
          const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, ...userLv() });
          try {
            const child = profile.family === 'strip' ? 0 : undefined;
            const e = await d.getEnergy(child);
            assert.equal(typeof e.powerW, 'number');
            assert.ok(e.powerW! >= 0);
            const now = new Date();
            const h = await d.getEnergyHistory('day', { year: now.getFullYear(), month: now.getMonth() + 1, ...(child !== undefined ? { child } : {}) });
            assert.equal(h.period, 'day');
            assert.ok(Array.isArray(h.entries));
            for (const x of h.entries) assert.match(x.date, /^\d{4}-\d{2}-\d{2}$/);
          } finally {
            await d.close();
          }
        });
      }

      const outlets = profile.iot?.outlets ?? profile.smart?.children?.filter((c) => c.kind === 'outlet');
      if (profile.family === 'strip' && outlets) {
        it('reads and switches one outlet', async () => {
          const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, ...userLv() });
          try {
            const s = await d.getState();
            assert.equal(s.children?.length, outlets.length);
            const after = await d.setState({ on: false }, 1);
            assert.equal(after.children?.[1]?.on, false);
            const again = await d.setState({ on: true }, after.children[1].alias);
            assert.equal(again.children?.[1]?.on, true);
          } finally {
            await d.close();
          }
        });
      }

      if (profile.family === 'hub') {
        it('reads its child sensors', async () => {
          const d = await connect({ host: dev().host, port: dev().port, discovery: answer()!, credentials, ...userLv() });
          try {
            const s = await d.getState();
            const kids = s.children ?? [];
            assert.ok(kids.some((c) => typeof c.temperatureC === 'number' && typeof c.humidityPercent === 'number'));
            assert.ok(kids.some((c) => typeof c.open === 'boolean'));
            assert.ok(kids.some((c) => typeof c.detected === 'boolean'));
          } finally {
            await d.close();
          }
        });
      }

      it('is found by transport "auto" without discovery data', async () => {
        clearRouteCache();
        // The caller vouches for the host (allowAesLogin) and picks login v1 for AES firmware older than v2.
        const lv1 = profile.transport === 'aes' && profile.loginVersion === 1 ? { loginVersion: 1 as const } : {};
        const d = await connect({ host: dev().host, port: dev().port, credentials, transport: 'auto', allowAesLogin: true, ...lv1, timeoutMs: 2000 });
        try {
          assert.equal(d.info()?.protocol, profile.transport);
        } finally {
          await d.close();
        }
      });
    });
  }
});
