/**
 * IOT ("Kasa JSON") protocol over any Transport (XOR, KLAP v1): `{"<module>":{"<method>":{params}}}`
 * requests, an optional leading `"context":{"child_ids":[...]}` for strip outlets, and `err_code`
 * checked at module and at method level (docs/protocols.md#iot-over-xor). Bulbs get one module per exchange
 * because some crash on requests above ~768 bytes or answers above ~4 KiB.
 */
import { KasaTapoError, clip, toKasaTapoError } from '../errors';
import { isObject } from '../json';
import type { Transport } from '../types';
import { withRetry, type RetryOptions, type RetryStats } from './retry';

/** `{module: {method: params}}`. */
export type IotRequest = Record<string, Record<string, unknown>>;
/** `{module: {method: result}}` with every err_code checked to be 0. */
export type IotAnswer = Record<string, Record<string, Record<string, unknown>>>;

/** Device classes whose module names differ (docs/protocols.md#iot-module-names-by-device-class). */
export type IotClass = 'plug' | 'bulb';

export interface IotModuleNames {
  system: string;
  /** Where set_dev_alias / reboot live. */
  systemSet: string;
  emeter: string;
  schedule: string;
  time: string;
  cloud: string;
}

export const IOT_MODULES: Readonly<Record<IotClass, IotModuleNames>> = {
  plug: { system: 'system', systemSet: 'system', emeter: 'emeter', schedule: 'schedule', time: 'time', cloud: 'cnCloud' },
  bulb: {
    system: 'system',
    systemSet: 'smartlife.iot.common.system',
    emeter: 'smartlife.iot.common.emeter',
    schedule: 'smartlife.iot.common.schedule',
    time: 'smartlife.iot.common.timesetting',
    cloud: 'smartlife.iot.common.cloud',
  },
};
export const IOT_LIGHTING = 'smartlife.iot.smartbulb.lightingservice';
export const IOT_LIGHTSTRIP = 'smartlife.iot.lightStrip';
export const IOT_DIMMER = 'smartlife.iot.dimmer';

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** err_codes meaning "this module/method does not exist on this device". */
const IOT_UNSUPPORTED = new Set([-1, -2, -2000, -2001]);

/** Serialise a request, `context` first when child ids are given. Never throws. */
export function buildIotRequest(request: IotRequest, childIds?: readonly string[]): string {
  if (!childIds || childIds.length === 0) return JSON.stringify(request);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (k !== 'context') rest[k] = v;
  return JSON.stringify({ context: { child_ids: [...childIds] }, ...rest });
}

/** The typed error for a non-zero IOT err_code. Never throws. */
export function iotError(code: number, msg: unknown, rawMethod: string, host?: string): KasaTapoError {
  const text = typeof msg === 'string' ? clip(msg, 120) : 'error';
  const method = clip(rawMethod); // a raw request's module/method names come from the caller
  const details = { deviceCode: code, method, ...(host !== undefined ? { host } : {}) };
  return IOT_UNSUPPORTED.has(code)
    ? new KasaTapoError('EUNSUPPORTED', `${method} is not supported by this device (err_code ${code}: ${text})`, details)
    : new KasaTapoError('EDEVICE', `The device refused ${method}: ${text} (err_code ${code})`, details);
}

function errCode(o: Record<string, unknown>): number {
  const c = o['err_code'];
  return typeof c === 'number' && Number.isFinite(c) ? c : 0;
}

/**
 * Check an answer against the request it answers: every requested module and method must be there
 * with err_code 0. Throws KasaTapoError EPROTOCOL (missing parts), EBUSY (a whole-request refusal
 * saying "busy"), EUNSUPPORTED (-1/-2/-2000/-2001) or EDEVICE (any other non-zero err_code), naming
 * the module.method.
 */
