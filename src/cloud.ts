/**
 * A client for TP-Link's cloud (the Kasa app's API, as the community's Tapo/Kasa work documents it).
 *
 * How it works: JSON over HTTPS POST. `login` (appType, cloudUserName, cloudPassword, terminalUUID)
 * to the base URL answers a token; `getDeviceList` (token in the query string) lists the account's
 * devices, each with the `appServerUrl` of its regional server; `passthrough` sends an IOT JSON
 * command as a string (`requestData`) through that server to the device and answers the device's
 * own answer as a string (`responseData`). Every answer is `{error_code, msg?, result?}`.
 *
 * Safety: the account is sent only to the base URL the caller chose (default TP-Link's own), over
 * HTTPS unless that URL is on loopback (a local test cloud) or the caller says `insecure`; the
 * token only to that host or to a device's `appServerUrl` over HTTPS (or on the base URL's own
 * host). Neither the password nor the token appears in an error, a log line or `inspect()` output.
 * `timeoutMs` is a deadline for each request as a whole, not an idle time: a server that trickles
 * its answer cannot hold a caller longer.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { KasaTapoError, type ErrorCode } from './errors';
import { fixFor, type FixId } from './fixes';
import { isObject, parseJson } from './json';

/** TP-Link's production endpoint: the default, never used by tests or the demo. */
export const DEFAULT_CLOUD_URL = 'https://wap.tplinkcloud.com';
const MAX_ANSWER_BYTES = 4 << 20;

export interface CloudLoginOptions {
  username: string;
  password: string;
  /** Identifies this client to the cloud; default a random UUID per login. */
  terminalUUID?: string;
  /** Default DEFAULT_CLOUD_URL; also KASA_TAPO_CLOUD_URL in the CLI. */
  baseUrl?: string;
  /** Default 'Kasa_Android'. */
  appType?: string;
  /** Deadline per request (connect to last byte). Default 10000. */
  timeoutMs?: number;
  /**
   * Allow a plain-HTTP `baseUrl` on a host that is not loopback: the password then travels in
   * clear. Default false (EBADINPUT).
   */
  insecure?: boolean;
}

export interface CloudDevice {
  deviceId: string;
  alias?: string;
  model?: string;
  /** e.g. 'IOT.SMARTPLUGSWITCH', 'SMART.TAPOPLUG'. */
  deviceType?: string;
  /** 1 online, 0 offline (the cloud's view). */
  status?: number;
  appServerUrl: string;
  mac?: string;
  fwVer?: string;
  hwVer?: string;
  region?: string;
  /** The cloud's own entry. */
  raw: Record<string, unknown>;
}

/** Cloud error codes and what they mean for the caller. */
const CLOUD_ERRORS: Record<number, { code: ErrorCode; text: string; hint?: string; fix?: FixId }> = {
  [-20601]: {
    code: 'EAUTH',
    text: 'The TP-Link cloud refused the e-mail or password',
    hint: 'Check the TP-Link account e-mail and password (both case-sensitive) by signing in to the Kasa or Tapo app',
  },
  [-20600]: {
    code: 'EAUTH',
    text: 'The TP-Link cloud knows no account with that e-mail',
    hint: 'Use the e-mail exactly as registered in the Kasa or Tapo app',
  },
  // Two-factor (two-step) verification: the cloud wants a code sent to the user's e-mail or phone.
  // -20677 is the current answer (with `result.mfaType`, sometimes only in `result.errorCode`);
  // -20615 and -23003 ("App version is too old") are what older logins get for such an account.
  [-20677]: { code: 'EAUTH', text: 'The TP-Link cloud wants a two-factor verification code for this login', fix: 'two-factor' },
  [-20615]: { code: 'EAUTH', text: 'The TP-Link cloud wants a verification code for this login', fix: 'two-factor' },
  [-23003]: { code: 'EAUTH', text: 'The TP-Link cloud refused this login client for an account with two-step verification', fix: 'two-factor' },
  [-20651]: { code: 'ESESSION', text: 'The cloud token has expired', hint: 'Log in again' },
  [-20675]: { code: 'ESESSION', text: 'The cloud token was ended by another login', hint: 'Log in again' },
  [-20571]: {
    code: 'EOFFLINE',
    text: 'The cloud says the device is offline',
    hint: 'The device is not connected to the TP-Link cloud: check that it is powered and on Wi-Fi with internet access, and that Remote Control is on in the app',
  },
  [-20580]: { code: 'ENOTFOUND', text: 'That device is not bound to this account', hint: "List the account's devices with `kasa-tapo cloud devices`" },
  [-20104]: {
    code: 'EBADINPUT',
    text: 'The cloud says a parameter is missing or wrong',
    hint: 'Check the device id and that the command is an IOT JSON object',
  },
  [-20002]: { code: 'EUNSUPPORTED', text: 'The cloud does not know that method' },
  [-1]: {
    code: 'EUNSUPPORTED',
    text: 'The device does not accept cloud passthrough',
    hint: "Tapo (SMART) devices cannot be controlled through the cloud's passthrough; control them locally instead",
  },
};

