/**
 * Every example in examples/, deployed as `npm start` deploys them (scripts/demo.js: the pool
 * "Simulated home" plus one tab per example) in a real Node-RED against a simulated home, every
 * inject button pressed: each debug node gets what the example promises, and no node fails except
 * where the example is about failures. Also checks the files themselves: a comment first, only
 * core and our nodes, and the one shared pool "My TP-Link" (same id everywhere, no credentials,
 * the simulated home's supported devices).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSimulatedHome, type SimulatedHome } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { Collector, linkedUserDir, report, repoRoot, startNodeRed, type NodeRed } from '../helpers/nodered';

type Node = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Demo {
  POOL_ID: string;
  isSupportedProfile(p: unknown): boolean;
  loadExamples(): { title: string; nodes: Node[] }[];
  demoFlows(home: SimulatedHome): Node[];
}

const CREDS = { username: 'examples@example.com', password: 'Ex4mples-Secret' };
const CORE = new Set([
  'comment',
  'inject',
  'debug',
  'function',
  'change',
  'switch',
  'split',
  'join',
  'delay',
  'catch',
  'status',
  'template',
  'trigger',
  'file',
  'link in',
  'link out',
]);
const OURS = new Set(['tplink-action', 'tplink-state', 'tplink-energy']);

/** What each example's debug nodes must show: tag "NN/debug name" → a check on the messages. */
const EXPECT: Record<string, (msgs: Node[]) => void> = {
  '01/Kasa plug state': (m) => assert.ok(m.some((x) => typeof x.payload.on === 'boolean' && /^HS100/.test(x.payload.model))),
  '01/Tapo plug state': (m) => assert.ok(m.some((x) => typeof x.payload.on === 'boolean' && x.payload.model === 'P100')),
  '02/room summary': (m) =>
    assert.ok(
      m.some((x) => x.payload.allOn === true && x.payload.total === 6 && x.payload.offline.length === 0),
      JSON.stringify(m),
    ),
  '03/switched on|03/switched off': (m) => assert.ok(m.length > 0),
  '04/power now': (m) => assert.equal(typeof m[0]!.payload.powerW, 'number'),
  '04/log line': (m) => assert.match(m[0]!.payload, /^\d{4}-.*,\d/),
  '04/daily kWh': (m) => assert.ok(m[0]!.payload.period === 'day' && m[0]!.payload.entries.length > 0),
  '05/outlet state': (m) => assert.ok(m.length >= 2),
  '05/every outlet': (m) => assert.equal(m[0]!.payload.length, 6),
  '05/TV outlet energy': (m) => assert.equal(typeof m[0]!.payload.powerW, 'number'),
  '06/bulb state': (m) =>
    assert.ok(m.length >= 4 && m.some((x) => x.payload.colorTemp === 2700 || x.payload.colorTemp === 4000), JSON.stringify(m.map((x) => x.payload))),
  '07/sensor': (m) => assert.deepEqual([...new Set(m.map((x) => x.payload.model))].sort(), ['S200B', 'T100', 'T110', 'T300', 'T315']),
  '08/Kasa answer': (m) => assert.ok(m[0]!.payload.system.get_sysinfo.model),
  '08/Tapo answer': (m) => assert.ok(JSON.stringify(m[0]!.payload).includes('device_id')),
  '09/error': (m) => assert.deepEqual([...new Set(m.map((x) => x.payload.code))].sort(), ['EBADINPUT', 'ENOTFOUND', 'EUNSUPPORTED']),
  '09/status text': (m) => assert.ok(m.some((x) => x.status.fill === 'red')),
  '10/button event': (m) => {
    // The buttons fire once on deploy and once more when the test injects them: each press once.
    const ids = m.map((x) => x.payload.id);
    assert.equal(new Set(ids).size, ids.length, `an event came twice: ${ids.join()}`);
    const seen = new Set(m.map((x) => `${x.payload.event}${x.payload.degrees ?? ''}`));
    assert.deepEqual([...seen].sort(), ['rotation30', 'single_click'], JSON.stringify(m.map((x) => x.payload)));
  },
  '11/power CSV': (m) =>
    assert.ok(
      m.some((x) => /^at,powerW\n\d{4}-\d\d-\d\dT[\d:.]+Z,\d+/.test(x.payload)) && m.some((x) => /^at,kWh\n/.test(x.payload)),
      JSON.stringify(m).slice(0, 300),
    ),
  '12/auto-update setting': (m) =>
    assert.ok(
      m.some((x) => typeof x.payload.autoUpdate === 'boolean' && /^\d\d:\d\d$/.test(x.payload.time)),
      JSON.stringify(m),
    ),
};
// 12: the simulated home's firmware and protocols do not change during the test.
const SILENT = ['02/not answering', '09/done', '12/firmware changed', '12/protocol changed'];

