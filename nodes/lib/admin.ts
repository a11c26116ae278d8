/**
 * The tplink-pool editor's admin endpoints, protected by `tplink-pool.write`:
 *   POST /tplink-pool/scan  {id?, broadcast?, timeout?, username?, password?}
 *     → {devices:[{host, port, model, alias, family, protocol, loginVersion?, supported, reason?, auth, warning?, fix?, hint?}]}
 *     The alias of a KLAP/AES/TPAP device is not in its discovery answer: it is read during the
 *     login check, so every supported device the account opens comes back named.
 *     One scan at a time per pool (and at most MAX_SCANS in all): another one gets HTTP 429.
 *   POST /tplink-pool/test  {id?, host, port?, transport?, username?, password?}
 *     → {ok:true, device:{…}, on?, warning?} | {ok:false, code, error, reason?, fix?, hint?}
 *     `fix`/`hint`: a failure's guided fix (src/fixes.ts): its id and the one sentence saying what to do.
 *     When the device refuses us for another reason than the login, its discovery answer is asked
 *     for: a device it says we cannot control comes back as EUNSUPPORTED with Scan's `reason`.
 * Unsaved credentials may come in the body (the editor sends them only when changed); they are
 * used for the check and never echoed back. Saved ones are read from the config node.
 *
 * Where credentials go (src/trust.ts): a password typed in the dialog goes where the dialog says.
 * The saved password never goes in an AES login to a host outside the deployed device list (Test),
 * or outside that list and the answers to the pool's own saved broadcast address (Scan): otherwise
 * anyone allowed to edit flows could point Test or Scan at a host of theirs and read a password
 * Node-RED keeps write-only. XOR and KLAP reveal nothing and work for any host.
 */
import {
  AesTrust,
  discoveredLoginVersion,
  DEFAULT_CREDENTIALS_NOTICE,
  clip,
  connect,
  discover,
  discoverSingle,
  fixFor,
  isKasaTapoError,
  type ConnectOptions,
  type Credentials,
  type DiscoveryResult,
  type TransportChoice,
} from '../../src/index';
import type { PoolDeviceConfig } from '../../src/pool';
import { NodeError, redact, toNodeError } from './errors';
import { num, text } from './device';
import { credentialsOf } from './pool-config';
import type { HttpRequest, HttpResponse, Node, RED } from './red';

type Body = Record<string, unknown>;
const PASSWORD_PLACEHOLDER = '__PWRD__';
const MAX_AUTH_CHECKS = 64;
const AUTH_PARALLEL = 8;
/** Scans running at once, across all pools (each pool: one). */
const MAX_SCANS = 4;
const scanning = new Set<string>();

/** Which credentials a request uses, and whether the password is the one typed in the dialog. */
interface CredsChoice {
  creds?: Credentials;
  /** The password came in the body (typed now), not from Node-RED's saved credentials. */
  typed: boolean;
}

/** Body credentials over the saved ones (a blank or placeholder password means "the saved one"). */
function credentialsFor(RED: RED, body: Body): CredsChoice {
  const id = text(body.id);
  const saved = id ? (RED.nodes.getCredentials?.(id) ?? (RED.nodes.getNode(id) as Node | null)?.credentials) : undefined;
  const bodyPw = typeof body.password === 'string' && body.password !== PASSWORD_PLACEHOLDER && body.password !== '' ? body.password : undefined;
  const creds = credentialsOf({
    username: text(body.username) ?? saved?.username,
    password: bodyPw ?? saved?.password,
  });
  return { ...(creds ? { creds } : {}), typed: bodyPw !== undefined || !saved?.password };
}

/** The deployed config node's device list and broadcast address (what "saved" means here). */
function savedPool(RED: RED, body: Body): { trust: AesTrust; broadcast?: string } {
  const id = text(body.id);
  const node = id ? (RED.nodes.getNode(id) as { deviceList?: PoolDeviceConfig[]; broadcast?: string } | null) : null;
  const trust = new AesTrust();
  for (const d of Array.isArray(node?.deviceList) ? node.deviceList : []) {
    try {
      trust.addListed(d);
    } catch {
      /* parseDeviceList keeps only valid hosts; skip anything else */
    }
  }
  return { trust, ...(typeof node?.broadcast === 'string' ? { broadcast: node.broadcast } : {}) };
}