/** Turn a cloud error_code into a KasaTapoError (never containing the account or the token). */
export function cloudError(errorCode: number, method: string, msg?: string): KasaTapoError {
  const known = CLOUD_ERRORS[errorCode];
  const safeMsg = typeof msg === 'string' && msg.length < 200 ? ` ("${msg.replace(/[^\x20-\x7e]/g, '?')}")` : '';
  if (known)
    return new KasaTapoError(known.code, `${known.text} (cloud error ${errorCode} on ${method})`, {
      deviceCode: errorCode,
      method,
      ...(known.fix ? { fix: known.fix, hint: fixFor(known.fix) } : known.hint ? { hint: known.hint } : {}),
    });
  return new KasaTapoError('EDEVICE', `The TP-Link cloud answered error ${errorCode} to ${method}${safeMsg}`, { deviceCode: errorCode, method });
}

function parseUrl(text: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new KasaTapoError('EBADINPUT', `${what} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new KasaTapoError('EBADINPUT', `${what} must be http(s)`);
  if (u.username || u.password) throw new KasaTapoError('EBADINPUT', `${what} must not carry user information`);
  return u;
}

/** Whether a URL's hostname (as `URL` normalises it) is loopback: 127.0.0.0/8, [::1] or localhost. */
export function isLoopbackHostname(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]' || hostname.toLowerCase() === 'localhost';
}

/** Where a request went, without query string (the token travels there). */
const where = (u: URL): string => `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;

/**
 * POST a JSON body; resolve with the parsed answer. `timeoutMs` bounds the whole request: at the
 * deadline it is destroyed, however busy the connection. Throws KasaTapoError (transport, HTTP,
 * ETIMEDOUT, EPROTOCOL).
 */
function postJson(url: URL, body: unknown, timeoutMs: number): Promise<Record<string, unknown>> {
  const mod = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: KasaTapoError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      reject(e);
    };
    const req = mod.request(
      url,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length, 'User-Agent': 'node-red-contrib-kasa-tapo' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) fail(new KasaTapoError('ETOOBIG', `The cloud's answer from ${where(url)} is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', () => fail(new KasaTapoError('ECONNRESET', `The connection to ${where(url)} dropped`)));
        res.on('end', () => {
          if (settled) return;
          if (res.statusCode !== 200)
            return fail(new KasaTapoError('EPROTOCOL', `${where(url)} answered HTTP ${res.statusCode}`, { httpStatus: res.statusCode ?? 0 }));
          try {
            const v = parseJson(Buffer.concat(chunks), 'cloud answer');
            if (!isObject(v)) throw new Error('not an object');
            settled = true;
            clearTimeout(deadline);
            resolve(v);
          } catch {
            fail(new KasaTapoError('EPROTOCOL', `${where(url)} did not answer cloud JSON`));
          }
        });
      },
    );
    // Started once the request exists: fail() and the handlers run only after this line.
    const deadline = setTimeout(() => fail(new KasaTapoError('ETIMEDOUT', `${where(url)} did not answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code: ErrorCode = e.code === 'ECONNRESET' ? 'ECONNRESET' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'ENOTFOUND' : 'ECONNREFUSED';
      fail(new KasaTapoError(code, `Could not reach ${where(url)} (${e.code ?? 'error'})`));
    });
    req.end(payload);
  });
}

