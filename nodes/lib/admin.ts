/**
 * The tplink-pool editor's admin endpoints, protected by `tplink-pool.write`:
 *   POST /tplink-pool/scan  {id?, broadcast?, timeout?, username?, password?}
 *     → {devices:[{host, port, model, alias, family, protocol, supported, reason?, auth}]}
 *     The alias of a KLAP/AES device is not in its discovery answer: it is read during the login
 *     check (one getState), so every supported device the account opens comes back named.
 *   POST /tplink-pool/test  {id?, host, port?, transport?, username?, password?}
 *     → {ok:true, device:{…}, on?} | {ok:false, code, error, reason?}
 *     When the device refuses us for another reason than the login, its discovery answer is asked
 *     for: a device it says we cannot control comes back as EUNSUPPORTED with Scan's `reason`.
 * Unsaved credentials may come in the body (the editor sends them only when changed); they are
 * used for the check and never echoed back. Saved ones are read from the config node.
 */
import { connect, discover, discoverSingle, type Credentials, type DiscoveryResult, type TransportChoice } from '../../src/index';
import { toNodeError } from './errors';
import { num, text } from './device';
import { credentialsOf } from './pool-config';
import type { HttpRequest, HttpResponse, Node, RED } from './red';

type Body = Record<string, unknown>;
const PASSWORD_PLACEHOLDER = '__PWRD__';
const MAX_AUTH_CHECKS = 64;
const AUTH_PARALLEL = 8;

/** Body credentials over the saved ones (a blank or placeholder password means "the saved one"). */
function credentialsFor(RED: RED, body: Body): Credentials | undefined {
  const id = text(body.id);
  const saved = id ? (RED.nodes.getCredentials?.(id) ?? (RED.nodes.getNode(id) as Node | null)?.credentials) : undefined;
  const bodyPw = typeof body.password === 'string' && body.password !== PASSWORD_PLACEHOLDER && body.password !== '' ? body.password : undefined;
  return credentialsOf({
    username: text(body.username) ?? saved?.username,
    password: bodyPw ?? saved?.password,
  });
}

const secretsOf = (c: Credentials | undefined): string[] => (c ? [c.password, c.username] : []);

/**
 * Can we log in? auth 'ok', 'failed' (EAUTH), 'not needed' (XOR), 'no credentials', or 'error
 * CODE'; with the alias the device gave when the login worked (connect() reads its state once).
 */
async function authCheck(r: DiscoveryResult, creds: Credentials | undefined, timeoutMs: number): Promise<{ auth: string; alias?: string }> {
  if (!r.supported || !r.transport) return { auth: 'unsupported' };
  if (r.transport === 'xor') return { auth: 'not needed' };
  if (!creds) return { auth: 'no credentials' };
  try {
    const dev = await connect({ host: r.host, port: r.port, transport: r.transport, credentials: creds, discovery: r, timeoutMs, retries: 0 });
    const alias = dev.info()?.alias;
    await dev.close();
    return { auth: 'ok', ...(alias !== undefined ? { alias } : {}) };
  } catch (e) {
    const code = toNodeError(e).code;
    return { auth: code === 'EAUTH' ? 'failed' : `error ${code}` };
  }
}

async function scan(RED: RED, body: Body): Promise<unknown> {
  const id = text(body.id);
  const node = id ? (RED.nodes.getNode(id) as { broadcast?: string } | null) : null;
  const broadcast = text(body.broadcast) ?? node?.broadcast ?? '255.255.255.255';
  const timeoutMs = num(body.timeout, 2000, 200, 10000);
  const creds = credentialsFor(RED, body);
  const found = await discover({ broadcast, timeoutMs });
  const devices: Record<string, unknown>[] = found.map((r) => ({
    host: r.host,
    port: r.port,
    ...(r.model !== undefined ? { model: r.model } : {}),
    ...(r.alias !== undefined ? { alias: r.alias } : {}),
    family: r.family,
    ...(r.transport !== undefined ? { protocol: r.transport } : {}),
    supported: r.supported,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  }));
  // Bounded auth checks, a few at a time.
  const todo = found.slice(0, MAX_AUTH_CHECKS).map((r, i) => ({ r, i }));
  const worker = async (): Promise<void> => {
    for (let job = todo.shift(); job; job = todo.shift()) {
      const { auth, alias } = await authCheck(job.r, creds, Math.min(timeoutMs * 2, 5000));
      devices[job.i]!.auth = auth;
      if (alias !== undefined && devices[job.i]!.alias === undefined) devices[job.i]!.alias = alias;
    }
  };
  await Promise.all(Array.from({ length: AUTH_PARALLEL }, worker));
  return { devices };
}

async function test(RED: RED, body: Body): Promise<unknown> {
  const host = text(body.host);
  if (!host) return { ok: false, code: 'EBADINPUT', error: 'Give the device host to test' };
  const creds = credentialsFor(RED, body);
  const port = Number(body.port);
  const t = text(body.transport);
  try {
    const dev = await connect({
      host,
      ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}),
      transport: (t ?? 'auto') as TransportChoice,
      ...(creds ? { credentials: creds } : {}),
      timeoutMs: num(body.timeout, 5000, 200, 20000),
      retries: 0,
    });
    try {
      const s = await dev.getState();
      return { ok: true, device: dev.info(), ...(s.on !== undefined ? { on: s.on } : {}) };
    } finally {
      await dev.close();
    }
  } catch (e) {
    const err = toNodeError(e, secretsOf(creds));
    const why = err.code === 'EAUTH' || err.code === 'EBADINPUT' ? undefined : await unsupportedReason(host);
    if (why !== undefined) return { ok: false, code: 'EUNSUPPORTED', reason: why, error: `${host} answers discovery but cannot be controlled: ${why}` };
    return { ok: false, code: err.code, error: err.message };
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
        const err = toNodeError(e, secretsOf(credentialsFor(RED, body)));
        res.status(err.code === 'EBADINPUT' ? 400 : 500).json({ ok: false, code: err.code, error: err.message });
      },
    );
  };
  RED.httpAdmin.post('/tplink-pool/scan', perm, route(scan));
  RED.httpAdmin.post('/tplink-pool/test', perm, route(test));
}
