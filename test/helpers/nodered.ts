/**
 * A real Node-RED for end-to-end tests: its own user directory, started as a child process on
 * 127.0.0.1, driven through the admin HTTP API exactly as the editor drives it. Messages leave
 * the flows through `report()` nodes (a function node and a core http request node) and arrive
 * at a Collector listening on 127.0.0.1 in the test process.
 *
 * Everything here binds and connects to loopback only, and only ever stops the processes it
 * started, by their PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Credentials } from '../../src/index';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import type { Faults } from '../../src/simulator/types';
import { randomBase } from './net';

/** The repository root (this file runs from dist/test/helpers or another out dir). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'node-red-contrib-kasa-tapo') return dir;
    dir = path.dirname(dir);
  }
  throw new Error('repository root not found');
}

export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `kasa-tapo-${prefix}-`));

/** A temporary Node-RED user directory with this working tree linked in as the package (as `npm start` does). */
export function linkedUserDir(prefix: string): string {
  const dir = tempDir(prefix);
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(repoRoot(), path.join(dir, 'node_modules', 'node-red-contrib-kasa-tapo'), 'dir');
  return dir;
}

/** A device for a flow: its alias in the pool, a simulator profile, and how it misbehaves. */
export type DeviceSpec = [alias: string, profile: string, how: { faults?: Faults; wrong?: boolean; closed?: boolean }];

/**
 * Start the devices, each on its own address of one random 127.x.y base, and give the pool's
 * device-list entries. `wrong` devices hold `wrongCreds`; `closed` ones are started and stopped
 * again, so their address refuses connections. `devices` are the running ones.
 */
export async function startDeviceSpecs(
  specs: DeviceSpec[],
  creds: Credentials,
  wrongCreds: Credentials,
): Promise<{ devices: SimulatedDevice[]; entries: Record<string, string>[] }> {
  const base = randomBase();
  const devices: SimulatedDevice[] = [];
  const entries: Record<string, string>[] = [];
  for (const [i, [alias, profile, how]] of specs.entries()) {
    const d = await startSimulatedDevice(profile, {
      host: `${base}.${i + 1}`,
      credentials: how.wrong ? wrongCreds : creds,
      ...(how.faults ? { faults: how.faults } : {}),
    });
    entries.push({ alias, host: d.host, port: String(d.port), transport: d.transport === 'aes' && d.profile.loginVersion === 1 ? 'aes-v1' : d.transport });
    if (how.closed) await d.close();
    else devices.push(d);
  }
  return { devices, entries };
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function npmCommand(): [string, string[]] {
  // Under `npm test`, npm tells us which npm runs; otherwise the one on PATH.
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js') ? [process.execPath, [cli]] : ['npm', []];
}

const NPM_ENV = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function npm(args: string[], cwd: string, timeoutMs: number): { status: number | null; out: string } {
  const [cmd, pre] = npmCommand();
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...NPM_ENV } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** npm without blocking this process's event loop (the local registry below answers from it). */
function npmAsync(args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<{ status: number | null; out: string }> {
  const [cmd, pre] = npmCommand();
  return new Promise((resolve) => {
    const child = spawn(cmd, [...pre, ...args], { cwd, env: { ...process.env, ...NPM_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs); // the npm this helper started, by its PID
    child.once('error', (e) => (out += String(e)));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, out });
    });
  });
}

/** Where `name` resolves from `fromDir`, the way Node looks it up: the nearest node_modules/name upwards. */
function installedPackageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`runtime dependency ${name} is not installed (run npm ci first)`);
  }
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * A throw-away npm registry on 127.0.0.1 that serves exactly the runtime dependencies of the
 * package (package.json `dependencies`, followed transitively), each packed from the copy this
 * repository's `npm ci` installed in node_modules. Installing the packed tarball against it is
 * the palette manager's `npm install` with no network and no npm cache needed: a dependency that
 * is not declared, or a range that the installed copy does not satisfy, fails the install (404 /
 * ETARGET) just as it would for a user.
 */