export function checkIotAnswer(request: IotRequest, answer: unknown, host?: string): IotAnswer {
  if (!isObject(answer)) throw new KasaTapoError('EPROTOCOL', 'The IOT answer is not a JSON object', host ? { host } : {});
  // A bare top-level err_code with none of the requested modules: the device refused the request as
  // a whole. "busy" → EBUSY (retried with backoff like SMART's busy codes), else by code.
  const top = errCode(answer);
  if (top !== 0 && !Object.keys(request).some((mod) => mod !== 'context' && isObject(answer[mod]))) {
    const msg = answer['err_msg'];
    if (typeof msg === 'string' && /busy/i.test(msg)) {
      throw new KasaTapoError('EBUSY', `The device is busy (err_code ${top}: ${msg.slice(0, 120)})`, {
        deviceCode: top,
        method: 'request',
        ...(host ? { host } : {}),
      });
    }
    throw iotError(top, msg, 'request', host);
  }
  const out: IotAnswer = {};
  for (const [mod, methods] of Object.entries(request)) {
    if (mod === 'context') continue;
    const m = answer[mod];
    if (!isObject(m)) throw new KasaTapoError('EPROTOCOL', `The answer lacks module ${mod}`, { method: mod, ...(host ? { host } : {}) });
    const mc = errCode(m);
    if (mc !== 0) throw iotError(mc, m['err_msg'], mod, host);
    out[mod] = {};
    for (const meth of Object.keys(methods)) {
      const r = m[meth];
      const name = `${mod}.${meth}`;
      if (!isObject(r)) throw new KasaTapoError('EPROTOCOL', `The answer lacks ${name}`, { method: name, ...(host ? { host } : {}) });
      const rc = errCode(r);
      if (rc !== 0) throw iotError(rc, r['err_msg'], name, host);
      out[mod][meth] = r;
    }
  }
  return out;
}

/** IOT requests over one transport. Callers serialise calls (one request in flight per device). */
export class IotProtocol {
  readonly stats: RetryStats = { retries: 0 };
  /** Send one module.method per exchange (bulbs and light strips: small requests and answers). */
  splitMethods = false;

  constructor(
    readonly transport: Transport,
    private readonly opts: RetryOptions = {},
  ) {}

  /**
   * Send `request` (to the given outlets when `childIds` is set) and check every err_code.
   * Throws KasaTapoError: EUNSUPPORTED, EDEVICE, EPROTOCOL, and whatever the transport throws
   * after the retry policy (ETIMEDOUT, ECONNREFUSED, EAUTH, ...).
   */
  async query(request: IotRequest, childIds?: readonly string[]): Promise<IotAnswer> {
    return (await this.exchange(request, childIds)).value;
  }

  /**
   * As `query`, with the device's own answer beside the checked one: the answer JSON, or, when
   * the request was split per method, the answers merged by module. Throws as `query`.
   */
  async exchange(request: IotRequest, childIds?: readonly string[]): Promise<{ value: IotAnswer; raw: unknown }> {
    const parts: IotRequest[] = this.splitMethods
      ? Object.entries(request).flatMap(([mod, methods]) => Object.entries(methods).map(([m, p]) => ({ [mod]: { [m]: p } })))
      : [request];
    const merged: IotAnswer = {};
    const rawMerged: Record<string, Record<string, unknown>> = {};
    let raw: unknown;
    for (const part of parts) {
      const answer = await this.send(buildIotRequest(part, childIds));
      if (parts.length === 1) raw = answer;
      else {
        for (const [k, v] of Object.entries(isObject(answer) ? answer : {}))
          if (!UNSAFE_KEYS.has(k)) rawMerged[k] = { ...rawMerged[k], ...(isObject(v) ? v : {}) };
        raw = rawMerged;
      }
      const checked = checkIotAnswer(part, answer, this.transport.host);
      for (const [mod, methods] of Object.entries(checked)) merged[mod] = { ...merged[mod], ...methods };
    }
    return { value: merged, raw };
  }

  /**
   * Send a caller-built request as is (with `context` first when `childIds` is set) and return the
   * device's answer unchecked. Throws KasaTapoError EBADINPUT (not an object) and transport errors.
   */
  raw(request: unknown, childIds?: readonly string[]): Promise<unknown> {
    if (!isObject(request) || Object.values(request).some((v) => !isObject(v))) {
      return Promise.reject(new KasaTapoError('EBADINPUT', 'An IOT raw request must be an object like {"system":{"get_sysinfo":{}}}'));
    }
    let text: string;
    try {
      text = buildIotRequest(request as IotRequest, childIds);
    } catch (e) {
      return Promise.reject(toKasaTapoError(e, this.transport.host));
    }
    return this.send(text);
  }

  private send(text: string): Promise<unknown> {
    return withRetry(this.transport, () => this.transport.send(text), this.opts, this.stats);
  }
}
