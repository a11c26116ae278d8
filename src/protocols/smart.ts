/**
 * SMART (Tapo / SMART-Kasa) protocol over any Transport (KLAP v2, AES): the
 * `{method, params?, request_time_milis, terminal_uuid}` envelope, `multipleRequest` batches of at
 * most 5 (methods missing from a batch are re-sent alone; a batch refused as a whole turns batching
 * off), `control_child` with `requestData`/`responseData`, `start_index`/`sum` paging, and
 * `error_code` mapped to typed errors (docs/protocols.md#smart-error-codes, docs/protocols.md#smart-requests).
 */
import { randomBytes } from 'node:crypto';
import { HINTS, KasaTapoError, clip, type ErrorDetails } from '../errors';
import { LIMITS } from '../defaults';
import { isObject } from '../json';
import { SMART_AUTH_CODES } from '../transports/http';
import type { Transport } from '../types';
import { RATE_LIMIT_CODES, withRetry, type RetryOptions, type RetryStats } from './retry';

export interface SmartRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** Per-method outcome of `multi`: the method's `result` (`{}` when absent) or its error. */
export type SmartResults = Record<string, Record<string, unknown> | KasaTapoError>;

export const MAX_BATCH = LIMITS.batch;
/** Hard cap on pages fetched by `list`, and on items kept. */
export const MAX_PAGES = LIMITS.listPages;
export const MAX_LIST_ITEMS = LIMITS.listItems;

const BUSY_CODES = new Set([1002, 1112, -1001, -1301]);
const SESSION_CODES = new Set([9999, -40401]);
const UNSUPPORTED_CODES = new Set([-1002, -40106]);

/** The typed error for a non-zero SMART error_code (docs/protocols.md#smart-error-codes). Never throws. */
export function smartError(code: number, rawMethod: string, host?: string): KasaTapoError {
  const method = clip(rawMethod); // a raw request's method name comes from the caller
  const d: ErrorDetails = { deviceCode: code, method, ...(host !== undefined ? { host } : {}) };
  if (SMART_AUTH_CODES.has(code))
    return new KasaTapoError('EAUTH', `${method}: the device rejected the credentials (error_code ${code})`, { ...d, hint: HINTS.auth });
  if (code === 1003) {
    return new KasaTapoError('EUNSUPPORTED', `${method}: the device does not accept this transport (error_code 1003)`, {
      ...d,
      hint: 'It probably wants KLAP; use transport "auto" or "klap"',
    });
  }
  if (BUSY_CODES.has(code)) return new KasaTapoError('EBUSY', `${method}: the device is busy (error_code ${code})`, d);
  if (RATE_LIMIT_CODES.has(code)) return new KasaTapoError('EBUSY', `${method}: the device limits the request rate (error_code ${code})`, d);
  if (SESSION_CODES.has(code)) return new KasaTapoError('ESESSION', `${method}: the session expired (error_code ${code})`, d);
  if (UNSUPPORTED_CODES.has(code)) return new KasaTapoError('EUNSUPPORTED', `${method} is not supported by this device's firmware (error_code ${code})`, d);
  return new KasaTapoError('EDEVICE', `The device refused ${method} (error_code ${code})`, d);
}

/** Errors that concern the whole session or device, never only one method: always thrown. */
function isSessionWide(e: KasaTapoError): boolean {
  return e.code === 'EAUTH' || e.code === 'ESESSION' || e.code === 'EBUSY';
}

function codeOf(o: Record<string, unknown>): number {
  const c = o['error_code'];
  return typeof c === 'number' && Number.isFinite(c) ? c : 0;
}

function resultOf(o: Record<string, unknown>): Record<string, unknown> {
  const r = o['result'];
  return isObject(r) ? r : {};
}

/** Decode a base64 text field (nickname, ssid); returns the input when it is not base64 UTF-8. Never throws. */
export function b64Decode(s: string): string {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return s;
  const buf = Buffer.from(s, 'base64');
  const text = buf.toString('utf8');
  return text.includes('\ufffd') || Buffer.from(text, 'utf8').toString('base64') !== s ? s : text;
}

