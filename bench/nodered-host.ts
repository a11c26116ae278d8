/**
 * The "nodered" bench section's measuring process (forked by nodered-section.ts, so that Node-RED's
 * modules, timers and heap stay out of the main bench process). It embeds a real Node-RED runtime
 * (require('node-red'): RED.init + RED.start, no HTTP listener at all: httpAdminRoot and
 * httpNodeRoot are false), with this package installed in a temporary user directory as
 * node_modules/node-red-contrib-kasa-tapo (package.json + the compiled nodes, their .html, locales
 * and icons), and the flow
 *
 *   inject ─▶ tplink-action (payload → setState) ─▶ function: global.get('benchSink')(msg)
 *   catch ─▶ function: global.get('benchError')(msg)
 *   inject0 ─▶ function: global.get('benchSink')(msg)          (the runtime alone, no device)
 *
 * Each message goes in through the inject node's receive() with its own _msgid and msg.device (an
 * alias of the pool), and is timed until the sink sees it. The library-only figure is the same
 * change made by a script on its own Pool: device.setState({on: true}). Both run in this process,
 * in alternating slices (lib.ts alternate()), against the simulated devices of the parent's
 * SimHost. Loopback only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from '../src/pool';
import type { Credentials } from '../src/types';
import { alternate, combine, measure, median, pairedRatio, repoRoot, sleep, type Measured } from './lib';

export interface RedDevice {
  alias: string;
  host: string;
  port: number;
  transport: 'xor' | 'klap' | 'aes';
}
export interface RedJob {
  credentials: Credentials;
  /** Per transport label, its devices (the first is used at concurrency 1). */
  groups: { label: string; devices: RedDevice[] }[];
  /** Messages per slice at concurrency 1 (twice that at 10). */
  requests: number;
  rowMaxMs: number;
  /** Alternating rounds (library, Node-RED) per row. */
  rounds: number;
  /** Concurrency levels to measure (1 and 10). */
  concs: number[];
}
export interface RedRow {
  transport: string;
  client: 'library' | 'node-red' | 'node-red runtime only';
  conc: number;
  m: Measured;
  /** Node-RED rows: medians over the rounds of the ratio / differences to the library slice of the same round. */
  vsLibrary?: { rate: number; p50Ms: number; cpuUs: number };
}
export type RedReply = { ok: true; rows: RedRow[]; nodeRedVersion: string; startMs: number } | { ok: false; error: string };

const PKG = 'node-red-contrib-kasa-tapo';
const NODE_TYPES = ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy'];
const MSG_TIMEOUT_MS = 10_000;

function copyDir(from: string, to: string): void {
  if (!fs.existsSync(from)) return;
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

/**
 * Install the package into `<userDir>/node_modules`: a package.json naming the nodes, one stub per
 * node re-exporting the compiled node beside this bench (dist/nodes or the out dir's nodes), and
 * the editor files from the source tree. Nothing is written outside the temporary directory.
 */
function installPackage(userDir: string): void {
  const root = repoRoot();
  const compiled = path.resolve(__dirname, '..', 'nodes');
  const dir = path.join(userDir, 'node_modules', PKG);
  const nodes = path.join(dir, 'nodes');
  fs.mkdirSync(nodes, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: PKG, version: pkg.version, 'node-red': { nodes: Object.fromEntries(NODE_TYPES.map((n) => [n, `nodes/${n}.js`])) } }, null, 2),
  );
  for (const n of NODE_TYPES) {
    const js = path.join(compiled, `${n}.js`);
    if (!fs.existsSync(js)) throw new Error(`compiled node not found: ${js}`);
    fs.writeFileSync(path.join(nodes, `${n}.js`), `module.exports = require(${JSON.stringify(js)});\n`);
    fs.copyFileSync(path.join(root, 'nodes', `${n}.html`), path.join(nodes, `${n}.html`));
  }
  copyDir(path.join(root, 'nodes', 'locales'), path.join(nodes, 'locales'));
  copyDir(path.join(root, 'icons'), path.join(nodes, 'icons'));
}

function flow(job: RedJob): unknown[] {
  const z = 'bench-tab';
  const fn = (id: string, body: string) => ({
    id,
    type: 'function',
    z,
    name: id,
    func: body,
    outputs: 1,
    timeout: 0,
    noerr: 0,
    initialize: '',
    finalize: '',
    libs: [],
    x: 500,
    y: 100,
    wires: [[]],
  });
  const inject = (id: string, to: string) => ({
    id,
    type: 'inject',
    z,
    name: id,
    props: [{ p: 'payload' }],
    repeat: '',
    crontab: '',
    once: false,
    onceDelay: 0.1,
    topic: '',
    payload: 'true',
    payloadType: 'bool',
    x: 100,
    y: 100,
    wires: [[to]],
  });
  const devices = job.groups.flatMap((g) => g.devices.map((d) => ({ alias: d.alias, host: d.host, port: String(d.port), transport: d.transport })));
  return [
    { id: z, type: 'tab', label: 'bench', disabled: false, info: '' },
    { id: 'pool', type: 'tplink-pool', name: 'bench', devices, timeout: 5000, retries: 2, queueLimit: 100, pollInterval: 10, broadcast: '127.255.255.255' },
    inject('inj', 'act'),
    {
      id: 'act',
      type: 'tplink-action',
      z,
      name: 'act',
      pool: 'pool',
      device: job.groups[0]!.devices[0]!.alias,
      child: '',
      action: 'payload',
      value: '',
      valueType: 'str',
      transition: '',
      x: 300,
      y: 100,
      wires: [['sink']],
    },
    fn('sink', "global.get('benchSink')(msg);\nreturn null;"),
    { id: 'catch', type: 'catch', z, name: '', scope: null, uncaught: false, x: 100, y: 200, wires: [['errsink']] },
    fn('errsink', "global.get('benchError')(msg);\nreturn null;"),
    inject('inj0', 'sink0'),
    fn('sink0', "global.get('benchSink')(msg);\nreturn null;"),
  ];
}

