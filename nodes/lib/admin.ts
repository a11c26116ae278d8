/**
 * The tplink-pool editor's admin endpoints, protected by `tplink-pool.write`:
 *   POST /tplink-pool/scan  {id?, broadcast?, timeout?, username?, password?}
 *     → {devices:[{host, port, model, alias, family, protocol, loginVersion?, supported, reason?, auth, warning?, fix?, hint?}]}
 *     The alias of a KLAP/AES/TPAP device is not in its discovery answer: it is read during the
 *     login check, so every listed device the account opens comes back named.
 *     One scan at a time per pool (and at most MAX_SCANS in all): another one gets HTTP 429.
 *   POST /tplink-pool/test  {id?, host, port?, transport?, username?, password?, acceptChange?}
 *     → {ok:true, device:{…}, on?, warning?} | {ok:false, code, error, reason?, fix?, hint?}
 *     `fix`/`hint`: a failure's guided fix (src/fixes.ts): its id and the one sentence saying what to do.
 *     When the device refuses us for another reason than the login, its discovery answer is asked
 *     for: a device it says we cannot control comes back as EUNSUPPORTED with Scan's `reason`.
 *     At most TESTS_PER_MINUTE failed logins per host and minute (HTTP 429 beyond).
 * `id` must name a tplink-pool (or nothing yet deployed); unsaved credentials may come in the body
 * (the editor sends them only when changed); they are used for the check and never echoed back.
 * Saved ones are read from the deployed config node.
 *
 * Where credentials go (src/trust.ts; a discovery answer is a hint, never a credential decision):
 * - an AES login (which shows the device a password equivalent) goes only to hosts in the deployed
 *   device list, whatever the password's source: Scan never sends one to an answer it got, and Test
 *   sends one to an unlisted host only with a password typed in the dialog and the row set to AES;
 * - the saved password goes in no login at all (KLAP, TPAP or AES: each handshake lets the other
 *   side test a guess of it) to a host outside the deployed list; for other hosts it must be typed;
 * - login v1 (the password itself) only for a row the user set to `aes-v1`, never from `lv`;
 * - a listed `auto` device is tested no lower than the strongest transport it proved in the pool,
 *   unless the user ticked "accept the change" (then the pool forgets what it proved).
 */