/** Encode a text field for the device (set_device_info nickname). Never throws. */
export function b64Encode(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** SMART requests over one transport. Callers serialise calls (one request in flight per device). */
export class SmartProtocol {
  readonly stats: RetryStats = { retries: 0 };
  /** b64 of 16 random bytes, fixed for this protocol instance. */
  readonly terminalUuid = randomBytes(16).toString('base64');
  /** Drops to 1 (no multipleRequest) for good once the device refuses a batch as a whole. */
  batchSize: number = MAX_BATCH;

  constructor(
    readonly transport: Transport,
    private readonly opts: RetryOptions = {},
  ) {}

  /** The request envelope; `params` omitted when empty or absent. Never throws. */
  envelope(method: string, params?: Record<string, unknown>): Record<string, unknown> {
    const env: Record<string, unknown> = { method };
    if (params && Object.keys(params).length > 0) env['params'] = params;
    env['request_time_milis'] = Date.now();
    env['terminal_uuid'] = this.terminalUuid;
    return env;
  }

  /**
   * One method; resolves with its `result` (`{}` when the device sends none).
   * Throws KasaTapoError per smartError (EAUTH, EUNSUPPORTED, EBUSY, ESESSION, EDEVICE) after the
   * retry policy, EPROTOCOL for a malformed answer, and transport errors.
   */
  async query(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return resultOf(await this.exchange(method, params));
  }

  /**
   * Several methods, batched (≤ 5 per multipleRequest). Methods missing from a batch answer are
   * re-sent alone. A method's own device error is stored as its result when more than one method
   * was asked; session-wide errors (EAUTH, ESESSION, EBUSY) and transport errors are thrown.
   * Duplicate method names keep the last answer. Throws KasaTapoError as `query`.
   */
  async multi(requests: readonly SmartRequest[]): Promise<SmartResults> {
    const results: SmartResults = {};
    if (requests.length === 1) {
      results[requests[0]!.method] = await this.query(requests[0]!.method, requests[0]!.params);
      return results;
    }
    for (let i = 0; i < requests.length && this.batchSize > 1;) {
      const batch = requests.slice(i, i + this.batchSize);
      let answer: Record<string, unknown>;
      try {
        answer = await this.exchange('multipleRequest', {
          requests: batch.map((r) => (r.params && Object.keys(r.params).length ? { method: r.method, params: r.params } : { method: r.method })),
        });
      } catch (e) {
        if (e instanceof KasaTapoError && (e.code === 'EDEVICE' || e.code === 'EUNSUPPORTED') && e.method === 'multipleRequest') {
          this.opts.logger?.debug?.(`${this.transport.host}: multipleRequest refused (${e.deviceCode}), batching off`);
          this.batchSize = 1;
          break;
        }
        throw e;
      }
      const responses = resultOf(answer)['responses'];
      for (const r of Array.isArray(responses) ? responses : []) {
        if (!isObject(r) || typeof r['method'] !== 'string') continue;
        const m = r['method'];
        if (!batch.some((b) => b.method === m)) continue;
        const code = codeOf(r);
        if (code === 0) results[m] = resultOf(r);
        else {
          const err = smartError(code, m, this.transport.host);
          if (isSessionWide(err)) throw err;
          results[m] = err;
        }
      }
      i += batch.length;
    }
    for (const r of requests) {
      if (Object.prototype.hasOwnProperty.call(results, r.method)) continue;
      try {
        results[r.method] = await this.query(r.method, r.params);
      } catch (e) {
        if (!(e instanceof KasaTapoError) || isSessionWide(e) || (e.code !== 'EDEVICE' && e.code !== 'EUNSUPPORTED')) throw e;
        results[r.method] = e;
      }
    }
    return results;
  }

  /**
   * One method on a child (hub sensor, strip outlet) through control_child; resolves with the
   * child's `result`. Throws KasaTapoError as `query`, for the outer and the inner error_code.
   */
  async controlChild(deviceId: string, method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const requestData: Record<string, unknown> = { method };
    if (params && Object.keys(params).length > 0) requestData['params'] = params;
    const outer = await this.query('control_child', { device_id: deviceId, requestData });
    const inner = outer['responseData'];
    if (!isObject(inner))
      throw new KasaTapoError('EPROTOCOL', `control_child ${clip(method)}: the answer lacks responseData`, { method, host: this.transport.host });
    const code = codeOf(inner);
    if (code !== 0) throw smartError(code, method, this.transport.host);
    return resultOf(inner);
  }

  /**
   * A paged list (`start_index`/`sum`): fetches pages until `sum` items, an empty page, MAX_PAGES
   * pages or MAX_LIST_ITEMS items. `first`: the first page when the caller already has it (from a
   * batch). Throws KasaTapoError as `query`.
   */
  async list(method: string, key: string, params: Record<string, unknown> = {}, first?: Record<string, unknown>): Promise<unknown[]> {
    const items: unknown[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = page === 0 && first ? first : await this.query(method, { ...params, start_index: items.length });
      const got: unknown = r[key];
      if (!Array.isArray(got) || got.length === 0) break;
      items.push(...(got as unknown[]).slice(0, MAX_LIST_ITEMS - items.length));
      const sum = r['sum'];
      if (typeof sum !== 'number' || items.length >= sum || items.length >= MAX_LIST_ITEMS) break;
    }
    return items;
  }

  /**
   * A caller-built `{method, params}` request, answered with the device's own JSON. Device errors
   * are returned in the answer; session-wide ones (EAUTH, ESESSION, EBUSY) go through the retry
   * policy and are thrown. Throws KasaTapoError EBADINPUT for a malformed request.
   */
  async raw(request: unknown): Promise<unknown> {
    if (!isObject(request) || typeof request['method'] !== 'string' || (request['params'] !== undefined && !isObject(request['params']))) {
      throw new KasaTapoError('EBADINPUT', 'A SMART raw request must be {"method": "...", "params": {...}}');
    }
    const method = request['method'];
    const params = request['params'];
    return withRetry(
      this.transport,
      async () => {
        const answer = await this.transport.send(JSON.stringify(this.envelope(method, params)));
        if (isObject(answer)) {
          const code = codeOf(answer);
          if (code !== 0) {
            const err = smartError(code, method, this.transport.host);
            if (isSessionWide(err)) throw err;
          }
        }
        return answer;
      },
      this.opts,
      this.stats,
    );
  }

  /** One envelope sent under the retry policy; resolves with the checked answer object. */
  private exchange(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return withRetry(
      this.transport,
      async () => {
        const answer = await this.transport.send(JSON.stringify(this.envelope(method, params)));
        if (!isObject(answer)) throw new KasaTapoError('EPROTOCOL', `${clip(method)}: the answer is not a JSON object`, { method, host: this.transport.host });
        // Every SMART answer carries error_code; one without is another dialect (a Kasa IOT
        // device over KLAP answering in its own words): not SMART, and no use asking again.
        if (!Object.prototype.hasOwnProperty.call(answer, 'error_code')) {
          throw new KasaTapoError('EPROTOCOL', `${clip(method)}: the answer has no error_code: not a SMART answer`, { method, host: this.transport.host });
        }
        const code = codeOf(answer);
        if (code !== 0) throw smartError(code, method, this.transport.host);
        return answer;
      },
      this.opts,
      this.stats,
    );
  }
}