interface RedApi {
  init(server: unknown, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): { receive(msg: Record<string, unknown>): void } | null };
}

async function run(job: RedJob): Promise<RedReply> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-tapo-bench-red-'));
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const settle = (msg: { _msgid?: string; error?: { message?: string } }, err: boolean): void => {
    const p = msg._msgid ? pending.get(msg._msgid) : undefined;
    if (!p) return;
    pending.delete(msg._msgid!);
    clearTimeout(p.timer);
    if (err) p.reject(new Error(msg.error?.message ?? 'error'));
    else p.resolve();
  };
  let red: RedApi | undefined;
  const libPool = new Pool({ credentials: job.credentials, timeoutMs: 5000 });
  try {
    installPackage(userDir);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flow(job), null, 1));
    fs.writeFileSync(
      path.join(userDir, 'flows_cred.json'),
      JSON.stringify({ pool: { username: job.credentials.username, password: job.credentials.password } }),
    );
    red = require(require.resolve('node-red', { paths: [repoRoot()] })) as RedApi;
    const t0 = performance.now();
    red.init(null, {
      userDir,
      flowFile: 'flows.json',
      credentialSecret: false,
      httpAdminRoot: false,
      httpNodeRoot: false,
      disableEditor: true,
      uiHost: '127.0.0.1',
      logging: { console: { level: 'error', metrics: false, audit: false } },
      telemetry: { enabled: false, updateNotification: false },
      diagnostics: { enabled: false, ui: false },
      runtimeState: { enabled: false, ui: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
      functionExternalModules: false,
      functionGlobalContext: {
        benchSink: (msg: { _msgid?: string }) => settle(msg, false),
        benchError: (msg: { _msgid?: string; error?: { message?: string } }) => settle(msg, true),
      },
    });
    await red.start();
    type RedNode = ReturnType<RedApi['nodes']['getNode']>;
    let inj: RedNode = null;
    let inj0: RedNode = null;
    for (let i = 0; i < 200 && !(inj && inj0 && red.nodes.getNode('act')); i++) {
      inj = red.nodes.getNode('inj');
      inj0 = red.nodes.getNode('inj0');
      await sleep(25);
    }
    if (!inj || !inj0 || !red.nodes.getNode('act')) throw new Error('the flow did not start (is the package registered? see the warnings above)');
    const startMs = performance.now() - t0;

    let seq = 0;
    const through = (node: NonNullable<typeof inj>, device?: string) => (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const id = `bench-${++seq}`;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('no output in time'));
        }, MSG_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        node.receive({ _msgid: id, ...(device ? { device } : {}) });
      });

    const rows: RedRow[] = [];
    const say = (r: RedRow): void =>
      void process.stderr.write(`  ${r.transport} ${r.client} c${r.conc}: ${Math.round(r.m.reqPerS)} msg/s, p50 ${r.m.p50Ms.toFixed(2)} ms\n`);

    // The runtime alone: inject → function, no device.
    const w0 = [through(inj0)];
    await measure(w0, 200, 3000);
    rows.push({ transport: '—', client: 'node-red runtime only', conc: 1, m: combine((await alternate([w0], job.rounds, job.requests, job.rowMaxMs))[0]!) });
    say(rows[0]!);
    for (const g of job.groups) {
      for (const conc of job.concs) {
        const devs = g.devices.slice(0, conc);
        const lib = devs.map((d) => libPool.device({ host: d.host, port: d.port, transport: d.transport }));
        const libWorkers = lib.map((d) => () => d.setState({ on: true }));
        const redWorkers = devs.map((d) => through(inj, d.alias));
        await measure(libWorkers, 100 * conc, 3000);
        await measure(redWorkers, 100 * conc, 3000);
        const [ls, rs] = (await alternate([libWorkers, redWorkers], job.rounds, job.requests * (conc > 1 ? 2 : 1), job.rowMaxMs)) as [Measured[], Measured[]];
        const rl: RedRow = { transport: g.label, client: 'library', conc, m: combine(ls) };
        const rr: RedRow = {
          transport: g.label,
          client: 'node-red',
          conc,
          m: combine(rs),
          vsLibrary: {
            rate: pairedRatio(rs, ls, (x) => x.reqPerS),
            p50Ms: median(rs.map((x, i) => x.p50Ms - ls[i]!.p50Ms)),
            cpuUs: median(rs.map((x, i) => x.cpuUsPerReq - ls[i]!.cpuUsPerReq)),
          },
        };
        rows.push(rl, rr);
        say(rl);
        say(rr);
      }
    }
    const version = (JSON.parse(fs.readFileSync(require.resolve('node-red/package.json', { paths: [repoRoot()] }), 'utf8')) as { version: string }).version;
    return { ok: true, rows, nodeRedVersion: version, startMs };
  } finally {
    for (const p of pending.values()) clearTimeout(p.timer);
    await libPool.close();
    if (red) await Promise.race([red.stop().catch(() => undefined), sleep(10000)]);
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

process.once('message', (job: RedJob) => {
  void run(job)
    .catch((e: unknown): RedReply => ({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }))
    .then((reply) => {
      process.send?.(reply, () => {
        process.disconnect?.();
        // Node-RED may leave timers behind; this process is done.
        setTimeout(() => process.exit(0), 200).unref();
      });
    });
});
process.on('disconnect', () => setTimeout(() => process.exit(0), 2000).unref());
