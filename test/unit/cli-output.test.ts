// What the kasa-tapo command line prints for a person: a header over `discover`'s table, energy
// rounded and separated, and a reader that goes away early (`discover | head -1`) ends it quietly.
import { strict as assert } from 'node:assert';
import { spawn, execFile } from 'node:child_process';
import * as path from 'node:path';
import { energyText } from '../../src/cli-format';
import { startSimulatedHome, type SimulatedHome } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';

const CLI = path.join(__dirname, '../../src/cli.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KASA_TAPO_')));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 20000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run the CLI with its stdout closed by the reader before it prints: every write meets EPIPE. */
function runClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone (as `head -1` after its line)
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => {
      child.kill('SIGKILL'); // only the process this test started, by its PID
      reject(new Error('the CLI did not end'));
    }, 20000);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

describe('kasa-tapo CLI output for a person', function () {
  this.timeout(60000);
  let home: SimulatedHome;
  let base: string;

  before(async () => {
    base = randomBase();
    home = await startSimulatedHome({ baseAddress: base, credentials: { username: 'cli-out@example.com', password: 'cli-out-secret' } });
  });
  after(async () => {
    await home.close();
  });

  it('discover prints a header line over its table', async () => {
    const r = await run(['discover', '--broadcast', '127.255.255.255', '--timeout', '1500']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^HOST\s+MODEL\s+ALIAS\s+MAC\s+TRANSPORT$/);
    const mine = lines.filter((l) => l.startsWith(`${base}.`));
    assert.ok(mine.length >= 12, r.stdout);
    // The columns line up under the header.
    const at = lines[0]!.indexOf('MAC');
    assert.ok(
      mine.every((l) => /^[0-9A-F:]{17} /.test(l.slice(at))),
      r.stdout,
    );
  });

  it('discover | head -1: no EPIPE stack trace, exit code 0', async () => {
    for (const args of [['discover', '--broadcast', '127.255.255.255', '--timeout', '1000'], ['--help']]) {
      const r = await runClosedStdout(args);
      assert.equal(r.stderr, '', `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.code, 0, args.join(' '));
    }
  });

  it('energy: power, voltage and current rounded and separated, then the totals', async () => {
    const hs110 = home.devices.find((d) => d.profile.model.startsWith('HS110'));
    assert.ok(hs110);
    const r = await run(['--host', hs110.host, 'energy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^power \d+\.\d W, \d+\.\d V, \d+\.\d{3} A; today \d+\.\d{3} kWh, month \d+\.\d{3} kWh, total \d+\.\d{3} kWh\n$/);
  });

  it('energyText: partial readings', () => {
    assert.equal(energyText({ powerW: 5.04 }), 'power 5.0 W; (this device reports no energy totals)');
    assert.equal(energyText({ todayKWh: 1.2, monthKWh: 30 }), 'today 1.200 kWh, month 30.000 kWh');
    assert.equal(energyText({}), 'no energy readings');
  });
});
