/**
 * the simulator answers discovery sent to its subnet broadcast
 * (127.x.y.255 on a random 127.x subnet, not only 127.255.255.255); the CLI names the child it
 * switched or read with --child, and prints a clear line for `energy` on a bulb.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { discover } from '../../src/discovery';
import { startSimulatedHome, type SimulatedHome } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';

const CLI = path.join(__dirname, '../../src/cli.js');
const creds = { username: 'subnet@example.com', password: 'subnet-pw' };
const env = { ...process.env, KASA_TAPO_USERNAME: creds.username, KASA_TAPO_PASSWORD: creds.password, HOME: '/nonexistent-kasa-tapo-home' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 15000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('subnet broadcast discovery and CLI --child / energy', function () {
  this.timeout(30000);
  const base = randomBase();
  let home: SimulatedHome;
  const at = (id: string) => {
    const d = home.device(id)!;
    return ['--host', d.host, '--port', String(d.port), '--transport', d.transport];
  };

  before(async () => {
    home = await startSimulatedHome({
      baseAddress: base,
      profiles: ['hs100', 'p110', 'p304m', 'kl130', 'l530', 'hs300'],
      standardPorts: false,
      credentials: creds,
    });
  });
  after(async () => {
    await home?.close();
  });

  it(`discover() with broadcast ${'<base>'}.255 finds the devices of that subnet`, async () => {
    const found = (await discover({ broadcast: `${base}.255`, timeoutMs: 800, rounds: 2 })).filter((d) => d.host.startsWith(`${base}.`));
    const models = new Set(found.map((d) => d.model));
    for (const m of ['HS100(US)', 'P110(UK)', 'P304M(UK)', 'KL130(EU)'])
      assert.ok(
        [...models].some((x) => x?.startsWith(m.slice(0, 4))),
        `${m} in ${[...models].join()}`,
      );
    assert.equal(new Set(found.map((d) => d.host)).size, 6);
  });

  it('a broadcast to another subnet does not reach them', async () => {
    const [, x, y] = base.split('.').map(Number);
    const other = `127.${x}.${y === 250 ? 249 : y! + 1}.255`;
    const found = (await discover({ broadcast: other, timeoutMs: 400, rounds: 1 })).filter((d) => d.host.startsWith(`${base}.`));
    assert.equal(found.length, 0);
  });

  it('--child N on|off prints the child alias (SMART strip and IOT strip)', async () => {
    let r = await cli([...at('p304m'), '--child', '1', 'on']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Printer \(Office Strip\) switched on/);
    r = await cli([...at('hs300'), '--child', 'Lamp', 'off']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Lamp \(Media Strip\) switched off/);
  });

  it('--child N info reads the child', async () => {
    const r = await cli([...at('p304m'), '--child', '2', 'info']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Desk Fan \(P304M outlet of Office Strip\) is on/);
    const j = await cli([...at('p304m'), '--child', '2', 'info', '--json']);
    assert.equal(JSON.parse(j.stdout).alias, 'Desk Fan');
    const bad = await cli([...at('p304m'), '--child', '9', 'info']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ENOTFOUND/);
  });

  it('energy on a bulb prints a clear line; on a plug the totals', async () => {
    let r = await cli([...at('kl130'), 'energy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^power [\d.]+ W/);
    assert.doesNotMatch(r.stdout, /\b(today|month|total)(,|\s*$)/); // every label has its value
    r = await cli([...at('l530'), 'energy']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EUNSUPPORTED.*no energy meter/);
    r = await cli([...at('p110'), 'energy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^power [\d.]+ W, [\d.]+ V, [\d.]+ A; today [\d.]+ kWh, month [\d.]+ kWh/);
  });
});