/** Check an answer; `secrets` (the password, the token) are cut out of any text the cloud sent back. */
function checkAnswer(ans: Record<string, unknown>, method: string, secrets: string[]): Record<string, unknown> {
  // Some regions answer a login that needs more (two-factor) with error_code 0 and the real code in result.errorCode.
  const nested = isObject(ans['result']) ? ans['result']['errorCode'] : undefined;
  const code = ans['error_code'] === 0 && typeof nested === 'number' && nested !== 0 ? nested : ans['error_code'];
  if (typeof code !== 'number') throw new KasaTapoError('EPROTOCOL', `The cloud's answer to ${method} has no error_code`, { method });
  if (code !== 0) {
    let msg = typeof ans['msg'] === 'string' ? ans['msg'] : undefined;
    for (const x of secrets) if (msg !== undefined && x.length >= 3) msg = msg.split(x).join('***');
    throw cloudError(code, method, msg);
  }
  return isObject(ans['result']) ? ans['result'] : {};
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A logged-in cloud session. The token is kept out of enumeration and inspect(). */
export class CloudSession {
  readonly baseUrl: string;
  readonly terminalUUID: string;
  private readonly timeoutMs: number;
  private devicesById = new Map<string, CloudDevice>();

  constructor(baseUrl: string, token: string, terminalUUID: string, timeoutMs: number) {
    this.baseUrl = baseUrl;
    this.terminalUUID = terminalUUID;
    this.timeoutMs = timeoutMs;
    Object.defineProperty(this, 'secretToken', { value: token, enumerable: false });
  }

  /** The session token (a secret: it controls the account's devices). */
  get token(): string {
    return (this as unknown as { secretToken: string }).secretToken;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CloudSession { baseUrl: '${where(new URL(this.baseUrl))}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl, terminalUUID: this.terminalUUID };
  }

  private url(base: string): URL {
    const u = new URL(base);
    u.searchParams.set('appName', 'Kasa_Android');
    u.searchParams.set('termID', this.terminalUUID);
    u.searchParams.set('token', this.token);
    return u;
  }

  /**
   * The account's devices (getDeviceList). Throws KasaTapoError: ESESSION (token expired),
   * EPROTOCOL, ETIMEDOUT, ECONNREFUSED, EDEVICE (other cloud errors).
   */
  async devices(): Promise<CloudDevice[]> {
    const result = checkAnswer(await postJson(this.url(this.baseUrl), { method: 'getDeviceList' }, this.timeoutMs), 'getDeviceList', [this.token]);
    const list = Array.isArray(result['deviceList']) ? result['deviceList'] : [];
    const out: CloudDevice[] = [];
    for (const d of list) {
      if (!isObject(d) || typeof d['deviceId'] !== 'string' || typeof d['appServerUrl'] !== 'string') continue;
      const dev: CloudDevice = { deviceId: d['deviceId'], appServerUrl: d['appServerUrl'], raw: d };
      const set = <K extends keyof CloudDevice>(k: K, v: CloudDevice[K] | undefined): void => {
        if (v !== undefined) dev[k] = v;
      };
      set('alias', str(d['alias']));
      set('model', str(d['deviceModel']));
      set('deviceType', str(d['deviceType']));
      set('status', typeof d['status'] === 'number' ? d['status'] : undefined);
      set('mac', str(d['deviceMac']));
      set('fwVer', str(d['fwVer']));
      set('hwVer', str(d['deviceHwVer']));
      set('region', str(d['deviceRegion']));
      out.push(dev);
    }
    this.devicesById = new Map(out.map((d) => [d.deviceId, d]));
    return out;
  }

  /**
   * Send an IOT JSON command to a device through its regional server; answers the device's own
   * answer. Lists the devices first when this device is not known yet. Throws KasaTapoError:
   * EBADINPUT (bad request, an appServerUrl we refuse to send the token to), ENOTFOUND (no such
   * device), EOFFLINE (-20571), EUNSUPPORTED (-1: Tapo devices), ESESSION, EPROTOCOL, ETIMEDOUT.
   */
  async passthrough(deviceId: string, request: unknown): Promise<unknown> {
    if (typeof deviceId !== 'string' || deviceId === '') throw new KasaTapoError('EBADINPUT', 'passthrough needs a device id');
    if (!isObject(request)) throw new KasaTapoError('EBADINPUT', 'passthrough needs an IOT JSON object, e.g. {"system":{"get_sysinfo":{}}}');
    if (!this.devicesById.has(deviceId)) await this.devices();
    const dev = this.devicesById.get(deviceId);
    if (!dev)
      throw new KasaTapoError('ENOTFOUND', `No device ${deviceId} in this cloud account`, {
        hint: "List the account's devices with `kasa-tapo cloud devices`",
      });
    const app = parseUrl(dev.appServerUrl, "The device's appServerUrl");
    const base = new URL(this.baseUrl);
    if (app.protocol !== 'https:' && app.hostname !== base.hostname) {
      throw new KasaTapoError('EBADINPUT', `Refusing to send the cloud token to ${where(app)} over plain HTTP`);
    }
    const result = checkAnswer(
      await postJson(this.url(dev.appServerUrl), { method: 'passthrough', params: { deviceId, requestData: JSON.stringify(request) } }, this.timeoutMs),
      'passthrough',
      [this.token],
    );
    const data = result['responseData'];
    if (typeof data !== 'string') throw new KasaTapoError('EPROTOCOL', "The cloud's passthrough answer has no responseData", { method: 'passthrough' });
    try {
      return parseJson(data, 'device answer');
    } catch {
      throw new KasaTapoError('EPROTOCOL', "The device's answer through the cloud is not JSON", { method: 'passthrough' });
    }
  }
}

/**
 * Log in to the TP-Link cloud. Resolves with a session. Throws KasaTapoError: EBADINPUT (no
 * username/password, bad base URL, plain HTTP off loopback without `insecure`), EAUTH (wrong e-mail or password; an account with two-factor
 * verification: `fix` 'two-factor'), ETIMEDOUT, ECONNREFUSED,
 * ENOTFOUND, EPROTOCOL, EDEVICE (other cloud errors). The password is sent to `baseUrl` only.
 */
export async function cloudLogin(opts: CloudLoginOptions): Promise<CloudSession> {
  if (!opts || typeof opts.username !== 'string' || opts.username === '' || typeof opts.password !== 'string' || opts.password === '') {
    throw new KasaTapoError('EBADINPUT', 'The cloud login needs the TP-Link account e-mail and password');
  }
  const baseUrl = opts.baseUrl ?? DEFAULT_CLOUD_URL;
  const base = parseUrl(baseUrl, 'The cloud URL');
  if (base.protocol === 'http:' && !isLoopbackHostname(base.hostname) && opts.insecure !== true) {
    throw new KasaTapoError('EBADINPUT', `The cloud URL ${where(base)} is plain HTTP: the account's password would travel in clear`, {
      hint: 'Use https://, or a loopback address (127.0.0.1, ::1, localhost) for a local test cloud; --insecure (insecure: true) sends it anyway',
    });
  }
  const terminalUUID = opts.terminalUUID ?? randomUUID();
  const timeoutMs = opts.timeoutMs ?? 10000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))
    throw new KasaTapoError('EBADINPUT', 'The cloud timeoutMs must be a positive number of ms');
  const u = new URL(base.href);
  u.searchParams.set('appName', 'Kasa_Android');
  u.searchParams.set('termID', terminalUUID);
  const body = {
    method: 'login',
    params: { appType: opts.appType ?? 'Kasa_Android', cloudUserName: opts.username, cloudPassword: opts.password, terminalUUID },
  };
  const result = checkAnswer(await postJson(u, body, timeoutMs), 'login', [opts.password, opts.username]);
  const token = result['token'];
  if (typeof token !== 'string' || token === '') throw new KasaTapoError('EPROTOCOL', "The cloud's login answer has no token", { method: 'login' });
  return new CloudSession(base.href, token, terminalUUID, timeoutMs);
}

/** The cloud client: `await cloud.login({username, password, baseUrl})` → a session with `.devices()` and `.passthrough()`. */
export const cloud = { login: cloudLogin };