const secretsOf = (c: Credentials | undefined): string[] => (c ? [c.password, c.username] : []);

/**
 * Can we log in? 'ok', 'default credentials' (the device accepted TP-Link's default account),
 * 'failed' (EAUTH), 'not needed' (XOR), 'no credentials', 'not tried' (AES to a host the saved
 * password may not go to) or 'error CODE'. A successful login also fills in `out.alias` when
 * discovery had none (KLAP/AES/TPAP answers carry no name).
 */
async function authCheck(r: DiscoveryResult, c: CredsChoice, aesAllowed: boolean, timeoutMs: number, out: Record<string, unknown> = {}): Promise<string> {
  if (!r.supported || !r.transport) return 'unsupported';
  if (r.transport === 'xor') return 'not needed';
  if (!c.creds) return 'no credentials';
  if (r.transport === 'aes' && !aesAllowed) return 'not tried';
  try {
    const dev = await connect({
      host: r.host,
      port: r.port,
      transport: r.transport,
      credentials: c.creds,
      discovery: r,
      allowAesLogin: aesAllowed,
      timeoutMs,
      retries: 0,
    });
    const dflt = dev.info()?.defaultCredentials === true;
    const alias = dev.info()?.alias;
    if (alias !== undefined && out.alias === undefined) out.alias = alias;
    await dev.close();
    return dflt ? 'default credentials' : 'ok';
  } catch (e) {
    Object.assign(out, fixOf(e, secretsOf(c.creds)));
    const code = toNodeError(e).code;
    return code === 'EAUTH' ? 'failed' : `error ${code}`;
  }
}

/**
 * The guided fix of a failure (src/fixes.ts), for Scan's row and Test's answer: `{fix, hint}` with
 * the id and its one sentence, or nothing when the error carries none. Never throws.
 */
function fixOf(e: unknown, secrets: string[]): { fix?: string; hint?: string } {
  if (!isKasaTapoError(e) || !e.fix) return {};
  return { fix: e.fix, hint: redact(e.hint ?? fixFor(e.fix, e.until !== undefined ? { until: e.until } : {}), secrets) };
}

async function scan(RED: RED, body: Body): Promise<unknown> {
  const id = text(body.id) ?? '';
  if (scanning.has(id) || scanning.size >= MAX_SCANS) throw new NodeError('EBUSY', 'A scan is already running for this pool; wait for it to end');
  scanning.add(id);
  try {
    const saved = savedPool(RED, body);
    const broadcast = text(body.broadcast) ?? saved.broadcast ?? '255.255.255.255';
    const timeoutMs = num(body.timeout, 2000, 200, 10000);
    const c = credentialsFor(RED, body);
    const found = await discover({ broadcast, timeoutMs });
    // The saved password goes in an AES login only to saved devices, or to answers to the pool's own broadcast.
    const ownDiscovery = saved.broadcast !== undefined && broadcast === saved.broadcast;
    const devices: Record<string, unknown>[] = found.map((r) => ({
      host: r.host,
      port: r.port,
      ...(r.model !== undefined ? { model: r.model } : {}),
      ...(r.alias !== undefined ? { alias: r.alias } : {}),
      family: r.family,
      ...(r.transport !== undefined ? { protocol: r.transport } : {}),
      ...(r.transport === 'aes' ? { loginVersion: discoveredLoginVersion(r) } : {}),
      supported: r.supported,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
    }));
    // Bounded auth checks, a few at a time.
    const todo = found.slice(0, MAX_AUTH_CHECKS).map((r, i) => ({ r, i }));
    const worker = async (): Promise<void> => {
      for (let job = todo.shift(); job; job = todo.shift()) {
        const aesAllowed = c.typed || ownDiscovery || saved.trust.lookup(job.r.host, job.r.port) !== undefined;
        const row = devices[job.i]!;
        const auth = await authCheck(job.r, c, aesAllowed, Math.min(timeoutMs * 2, 5000), row);
        row.auth = auth;
        if (auth === 'default credentials') row.warning = DEFAULT_CREDENTIALS_NOTICE;
        if (auth === 'not tried') row.warning = 'AES login: the saved password goes only to devices in the deployed list; add it, deploy, then Test it';
      }
    };
    await Promise.all(Array.from({ length: AUTH_PARALLEL }, worker));
    return { devices };
  } finally {
    scanning.delete(id);
  }
}

