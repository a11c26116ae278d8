/**
 * Secrets stay secret. A real Node-RED runs flows with credentials against simulated devices on
 * every transport, through success and every kind of failure (wrong credentials, refused,
 * unparsable answers, busy device, 403, bad input), with debug output copied to the log and the
 * log at trace level. Then everything observable is searched for the password, the username and
 * every hash or encoding of them the protocols put on the wire: the messages, status texts and
 * Catch errors, the log, every file Node-RED wrote, GET /flows, and the Scan/Test answers. The
 * CLI's --verbose output is searched the same way (it may show the username, nothing else).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SimulatedDevice } from '../../src/simulator/index';
import { Collector, linkedUserDir, report, repoRoot, startDeviceSpecs, startNodeRed, type DeviceSpec, type NodeRed } from '../helpers/nodered';

const CREDS = { username: 'secret-owner@example.org', password: 'Pw-9f3k-Very-Secret' };
const WRONG = { username: CREDS.username, password: 'Other-Pw-77x' };

/** The password, the username, and every form of them a protocol derives or sends. */
export function secretForms(c: { username: string; password: string }, includeUsername = true): string[] {
  const d = (alg: string, ...parts: (string | Buffer)[]) => {
    const h = createHash(alg);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const forms = new Set<string>([c.password, encodeURIComponent(c.password), Buffer.from(c.password).toString('base64')]);
  const derived: Buffer[] = [];
  for (const alg of ['md5', 'sha1', 'sha256']) derived.push(d(alg, c.password));
  if (includeUsername) {
    forms.add(c.username);
    forms.add(Buffer.from(c.username).toString('base64'));
    for (const alg of ['md5', 'sha1', 'sha256']) derived.push(d(alg, c.username));
  }
  // KLAP v1 and v2 auth hashes; AES login: base64 of sha1 hex.
  derived.push(d('md5', d('md5', c.username), d('md5', c.password)));
  derived.push(d('sha256', d('sha1', c.username), d('sha1', c.password)));
  for (const b of derived) {
    forms.add(b.toString('hex'));
    forms.add(b.toString('hex').toUpperCase());
    forms.add(b.toString('base64'));
    forms.add(Buffer.from(b.toString('hex')).toString('base64'));
  }
  return [...forms];
}

function findLeaks(where: string, text: string, forms: string[]): string[] {
  return forms.filter((f) => text.includes(f)).map((f) => `${where} contains ${f.slice(0, 6)}… (${f.length} chars)`);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

describe('secrets: the password and its hashes never appear anywhere observable', function () {
  this.timeout(120_000);
  const devices: SimulatedDevice[] = [];
  let red: NodeRed | undefined;
  const collector = new Collector();
  let userDir = '';

  after(async () => {
    await red?.stop();
    await collector.close();
    await Promise.all(devices.map((d) => d.close()));
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('in Node-RED: messages, status, Catch, log, files, admin API', async () => {
    const specs: DeviceSpec[] = [
      ['Kasa XOR', 'hs110v1', {}],
      ['Kasa KLAP v1', 'hs100uk', {}],
      ['Tapo KLAP', 'p110', {}],
      ['Tapo AES v1', 'p100', {}],
      ['Tapo AES v2', 'p110aes', {}],
      ['KLAP wrong account', 'p110', { wrong: true }],
      ['AES wrong account', 'p100', { wrong: true }],
      ['KLAP v1 wrong account', 'hs100uk', { wrong: true }],
      ['KLAP bad JSON', 'p110', { faults: { invalidJson: true } }],
      ['AES garbage', 'p100', { faults: { garbage: true } }],
      ['busy bulb', 'l530', { faults: { busyCode: -1301 } }],
      ['third-party off', 'p110', { faults: { forbidHandshake: true } }],
      ['switched off', 'hs110v1', { closed: true }],
    ];
    const started = await startDeviceSpecs(specs, CREDS, WRONG);
    devices.push(...started.devices);
    const entries = started.entries;
    await collector.start();
    const z = 'sec-tab';
    const flows: Record<string, unknown>[] = [
      { id: z, type: 'tab', label: 'secrets' },
      {
        id: 'sec-pool',
        type: 'tplink-pool',
        name: 'secret pool',
        devices: entries,
        timeout: 1500,
        retries: 0,
        queueLimit: 20,
        pollInterval: 1,
        broadcast: '127.255.255.255',
        version: 1,
        credentials: { ...CREDS },
      },
      { id: 'sec-catch', type: 'catch', z, name: '', scope: null, uncaught: false, wires: [['rep-catch', 'sec-debug']] },
      ...report('rep-catch', 'catch', collector.url, z),
      // Scoped: the http request nodes of report() show a status per request, which must not loop back.
      { id: 'sec-status', type: 'status', z, name: '', scope: [] as string[], wires: [['rep-status']] },
      ...report('rep-status', 'status', collector.url, z),
      // Debug output to the console too, so the log holds every message.
      {
        id: 'sec-debug',
        type: 'debug',
        z,
        name: 'all',
        active: true,
        tosidebar: true,
        console: true,
        tostatus: true,
        complete: 'true',
        targetType: 'full',
        wires: [],
      },
      {
        id: 'sec-poll',
        type: 'tplink-state',
        z,
        name: 'poll all',
        pool: 'sec-pool',
        target: 'all',
        device: '',
        devices: '',
        mode: 'poll',
        interval: '0.5',
        onlyChanges: false,
        version: 1,
        wires: [['rep-poll', 'sec-debug']],
      },
      ...report('rep-poll', 'poll', collector.url, z),
      ...report('rep-out', 'out', collector.url, z),
    ];
    const injects: string[] = [];
    const add = (key: string, node: Record<string, unknown>, payload: string, payloadType: string) => {
      flows.push({ ...node, id: `n-${key}`, z, pool: 'sec-pool', version: 1, wires: [['rep-out', 'sec-debug']] });
      flows.push({
        id: `i-${key}`,
        type: 'inject',
        z,
        props: [{ p: 'payload' }],
        payload,
        payloadType,
        repeat: '',
        once: false,
        topic: '',
        wires: [[`n-${key}`]],
      });
      injects.push(`i-${key}`);
    };
    for (const [i, e] of entries.entries()) {
      add(
        `${i}-toggle`,
        { type: 'tplink-action', device: e.alias, child: '', action: 'payload', value: '', valueType: 'str', transition: '' },
        'toggle',
        'str',
      );
      add(`${i}-state`, { type: 'tplink-state', target: 'one', device: e.alias, devices: '', mode: 'input', interval: '', onlyChanges: false }, '', 'date');
      add(
        `${i}-energy`,
        { type: 'tplink-energy', device: e.alias, child: '', mode: 'realtime', year: '', month: '', poll: false, interval: '', onlyChanges: false },
        '',
        'date',
      );
      add(
        `${i}-bad`,
        { type: 'tplink-action', device: e.alias, child: '', action: 'payload', value: '', valueType: 'str', transition: '' },
        '{"brightness":"loud"}',
        'json',
      );
      add(
        `${i}-raw`,
        { type: 'tplink-action', device: e.alias, child: '', action: 'raw', value: '{"method":"get_device_info"}', valueType: 'json', transition: '' },
        '',
        'date',
      );
    }

    (flows.find((n) => n.id === 'sec-status')!.scope as string[]).push(
      'sec-poll',
      ...flows.filter((n) => String(n.type).startsWith('tplink-') && n.z).map((n) => String(n.id)),
    );
    userDir = linkedUserDir('secrets');
    red = await startNodeRed({ userDir, settings: "logging: { console: { level: 'trace', metrics: false, audit: true } }," });
    await red.deploy(flows);
    for (let round = 0; round < 2; round++) for (const id of injects) await red.inject(id);

    // Wait (bounded) until the burst has settled: no message from an input for 2 s.
    const fromInputs = () => collector.got.filter((g) => g.tag === 'out' || g.tag === 'catch').length;
    for (
      let last = -1, since = Date.now(), t0 = Date.now();
      Date.now() - since < 2000 && Date.now() - t0 < 30_000;
      await new Promise((r) => setTimeout(r, 100))
    ) {
      if (fromInputs() !== last) [last, since] = [fromInputs(), Date.now()];
    }
    const codes = new Set(collector.tagged('catch').map((c) => c.msg.error?.code as string));
    for (const c of ['EAUTH', 'EBADINPUT', 'EUNSUPPORTED']) assert.ok(codes.has(c), `no ${c} among ${[...codes].join(', ')}`);
    assert.ok(
      [...codes].some((c) => ['EPROTOCOL', 'EDEVICE', 'EBUSY'].includes(c)),
      `no protocol/device error among ${[...codes].join(', ')}`,
    );
    assert.ok(
      [...codes].some((c) => ['ECONNREFUSED', 'EOFFLINE'].includes(c)),
      `no refused/offline among ${[...codes].join(', ')}`,
    );

    // The editor's admin endpoints, with the credentials in the body as the editor sends them.
    const scan = await red.request('POST', '/tplink-pool/scan', {
      id: 'sec-pool',
      broadcast: '127.255.255.255',
      timeout: 500,
      username: CREDS.username,
      password: CREDS.password,
    });
    const tests = [];
    for (const e of entries.filter((x) => !/bad JSON|garbage|busy|switched off/.test(String(x.alias))))
      tests.push(
        await red.request('POST', '/tplink-pool/test', {
          id: 'sec-pool',
          host: e.host,
          port: e.port,
          transport: e.transport,
          username: CREDS.username,
          password: CREDS.password,
          timeout: 5000,
        }),
      );
    assert.ok(tests.some((t) => t.json?.ok === true) && tests.some((t) => t.json?.code === 'EAUTH'), tests.map((t) => t.text).join('\n'));
    const flowsApi = await red.request('GET', '/flows');

    const forms = secretForms(CREDS).concat(secretForms(WRONG, false));
    const leaks = [
      ...findLeaks('messages, status and Catch', JSON.stringify(collector.got), forms),
      ...findLeaks('the Node-RED log', red.log(), forms),
      ...findLeaks('GET /flows', flowsApi.text, forms),
      ...findLeaks('Scan', scan.text, forms),
      ...findLeaks('Test', tests.map((t) => t.text).join('\n'), forms),
      ...listFiles(userDir).flatMap((f) => findLeaks(path.relative(userDir, f), fs.readFileSync(f, 'latin1'), forms)),
    ];
    assert.deepEqual(leaks, []);
    assert.ok(red.log().length > 5000 && collector.got.length > 100, 'the search had something to search');
    assert.ok(red.running());
  });

  it('in the CLI with --verbose: decrypted traffic shown, no password and no hash of it', async () => {
    const cli = path.join(repoRoot(), 'dist', 'src', 'cli.js');
    const run = (args: string[], creds: { username: string; password: string }) =>
      new Promise<string>((resolve) => {
        execFile(
          process.execPath,
          [cli, ...args],
          { env: { ...process.env, KASA_TAPO_USERNAME: creds.username, KASA_TAPO_PASSWORD: creds.password }, timeout: 20_000 },
          (_e, out, err) => resolve(`${out}${err}`),
        );
      });
    const ok = devices.filter(
      (d) => ['hs100uk', 'p110', 'p100', 'p110aes'].includes(d.profile.id) && !d.faults.invalidJson && !d.faults.garbage && !d.faults.forbidHandshake,
    );
    assert.ok(ok.length >= 4);
    let all = '';
    for (const d of ok) {
      for (const creds of [CREDS, WRONG]) {
        for (const cmd of ['info', 'on', 'energy'])
          all += await run(
            [
              '--host',
              d.host,
              '--port',
              String(d.port),
              '--transport',
              d.transport === 'aes' && d.profile.loginVersion === 1 ? 'aes-v1' : d.transport,
              '--verbose',
              '--timeout',
              '2000',
              cmd,
            ],
            creds,
          );
      }
    }
    assert.match(all, /get_device_info|get_sysinfo/, 'verbose shows the decrypted requests');
    assert.deepEqual([...findLeaks('CLI --verbose', all, secretForms(CREDS, false)), ...findLeaks('CLI --verbose', all, secretForms(WRONG, false))], []);
  });
});