describe('examples: every one deployed in a real Node-RED against the simulated home', function () {
  this.timeout(120_000);
  const demo = require(path.join(repoRoot(), 'scripts', 'demo.js')) as Demo;
  const examples = demo.loadExamples();
  let home: SimulatedHome | undefined;
  let red: NodeRed | undefined;
  const collector = new Collector();
  let userDir = '';

  after(async function () {
    await red?.stop();
    await collector.close();
    await home?.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  // Changed from "no pool node": an example without its pool deploys with
  // "not properly configured" and ENOPOOL in a clean Node-RED. Each now carries the same pool.
  it('are well-formed: comment first, core and our nodes only, the shared pool without credentials', () => {
    const gen = require(path.join(repoRoot(), 'scripts', 'examples.js')) as { homeDeviceList(): unknown[]; POOL_NAME: string };
    const expectedDevices = gen.homeDeviceList();
    assert.ok(examples.length >= 9, `${examples.length} examples`);
    const types = new Set<string>();
    for (const ex of examples) {
      assert.match(ex.title, /^\d\d - \S/, `file name ${ex.title}`);
      assert.equal(ex.nodes[0]!.type, 'comment', `${ex.title} starts with a comment`);
      assert.ok(String(ex.nodes[0]!.info).length > 80, `${ex.title}: the comment explains the example`);
      const pools = ex.nodes.filter((n) => n.type === 'tplink-pool');
      assert.equal(pools.length, 1, `${ex.title}: one pool node`);
      assert.equal(pools[0]!.id, demo.POOL_ID, `${ex.title}: the shared pool id`);
      assert.equal(pools[0]!.name, gen.POOL_NAME);
      assert.equal(pools[0]!.z, undefined, `${ex.title}: the pool is global, not on a tab`);
      assert.deepEqual(pools[0]!.devices, expectedDevices, `${ex.title}: the pool lists the simulated home (run node scripts/examples.js)`);
      for (const n of ex.nodes) {
        if (n.type === 'tplink-pool') continue;
        types.add(n.type);
        assert.ok(CORE.has(n.type) || OURS.has(n.type), `${ex.title}: ${n.type} is not a core node`);
        assert.equal(n.credentials, undefined, `${ex.title}: credentials in ${n.id}`);
        if (OURS.has(n.type)) assert.equal(n.pool, demo.POOL_ID, `${ex.title}: ${n.name} uses the shared pool`);
      }
      assert.ok(!/password|@example\.com/i.test(JSON.stringify(ex.nodes)), `${ex.title} mentions a password or account`);
    }
    for (const t of OURS) assert.ok(types.has(t), `no example uses ${t}`);
  });

  it('each produces its expected output and no unexpected error', async () => {
    home = await startSimulatedHome({ baseAddress: randomBase(), standardPorts: false, discovery: false, credentials: CREDS });
    await collector.start();
    const flows = demo.demoFlows(home);
    const pool = flows.find((n) => n.id === demo.POOL_ID)!;
    assert.equal(pool.credentials.password, CREDS.password, "the pool takes the home's credentials");

    // Tap every debug node: whatever is wired to it also goes to the collector, tagged.
    const tabs = new Map(flows.filter((n) => n.type === 'tab').map((t) => [t.id, String(t.info).match(/"(\d\d) - /)![1]]));
    const extra: Node[] = [];
    for (const d of flows.filter((n) => n.type === 'debug')) {
      const tag = `${tabs.get(d.z)}/${d.name}`;
      const tapId = `tap-${d.id}`;
      extra.push(...report(tapId, tag, collector.url, d.z, d.x, d.y + 30));
      for (const n of flows) for (const out of (n.wires ?? []) as string[][]) if (out.includes(d.id)) out.push(tapId);
    }
    extra.push({ id: 'errors-tab', type: 'tab', label: 'errors' });
    extra.push({ id: 'all-errors', type: 'catch', z: 'errors-tab', name: '', scope: null, uncaught: false, x: 100, y: 40, wires: [['rep-errors']] });
    extra.push(...report('rep-errors', 'errors', collector.url, 'errors-tab'));

    userDir = linkedUserDir('examples');
    red = await startNodeRed({ userDir });
    await red.deploy([...flows, ...extra]);
    for (const n of flows.filter((x) => x.type === 'inject')) await red.inject(n.id);

    for (const [tags, check] of Object.entries(EXPECT)) {
      const list = tags.split('|');
      const t0 = Date.now();
      let got: Node[] = [];
      for (;;) {
        got = list.flatMap((t) => collector.tagged(t).map((r) => r.msg));
        let err: unknown;
        try {
          if (got.length) check(got);
        } catch (e) {
          err = e;
        }
        if (got.length && !err) break;
        if (Date.now() - t0 > 20_000) {
          throw new Error(
            `${tags}: ${err ? (err as Error).message : 'no message'}; got ${JSON.stringify(got).slice(0, 600)}\nerrors: ${JSON.stringify(collector.tagged('errors').map((r) => r.msg.error)).slice(0, 1500)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const t of SILENT) assert.equal(collector.tagged(t).length, 0, `${t} got a message`);
    const errors = collector.tagged('errors').map((r) => r.msg.error);
    const unexpected = errors.filter((e) => tabs.get(flows.find((n) => n.id === e.source.id)?.z) !== '09');
    assert.deepEqual(unexpected, [], 'errors outside the error-handling example');
    assert.ok(!(JSON.stringify(collector.got) + red.log()).includes(CREDS.password), 'the password appeared in a message or the log');
    assert.ok(red.running());
  });
});