import {
  AesTrust,
  discoveredLoginVersion,
  DEFAULT_CREDENTIALS_NOTICE,
  Pool,
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
import type { HttpRequest, HttpResponse, RED } from './red';

type Body = Record<string, unknown>;
const PASSWORD_PLACEHOLDER = '__PWRD__';
const MAX_AUTH_CHECKS = 64;
const AUTH_PARALLEL = 8;
/** Scans running at once, across all pools (each pool: one). */
const MAX_SCANS = 4;
const scanning = new Set<string>();
/**
 * Failed logins by Test per host and minute: each one to a hostile host may have tested one guess
 * of a password (EAUTH, or a failure after the proof step). A host that completes a login proved it
 * knows the account, and a timeout tested nothing: those are free.
 */
const TESTS_PER_MINUTE = 5;
const MAX_TESTED_HOSTS = 1024;
const failedTests = new Map<string, number[]>();

/** The failed Tests of `host` in the last minute. Never throws. */
function recentFailures(host: string, now = Date.now()): number[] {
  return (failedTests.get(host.toLowerCase()) ?? []).filter((t) => now - t < 60_000);
}

/** Count one failed Test of `host`. Never throws. */
function testFailed(host: string, now = Date.now()): void {
  const key = host.toLowerCase();
  const recent = recentFailures(key, now);
  recent.push(now);
  failedTests.delete(key);
  if (failedTests.size >= MAX_TESTED_HOSTS) failedTests.delete(failedTests.keys().next().value!);
  failedTests.set(key, recent);
}

/** The deployed tplink-pool `id` names, as the admin endpoints see it. */
interface PoolRuntime {
  type: string;
  deviceList?: PoolDeviceConfig[];
  broadcast?: string;
  pool?: Pool;
  credentials?: Record<string, string | undefined>;
}

/**
 * The deployed tplink-pool named by the body's `id`: undefined when nothing with that id is
 * deployed (a pool being created in the editor). Throws EBADINPUT when `id` names another node:
 * its credentials are not ours to use.
 */
function poolOf(RED: RED, body: Body): PoolRuntime | undefined {
  const id = text(body.id);
  if (!id) return undefined;
  const node = RED.nodes.getNode(id) as PoolRuntime | null;
  if (!node) return undefined;
  if (node.type !== 'tplink-pool') throw new NodeError('EBADINPUT', 'The id given is not a tplink-pool');
  return node;
}

/** Which credentials a request uses, and whether the password is the one typed in the dialog. */
interface CredsChoice {
  creds?: Credentials;
  /** The password came in the body (typed now), not from Node-RED's saved credentials. */
  typed: boolean;
}

/** Body credentials over the saved ones (a blank or placeholder password means "the saved one"). */
function credentialsFor(RED: RED, body: Body): CredsChoice {
  const id = text(body.id);
  const node = poolOf(RED, body);
  const saved = node && id ? (RED.nodes.getCredentials?.(id) ?? node.credentials) : undefined;
  const bodyPw = typeof body.password === 'string' && body.password !== PASSWORD_PLACEHOLDER && body.password !== '' ? body.password : undefined;
  const creds = credentialsOf({
    username: text(body.username) ?? saved?.username,
    password: bodyPw ?? saved?.password,
  });
  return { ...(creds ? { creds } : {}), typed: bodyPw !== undefined || !saved?.password };
}

/** The deployed config node's device list (what "listed" means here). */
function savedPool(RED: RED, body: Body): { trust: AesTrust; broadcast?: string; pool?: Pool } {
  const node = poolOf(RED, body);
  const trust = new AesTrust();
  for (const d of Array.isArray(node?.deviceList) ? node.deviceList : []) {
    try {
      trust.addListed(d);
    } catch {
      /* parseDeviceList keeps only valid hosts; skip anything else */
    }
  }
  return {
    trust,
    ...(typeof node?.broadcast === 'string' ? { broadcast: node.broadcast } : {}),
    ...(node?.pool instanceof Pool ? { pool: node.pool } : {}),
  };
}

const secretsOf = (c: Credentials | undefined): string[] => (c ? [c.password, c.username] : []);

/**
 * Can we log in? 'ok', 'default credentials' (the device accepted TP-Link's default account),
 * 'failed' (EAUTH), 'not needed' (XOR), 'no credentials', 'not tried' (a login the password may
 * not go in: AES to an unlisted host, the saved password to an unlisted host) or 'error CODE'. A
 * successful login also fills in `out.alias` when discovery had none (KLAP/AES/TPAP answers carry
 * no name). Only login v2 for AES: a discovery answer's `lv` never chooses v1.
 */
async function authCheck(r: DiscoveryResult, c: CredsChoice, listed: boolean, timeoutMs: number, out: Record<string, unknown> = {}): Promise<string> {
  if (!r.supported || !r.transport) return 'unsupported';
  if (r.transport === 'xor') return 'not needed';
  if (!c.creds) return 'no credentials';
  if (!listed && (r.transport === 'aes' || !c.typed)) return 'not tried';
  try {
    const dev = await connect({
      host: r.host,
      port: r.port,
      transport: r.transport,
      credentials: c.creds,
      discovery: r,
      allowAesLogin: listed,
      loginVersion: 2,
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
    const devices: Record<string, unknown>[] = found.map((r) => ({
      host: r.host,
      port: r.port,
      ...(r.model !== undefined ? { model: r.model } : {}),
      ...(r.alias !== undefined ? { alias: r.alias } : {}),
      family: r.family,
      ...(r.transport !== undefined ? { protocol: r.transport } : {}),
      // What the answer announces, shown only: the login sent is v2 ("Add all" never writes aes-v1).
      ...(r.transport === 'aes' ? { loginVersion: discoveredLoginVersion(r) } : {}),
      supported: r.supported,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
    }));
    // Bounded auth checks, a few at a time.
    const todo = found.slice(0, MAX_AUTH_CHECKS).map((r, i) => ({ r, i }));
    const worker = async (): Promise<void> => {
      for (let job = todo.shift(); job; job = todo.shift()) {
        const listed = saved.trust.lookup(job.r.host, job.r.port) !== undefined;
        const row = devices[job.i]!;
        const auth = await authCheck(job.r, c, listed, Math.min(timeoutMs * 2, 5000), row);
        row.auth = auth;
        if (auth === 'default credentials') row.warning = DEFAULT_CREDENTIALS_NOTICE;
        if (auth === 'not tried') {
          row.warning =
            job.r.transport === 'aes'
              ? "AES device: add it, deploy, then Test (an AES login shows the device your password's hash, so it goes only to devices you listed)"
              : 'not in the deployed list: the saved password goes only to listed devices; type the password to check it, or add it, deploy, then Test';
        }
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
  const saved = savedPool(RED, body);
  const listed = saved.trust.lookup(host, p);
  const choice = (t === 'aes-v1' ? 'aes' : t === 'tpap-nopw' ? 'tpap' : (t ?? 'auto')) as TransportChoice;
  if (!listed && !c.typed && c.creds && choice !== 'xor') {
    // Each login to a host lets it test a guess of the password: the saved one is for listed devices only.
    return {
      ok: false,
      code: 'ENOTTRUSTED',
      error: `${clip(host)}${p !== undefined ? `:${p}` : ''} is not in the deployed device list, and the saved password goes only to listed devices. Type the password to test with it, or add the device, deploy, then Test again`,
    };
  }
  if (recentFailures(host).length >= TESTS_PER_MINUTE) {
    throw new NodeError('EBUSY', `${TESTS_PER_MINUTE} failed logins to ${clip(host)} in the last minute; wait a minute before the next Test`);
  }
  const opts: ConnectOptions = {
    host,
    ...(p !== undefined ? { port: p } : {}),
    transport: choice,
    ...(c.creds ? { credentials: c.creds } : {}),
    timeoutMs: num(body.timeout, 5000, 200, 20000),
    retries: 0,
  };
  // AES: to a listed device, or with a typed password to a host whose row says AES (the user's
  // choice, never a discovery answer's). Login v1 only as the user chose it: on the row for a typed
  // password, in the deployed list for the saved one (an unsaved row cannot downgrade it).
  opts.allowAesLogin = listed !== undefined || (c.typed && choice === 'aes');
  if (c.typed ? t === 'aes-v1' : listed?.loginVersion === 1) opts.loginVersion = 1;
  if (t === 'tpap-nopw') opts.tpapAllowNoPassword = true;
  // No lower than what the device proved in the pool, unless the user accepts the change.
  const accept = body.acceptChange === true;
  const floor = saved.pool?.provenRoutes()[host.toLowerCase()];
  if (floor && !accept) opts.floor = floor;
  try {
    const dev = await connect(opts);
    try {
      const s = await dev.getState();
      const info = dev.info();
      if (accept) saved.pool?.forgetProven(host);
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
    // Only a failure that may have tested a guess of the password counts (not a timeout, a refusal).
    if (isKasaTapoError(e) && (e.code === 'EAUTH' || e.spentLogin)) testFailed(host);
    if (isKasaTapoError(e) && e.code === 'ENOTTRUSTED' && e.fix) return { ok: false, code: e.code, error: e.message, ...fixOf(e, secretsOf(c.creds)) };
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
        let secrets: string[] = [];
        try {
          secrets = secretsOf(credentialsFor(RED, body).creds);
        } catch {
          /* the id names no tplink-pool: no credentials of ours are involved */
        }
        const err = toNodeError(e, secrets);
        res.status(err.code === 'EBADINPUT' ? 400 : err.code === 'EBUSY' ? 429 : 500).json({ ok: false, code: err.code, error: err.message });
      },
    );
  };
  RED.httpAdmin.post('/tplink-pool/scan', perm, route(scan));
  RED.httpAdmin.post('/tplink-pool/test', perm, route(test));
}