async function test(RED: RED, body: Body): Promise<unknown> {
  const host = text(body.host);
  if (!host) return { ok: false, code: 'EBADINPUT', error: 'Give the device host to test' };
  const c = credentialsFor(RED, body);
  const port = Number(body.port);
  const p = Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  const t = text(body.transport);
  const opts: ConnectOptions = {
    host,
    ...(p !== undefined ? { port: p } : {}),
    transport: (t === 'aes-v1' ? 'aes' : (t ?? 'auto')) as TransportChoice,
    ...(c.creds ? { credentials: c.creds } : {}),
    timeoutMs: num(body.timeout, 5000, 200, 20000),
    retries: 0,
  };
  if (c.typed) {
    // The password typed in the dialog goes where the dialog says, in the login version chosen there.
    opts.allowAesLogin = true;
    if (t === 'aes-v1') opts.loginVersion = 1;
  } else {
    // The saved password: AES only to a device of the deployed list, in the login version saved for it.
    const listed = savedPool(RED, body).trust.lookup(host, p);
    opts.allowAesLogin = listed !== undefined;
    if (listed?.loginVersion !== undefined) opts.loginVersion = listed.loginVersion;
  }
  try {
    const dev = await connect(opts);
    try {
      const s = await dev.getState();
      const info = dev.info();
      return {
        ok: true,
        device: info,
        ...(s.on !== undefined ? { on: s.on } : {}),
        ...(info?.defaultCredentials ? { warning: DEFAULT_CREDENTIALS_NOTICE } : {}),
      };
    } finally {
      await dev.close();
    }
  } catch (e) {
    if (isKasaTapoError(e) && e.code === 'ENOTTRUSTED') {
      return {
        ok: false,
        code: e.code,
        error: `${clip(host)}${p !== undefined ? `:${p}` : ''} needs an AES login, and the saved password goes only to devices in the deployed list. Add the device, deploy, then Test again, or type the password to test with it`,
      };
    }
    const err = toNodeError(e, secretsOf(c.creds));
    const fix = fixOf(e, secretsOf(c.creds));
    const why = err.code === 'EAUTH' || err.code === 'EBADINPUT' || fix.fix ? undefined : await unsupportedReason(host);
    if (why !== undefined) return { ok: false, code: 'EUNSUPPORTED', reason: why, error: `${host} answers discovery but cannot be controlled: ${why}` };
    return { ok: false, code: err.code, error: err.message, ...fix };
  }
}

/** Scan's reason when the host's discovery answer says we cannot control it; undefined otherwise (never throws). */
async function unsupportedReason(host: string): Promise<string | undefined> {
  try {
    const r = await discoverSingle(host, { timeoutMs: 1500 });
    return r.supported ? undefined : (r.reason ?? 'unknown protocol');
  } catch {
    return undefined;
  }
}

let registeredOn: unknown;

/** Register the endpoints once per admin app. */
export function registerAdminEndpoints(RED: RED): void {
  if (!RED.httpAdmin || registeredOn === RED.httpAdmin) return;
  registeredOn = RED.httpAdmin;
  const perm = RED.auth?.needsPermission('tplink-pool.write') ?? ((_q: HttpRequest, _s: HttpResponse, next?: () => void) => next?.());
  const route = (fn: (RED: RED, body: Body) => Promise<unknown>) => (req: HttpRequest, res: HttpResponse) => {
    const body = req.body && typeof req.body === 'object' ? (req.body as Body) : {};
    fn(RED, body).then(
      (out) => res.json(out),
      (e: unknown) => {
        const err = toNodeError(e, secretsOf(credentialsFor(RED, body).creds));
        res.status(err.code === 'EBADINPUT' ? 400 : err.code === 'EBUSY' ? 429 : 500).json({ ok: false, code: err.code, error: err.message });
      },
    );
  };
  RED.httpAdmin.post('/tplink-pool/scan', perm, route(scan));
  RED.httpAdmin.post('/tplink-pool/test', perm, route(test));
}
