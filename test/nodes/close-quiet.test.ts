/**
 * Closing a node while it connects is silent: a redeploy or a restart while a device's handshake is
 * under way logged `[error] … The transport to … is closed` or `ECLOSED … abandoned`. Nothing a
 * user asked for failed: the flow was stopped. Errors of a running flow are still reported.
 */
import { strict as assert } from 'node:assert';
import type { SimulatedDevice } from '../../src/simulator/index';
import { NODES, deviceEntry, helper, poolCreds, poolNode, startDevices, statuses, until } from './support';

type LogEntry = { level?: number; msg?: unknown; type?: string };

/**
 * Close every node (helper.unload, as a redeploy or a restart does) and record what Node-RED logs
 * meanwhile and shortly after: the helper's own log spy is removed before the nodes close.
 */
async function unloadLogged(afterMs: number): Promise<LogEntry[]> {
  const log = (helper as unknown as { _log: { log: (m: LogEntry) => void } })._log;
  const stopping = helper.unload(); // restores the helper's spy at once, then stops the flows
  const orig = log.log;
  const entries: LogEntry[] = [];
  log.log = function (this: unknown, m: LogEntry) {
    entries.push(m);
    return orig.call(this, m);
  };
  try {
    await stopping;
    await new Promise((r) => setTimeout(r, afterMs));
  } finally {
    log.log = orig;
  }
  return entries;
}

/** What our nodes logged at level error or warn (Node-RED's levels: 20 error, 30 warn), as text. */
function loud(entries: LogEntry[]): string[] {
  return entries
    .filter((e) => typeof e?.type === 'string' && e.type.startsWith('tplink-') && typeof e.level === 'number' && e.level <= 30)
    .map((e) => `${e.type!}: ${e.msg instanceof Error ? `${(e.msg as { code?: string }).code ?? ''} ${e.msg.message}` : String(e.msg)}`);
}

describe('closing a node while it connects is silent', function () {
  this.timeout(30000);
  let devs: SimulatedDevice[];
  let p110: SimulatedDevice, kp115: SimulatedDevice;

  before(async () => {
    devs = await startDevices(['p110', 'kp115']);
    [p110, kp115] = devs as [SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await Promise.all(devs.map((d) => d.close()));
  });
  afterEach(() => {
    for (const d of devs) d.faults.latencyMs = 0;
  });

  const nodes = (dev: SimulatedDevice, extra: Record<string, unknown>[]) => [
    { ...poolNode([deviceEntry(dev, 'slow')]), timeout: 10000 },
    ...extra.map((n) => ({ pool: 'pool', device: 'slow', child: '', wires: [[]], ...n })),
  ];

  for (const [what, dev] of [
    ['KLAP (handshake under way)', () => p110],
    ['XOR (first read under way)', () => kp115],
  ] as const) {
    it(`${what}: an action, a polling state node and an energy node closed while connecting log nothing`, async () => {
      const d = dev();
      d.faults.latencyMs = 2000;
      await helper.unload();
      await helper.load(
        NODES,
        nodes(d, [
          { id: 'a', type: 'tplink-action', action: 'payload', value: '', valueType: 'str' },
          { id: 's', type: 'tplink-state', mode: 'poll', interval: '1', target: 'one' },
          { id: 'e', type: 'tplink-energy', mode: 'poll', interval: '1', period: 'realtime' },
        ]),
        poolCreds,
      );
      const a = helper.getNode('a')!;
      const seen = statuses(a);
      a.receive({ payload: true });
      await until(() => seen.some((s) => s.text === 'connecting'), 5000, 'connecting');
      // A redeploy or a restart: every node closes; then what the abandoned connects say.
      assert.deepEqual(loud(await unloadLogged(300)), []);
    });
  }

  it('a request under way on an open session, closed by a redeploy, logs nothing', async () => {
    await helper.unload();
    await helper.load(
      NODES,
      nodes(p110, [
        { id: 'a', type: 'tplink-action', action: 'payload', value: '', valueType: 'str', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
      poolCreds,
    );
    const a = helper.getNode('a')!;
    const seen = statuses(a);
    a.receive({ payload: true });
    await until(() => seen.some((s) => s.text === 'on'), 10000, 'the first answer');
    p110.faults.latencyMs = 2000;
    a.receive({ payload: false });
    await new Promise((r) => setTimeout(r, 200)); // the request is on the wire
    assert.deepEqual(loud(await unloadLogged(300)), []);
  });

  it('a failure while the node runs is still reported', async () => {
    await helper.unload();
    await helper.load(NODES, nodes(p110, [{ id: 'a', type: 'tplink-action', action: 'payload', value: '', valueType: 'str' }]), poolCreds);
    const spy = helper.log();
    helper.getNode('a')!.receive({ payload: { brightness: 400 } });
    const logged = (): string[] => loud(spy.args.map((c) => c[0] as LogEntry));
    await until(() => logged().length > 0, 5000, 'the error in the log');
    assert.match(logged()[0]!, /brightness/);
  });
});