export async function startLocalRegistry(root: string, packDir: string): Promise<{ url: string; packages: string[]; close(): Promise<void> }> {
  const manifests = new Map<string, PackageJson[]>(); // name -> versions
  const dirs: string[] = [];
  const seen = new Set<string>();
  const queue: [string, string][] = Object.keys((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson).dependencies ?? {}).map(
    (n) => [n, root],
  );
  for (let next = queue.shift(); next; next = queue.shift()) {
    const dir = installedPackageDir(next[0], next[1]);
    const real = fs.realpathSync(dir);
    if (seen.has(real)) continue;
    seen.add(real);
    const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    dirs.push(dir);
    for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) queue.push([n, dir]);
  }
  const files = new Map<string, string>(); // url path -> tarball
  const packages: string[] = [];
  if (dirs.length) {
    const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packDir, ...dirs], root, 120_000);
    if (packed.status !== 0) throw new Error(`npm pack of the runtime dependencies failed:\n${packed.out}`);
    const json = packed.out.slice(packed.out.indexOf('['));
    const infos = JSON.parse(json.slice(0, json.lastIndexOf(']') + 1)) as {
      name: string;
      version: string;
      filename: string;
      integrity: string;
      shasum: string;
    }[];
    for (const [i, info] of infos.entries()) {
      const pj = JSON.parse(fs.readFileSync(path.join(dirs[i]!, 'package.json'), 'utf8')) as PackageJson;
      const file = `/${info.name}/-/${path.basename(info.filename)}`;
      files.set(file, path.join(packDir, info.filename));
      const { name, version, dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta, engines, bin, os: osList, cpu } = pj;
      const manifest = {
        name,
        version,
        dependencies,
        optionalDependencies,
        peerDependencies,
        peerDependenciesMeta,
        engines,
        bin,
        os: osList,
        cpu,
        dist: { tarball: file, integrity: info.integrity, shasum: info.shasum },
      } as PackageJson;
      manifests.set(name, [...(manifests.get(name) ?? []), manifest]);
      packages.push(`${name}@${version}`);
    }
  }
  let base = '';
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const tarball = files.get(url);
    if (tarball) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(fs.readFileSync(tarball));
      return;
    }
    const versions = manifests.get(url.slice(1));
    if (!versions) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found' }));
      return;
    }
    const packument = {
      name: versions[0]!.name,
      'dist-tags': { latest: versions[versions.length - 1]!.version },
      versions: Object.fromEntries(
        versions.map((v) => [v.version, { ...v, dist: { ...(v.dist as object), tarball: base + (v.dist as { tarball: string }).tarball } }]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(packument));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: `${base}/`,
    packages,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * Pack the package as `npm publish` would (dist/ must be built: `npm test` builds it first) and
 * install the tarball into a fresh user directory the way the palette manager does:
 * `npm install --omit=dev --engine-strict`. The runtime dependencies come from a local registry
 * on 127.0.0.1 built from this repository's node_modules (startLocalRegistry), with an empty
 * npm cache of its own: no network, and no reliance on what the user's npm cache holds.
 */
export async function installPackedPackage(userDir: string): Promise<{ tarball: string; files: string[]; dependencies: string[] }> {
  const root = repoRoot();
  const packDir = tempDir('pack');
  const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], root, 120_000);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.out}`);
  const json = packed.out.slice(packed.out.indexOf('['));
  const info = (JSON.parse(json.slice(0, json.lastIndexOf(']') + 1)) as { filename: string; files: { path: string }[] }[])[0]!;
  const tarball = path.join(packDir, info.filename);
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'e2e', version: '0.0.1', private: true }));
  const registry = await startLocalRegistry(root, fs.mkdtempSync(path.join(packDir, 'deps-')));
  const cache = fs.mkdtempSync(path.join(packDir, 'cache-'));
  try {
    const inst = await npmAsync(['install', '--no-save', '--omit=dev', '--engine-strict', '--no-package-lock', tarball], userDir, 180_000, {
      npm_config_registry: registry.url,
      npm_config_cache: cache,
      npm_config_noproxy: '127.0.0.1,localhost',
      npm_config_prefer_online: 'true',
      npm_config_fetch_retries: '0',
    });
    if (inst.status !== 0)
      throw new Error(`npm install of the packed tarball failed (against a local registry of ${registry.packages.join(', ') || 'no packages'}):\n${inst.out}`);
  } finally {
    await registry.close();
    fs.rmSync(cache, { recursive: true, force: true });
  }
  return { tarball, files: info.files.map((f) => f.path), dependencies: registry.packages };
}

export interface NodeRedOptions {
  userDir: string;
  /** Extra lines inside the settings object, e.g. `adminAuth: {...},`. */
  settings?: string;
  /** Where Node-RED loads packages from besides userDir/node_modules (settings.nodesDir). */
  nodesDir?: string;
  startMs?: number;
  /** Extra arguments for node itself, e.g. ['--expose-gc']. */
  nodeArgs?: string[];
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface NodeRed {
  readonly url: string;
  readonly pid: number;
  /** Everything Node-RED printed so far. */
  log(): string;
  request(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<HttpReply>;
  /** Log in (adminAuth) and use the token for later requests. */
  login(username: string, password: string, scope?: string): Promise<void>;
  /** A full deploy through POST /flows (API v2). */
  deploy(flows: unknown[]): Promise<void>;
  /** Press an inject node's button, as the editor does. */
  inject(id: string): Promise<void>;
  running(): boolean;
  /** Stop it (SIGINT, then SIGKILL after 10 s). Resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function httpRequest(url: string, method: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      url,
      {
        method,
        headers: { accept: 'application/json', ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Start Node-RED (the repository's devDependency) on 127.0.0.1 with this user directory. */
export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRed> {
  const port = await freePort();
  fs.mkdirSync(opts.userDir, { recursive: true });
  const settingsFile = path.join(opts.userDir, 'settings.js');
  fs.writeFileSync(
    settingsFile,
    `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: 'e2e-secret',
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
  telemetry: { enabled: false }, // no update check: loopback only, and no consent prompt
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  ${opts.nodesDir ? `nodesDir: ${JSON.stringify(opts.nodesDir)},` : ''}
  ${opts.settings ?? ''}
};
`,
  );
  // KASA_TAPO_RED_JS runs the tests against another Node-RED (e.g. 5.x installed elsewhere).
  const redJs = process.env.KASA_TAPO_RED_JS ?? require.resolve('node-red/red.js', { paths: [repoRoot()] });
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), redJs, '-u', opts.userDir, '-s', settingsFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  let token: string | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const running = () => child.exitCode === null && child.signalCode === null;

  const request = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    httpRequest(url + p, method, body, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });

  const red: NodeRed = {
    url,
    pid: child.pid!,
    log: () => out,
    request,
    running,
    async login(username, password, scope = '*') {
      const r = await request('POST', '/auth/token', { client_id: 'node-red-admin', grant_type: 'password', scope, username, password });
      if (r.status !== 200 || !r.json?.access_token) throw new Error(`login failed: ${r.status} ${r.text}`);
      token = r.json.access_token as string;
    },
    async deploy(flows) {
      const r = await request('POST', '/flows', { flows }, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' });
      if (r.status !== 200) throw new Error(`deploy failed: ${r.status} ${r.text}\n${out.slice(-2000)}`);
    },
    async inject(id) {
      // Right after a deploy the flows may still be starting: retry a 404 for a few seconds.
      const t0 = Date.now();
      for (;;) {
        const r = await request('POST', `/inject/${id}`, {});
        if (r.status === 200) return;
        if (r.status !== 404 || Date.now() - t0 > 5000) throw new Error(`inject ${id} failed: ${r.status} ${r.text}\n${out.slice(-3000)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async stop() {
      if (running()) {
        child.kill('SIGINT'); // the Node-RED this helper started, by its PID
        const t = setTimeout(() => running() && child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return child.exitCode;
    },
  };

  // Ready once the admin API answers (200, or 401 with admin auth on). Bounded.
  const t0 = Date.now();
  const limit = opts.startMs ?? 60_000;
  for (;;) {
    if (!running()) throw new Error(`Node-RED exited while starting:\n${out}`);
    try {
      const r = await httpRequest(`${url}/settings`, 'GET', undefined, {}, 2000);
      if (r.status === 200 || r.status === 401) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - t0 > limit) {
      await red.stop();
      throw new Error(`Node-RED did not start within ${limit} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return red;
}

/** A message as it reached the collector: the tag of the report node and the message itself. */
export interface Reported {
  tag: string;
  msg: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Receives the messages that report() nodes POST, on 127.0.0.1. */
export class Collector {
  readonly got: Reported[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reported);
      } catch {
        this.got.push({ tag: '!unparsable', msg: Buffer.concat(chunks).toString('utf8') });
      }
      res.end('ok');
    });
  });
  url = '';

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/collect`;
    return this.url;
  }

  tagged(tag: string): Reported[] {
    return this.got.filter((r) => r.tag === tag);
  }

  /** Wait (bounded) until `count` messages with this tag arrived; returns them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async waitFor(tag: string, count = 1, maxMs = 15_000): Promise<any[]> {
    const t0 = Date.now();
    while (this.tagged(tag).length < count) {
      if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${count} "${tag}" message(s); got: ${JSON.stringify(this.got.map((g) => g.tag))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.tagged(tag).map((r) => r.msg);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/**
 * Two core nodes that forward every message they get to the collector, tagged: a function node
 * (copies the message, drops the circular/socket parts) wired to an http request node.
 * Wire your node's output to `id`.
 */
export function report(id: string, tag: string, collectorUrl: string, z: string, x = 700, y = 100): Record<string, unknown>[] {
  const func = `const copy = {};
for (const k of Object.keys(msg)) { if (k !== 'req' && k !== 'res') copy[k] = msg[k]; }
msg.payload = { tag: ${JSON.stringify(tag)}, msg: JSON.parse(JSON.stringify(copy)) };
msg.headers = { 'content-type': 'application/json' };
delete msg.url; delete msg.method;
return msg;`;
  return [
    { id, type: 'function', z, name: `report ${tag}`, func, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], x, y, wires: [[`${id}-http`]] },
    {
      id: `${id}-http`,
      type: 'http request',
      z,
      name: '',
      method: 'POST',
      ret: 'txt',
      paytoqs: 'ignore',
      url: collectorUrl,
      tls: '',
      persist: false,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: false,
      headers: [],
      x: x + 200,
      y,
      wires: [[]],
    },
  ];
}

/** What the editor puts in a new node of each type (its `defaults`), so the flows written as data here stay short. */
type EditorType = 'tplink-action' | 'tplink-state' | 'tplink-energy' | 'inject';
const EDITOR_DEFAULTS: Readonly<Record<EditorType, Readonly<Record<string, unknown>>>> = {
  'tplink-action': { name: '', device: '', child: '', action: 'payload', value: '', valueType: 'str', transition: '', version: 1 },
  'tplink-state': { name: '', target: 'one', device: '', devices: '', mode: 'input', interval: '', onlyChanges: false, version: 1 },
  'tplink-energy': { name: '', device: '', child: '', mode: 'realtime', year: '', month: '', poll: false, interval: '', onlyChanges: false, version: 1 },
  inject: { name: '', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '', payload: '', payloadType: 'date' },
};

/** A flow node of `type` as the editor would save it: its defaults, then `props` (id, z, wires, what differs). */
export function flowNode(type: EditorType, props: Record<string, unknown>): Record<string, unknown> {
  return { type, ...structuredClone(EDITOR_DEFAULTS[type]), ...props };
}
