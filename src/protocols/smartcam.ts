/**
 * The SmartCam protocol of Tapo cameras, doorbells and the H200 hub (docs/protocols.md#ssl-aes-secure-login-cameras-doorbells-the-h200-hub),
 * carried by the SSL-AES client: requests are `{method, params: {<module>: {…}}}` batched into
 * `multipleRequest` (with the time and a terminal id, five per batch), answers come back per
 * method with their own `error_code`; lists page by `start_index`/`sum`.
 */
import { randomBytes } from 'node:crypto';
import { KasaTapoError } from '../errors';
import { isObject } from '../json';

/** One SmartCam request: a camelCase method and its module parameters. */
export interface SmartCamRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** Something that carries one SmartCam JSON request and answers the device's JSON (SslAesClient). */
export interface SmartCamCarrier {
  readonly host: string;
  request(body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Requests per multipleRequest (as the app and python-kasa send them). */
export const SMARTCAM_BATCH = 5;
/** Most pages of a list read before giving up (a device whose `sum` lies must not keep us asking). */
const MAX_PAGES = 50;

/** The multipleRequest body for up to SMARTCAM_BATCH requests. Never throws. */
export function smartCamBatch(requests: readonly SmartCamRequest[], nowMs: number, terminalUuid: string): Record<string, unknown> {
  return {
    method: 'multipleRequest',
    request_time_milis: nowMs,
    terminal_uuid: terminalUuid,
    params: { requests: requests.map((r) => ({ method: r.method, params: r.params ?? {} })) },
  };
}

export class SmartCamProtocol {
  /** A random terminal id per client, base64 as the app sends it. */
  private readonly terminalUuid = randomBytes(16).toString('base64');

  constructor(
    private readonly carrier: SmartCamCarrier,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Send the requests (in batches of SMARTCAM_BATCH) and answer each method's `result`, keyed by
   * method name. Throws KasaTapoError EDEVICE (a method's non-zero `error_code`, with `method` and
   * `deviceCode`; the batch's own error_code), EPROTOCOL (an answer without `responses`), and what
   * the carrier throws.
   */
  async query(requests: readonly SmartCamRequest[]): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = Object.create(null) as Record<string, Record<string, unknown>>;
    for (let i = 0; i < requests.length; i += SMARTCAM_BATCH) {
      const part = requests.slice(i, i + SMARTCAM_BATCH);
      const answer = await this.carrier.request(smartCamBatch(part, this.now(), this.terminalUuid));
      const host = this.carrier.host;
      if (answer.error_code !== 0) throw this.deviceError(answer.error_code, 'multipleRequest');
      const responses = isObject(answer.result) ? answer.result.responses : undefined;
      if (!Array.isArray(responses)) throw new KasaTapoError('EPROTOCOL', `${host} answered a SmartCam batch without responses`, { host });
      for (const r of responses) {
        if (!isObject(r) || typeof r.method !== 'string') continue;
        if (r.error_code !== 0) throw this.deviceError(r.error_code, r.method);
        out[r.method] = isObject(r.result) ? r.result : {};
      }
      for (const q of part) if (!(q.method in out)) throw new KasaTapoError('EPROTOCOL', `${host} did not answer ${q.method}`, { host, method: q.method });
    }
    return out;
  }

  /**
   * A paged list (e.g. getChildDeviceList → `child_device_list`): asks again from `start_index` =
   * what it has until it has `sum` entries, at most MAX_PAGES times. Throws like query().
   */
  async list(method: string, module: string, field: string): Promise<unknown[]> {
    const all: unknown[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = (await this.query([{ method, params: { [module]: { start_index: all.length } } }]))[method]!;
      const items = Array.isArray(r[field]) ? (r[field] as unknown[]) : [];
      all.push(...items);
      const sum = typeof r.sum === 'number' ? r.sum : all.length;
      if (items.length === 0 || all.length >= sum) return all;
    }
    return all;
  }

  private deviceError(code: unknown, method: string): KasaTapoError {
    const host = this.carrier.host;
    return new KasaTapoError('EDEVICE', `${host} refused ${method} (error ${String(code).slice(0, 20)})`, {
      host,
      method,
      ...(typeof code === 'number' ? { deviceCode: code } : {}),
    });
  }
}
