/**
 * Nothing lost: in a real Node-RED, 1,000 messages at once across tplink-action, tplink-state and
 * tplink-energy, spread over healthy and faulty simulated devices (too slow for the timeout,
 * switched off, answering garbage, busy, wrong account). Every input must end in exactly one
 * output or exactly one Catch, Node-RED must still run, and its heap after the burst must come
 * back near where it started.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { SimulatedDevice } from '../../src/simulator/index';
import { Collector, flowNode, linkedUserDir, report, startDeviceSpecs, startNodeRed, type DeviceSpec, type NodeRed } from '../helpers/nodered';

const CREDS = { username: 'burst@example.com', password: 'Burst-Pass-1' };
const N = 1000;

describe('nothing lost: a burst of 1,000 messages in a real Node-RED with faulty devices', function () {
  this.timeout(180_000);
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

  it('gives exactly one output or one Catch per message, and Node-RED survives with its memory back', async () => {
    const specs: DeviceSpec[] = [
      ['xor ok', 'hs110v1', {}],
      ['klap ok', 'p110', {}],
      ['aes ok', 'p110aes', {}],
      ['klap v1 ok', 'hs100uk', {}],
      ['slow', 'p110', { faults: { latencyMs: 1500 } }],
      ['off', 'hs110v1', { closed: true }],
      ['garbage', 'p100', { faults: { garbage: true } }],
      ['busy', 'kp125m', { faults: { busyCode: -1301 } }],
      ['wrong account', 'p110', { wrong: true }],
      ['one at a time', 'hs110v1', { faults: { singleConnection: true } }],
    ];
    const started = await startDeviceSpecs(specs, CREDS, { ...CREDS, password: 'not-it' });
    devices.push(...started.devices);
    const entries = started.entries;
    await collector.start();
    const z = 'burst-tab';
    const aliases = JSON.stringify(entries.map((e) => e.alias));
    const burst = `const devices = ${aliases};
const count = Number(msg.payload) || ${N};
for (let i = 0; i < count; i++) {
  const m = { seq: i, device: devices[i % devices.length], payload: i % 2 ? 'on' : 'off' };
  const out = [null, null, null];
  out[i % 3] = m;
  node.send(out);
}
return null;`;
    const flows: Record<string, unknown>[] = [
      { id: z, type: 'tab', label: 'burst' },
      {
        id: 'burst-pool',
        type: 'tplink-pool',
        name: 'burst pool',
        devices: entries,
        timeout: 500,
        retries: 0,
        queueLimit: 150,
        pollInterval: 10,
        broadcast: '127.255.255.255',
        version: 1,
        credentials: { ...CREDS },
      },
      flowNode('inject', { id: 'warm', z, payload: '100', payloadType: 'num', wires: [['burst-fn']] }),
      flowNode('inject', { id: 'go', z, payload: String(N), payloadType: 'num', wires: [['burst-fn']] }),
      {
        id: 'burst-fn',
        type: 'function',
        z,
        name: 'burst of messages',
        func: burst,
        outputs: 3,
        noerr: 0,
        initialize: '',
        finalize: '',
        libs: [],
        wires: [['act'], ['state'], ['energy']],
      },
      flowNode('tplink-action', { id: 'act', z, pool: 'burst-pool', wires: [['rep-out']] }),
      flowNode('tplink-state', { id: 'state', z, pool: 'burst-pool', wires: [['rep-out']] }),
      flowNode('tplink-energy', { id: 'energy', z, pool: 'burst-pool', wires: [['rep-out']] }),
      ...report('rep-out', 'out', collector.url, z),
      { id: 'burst-catch', type: 'catch', z, name: '', scope: ['act', 'state', 'energy'], uncaught: false, wires: [['rep-catch']] },
      ...report('rep-catch', 'catch', collector.url, z),
      { id: 'mem-in', type: 'inject', z, props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, topic: '', wires: [['mem']] },
      {
        id: 'mem',
        type: 'function',
        z,
        name: 'heap',
        func: "msg.payload = global.get('heap')(); return msg;",
        outputs: 1,
        noerr: 0,
        initialize: '',
        finalize: '',
        libs: [],
        wires: [['rep-mem']],
      },
      ...report('rep-mem', 'mem', collector.url, z),
    ];

    userDir = linkedUserDir('burst');
    red = await startNodeRed({
      userDir,
      nodeArgs: ['--expose-gc'],
      settings: 'functionGlobalContext: { heap: () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed; } },',
    });
    await red.deploy(flows);
    const heap = async (n: number): Promise<number> => {
      await red!.inject('mem-in');
      const got = await collector.waitFor('mem', n, 15_000);
      return got[n - 1].payload as number;
    };
    // Warm up: one small round so sessions, code paths and the JIT exist before the baseline.
    await red.inject('warm');
    const ended = () => collector.tagged('out').length + collector.tagged('catch').length;
    for (const t0 = Date.now(); ended() < 100 && Date.now() - t0 < 30_000;) await new Promise((r) => setTimeout(r, 100));
    const before = await heap(1);
    collector.got.length = 0;

    // tplink-state also announces a device going offline or coming back ({online}): not an answer to an input.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const announcement = (r: { tag: string; msg: any }) =>
      r.tag === 'out' && r.msg.seq === undefined && typeof r.msg.online === 'boolean' && Object.keys(r.msg.payload ?? {}).join() === 'online';
    await red.inject('go');
    const t0 = Date.now();
    while (ended() - collector.got.filter(announcement).length < N && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1500)); // anything extra would arrive now

    const per = new Map<number, string[]>();
    // Announcements ({online}, no seq) are nobody's ending: leave them out of the count per message.
    for (const r of collector.got) if ((r.tag === 'out' || r.tag === 'catch') && !announcement(r)) per.set(r.msg.seq, [...(per.get(r.msg.seq) ?? []), r.tag]);
    const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !per.has(i));
    const doubled = [...per.entries()].filter(([, v]) => v.length !== 1);
    const codes: Record<string, number> = {};
    for (const r of collector.tagged('catch')) codes[r.msg.error?.code] = (codes[r.msg.error?.code] ?? 0) + 1;
    console.log(
      `      ${collector.tagged('out').length} outputs, ${collector.tagged('catch').length} caught in ${seconds.toFixed(1)} s: ${JSON.stringify(codes)}`,
    );
    assert.deepEqual(missing, [], 'messages with neither an output nor a Catch');
    assert.deepEqual(doubled, [], 'messages with more than one ending');
    const strays = collector.got.filter(
      (r) => (r.tag === 'out' || r.tag === 'catch') && !announcement(r) && !(Number.isInteger(r.msg.seq) && r.msg.seq >= 0 && r.msg.seq < N),
    );
    assert.deepEqual(
      strays.map((r) => [r.tag, r.msg.topic, r.msg.error?.message ?? r.msg.payload]),
      [],
      'outputs or Catches not caused by an input',
    );
    assert.ok(collector.tagged('out').length > N / 4, 'the healthy devices answered');
    for (const c of ['EAUTH', 'EOFFLINE'])
      assert.ok(
        Object.keys(codes).some((k) => k === c || (c === 'EOFFLINE' && k === 'ECONNREFUSED')),
        `no ${c}: ${JSON.stringify(codes)}`,
      );
    assert.ok(red.running(), 'Node-RED is still running');

    const after = await heap(1);
    console.log(`      Node-RED heap: ${(before / 1e6).toFixed(1)} MB before, ${(after / 1e6).toFixed(1)} MB after the burst`);
    assert.ok(after < before + 20e6, `heap grew from ${before} to ${after}`);
  });
});
