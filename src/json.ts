/**
 * JSON from the network: parsed so that `__proto__`, `constructor` and `prototype` keys are dropped
 * and can never reach an object's prototype chain when the result is later merged or spread.
 */
import { KasaTapoError } from './errors';

const BAD_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const RISKY = /__proto__|constructor|prototype|\\u/;

function reviver(this: unknown, key: string, value: unknown): unknown {
  return BAD_KEYS.has(key) ? undefined : value;
}

/** Parse device JSON. Throws KasaTapoError('EPROTOCOL') on malformed text. */
export function parseJson(text: string | Buffer, what = 'answer'): unknown {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  try {
    // The reviver costs ~4x on every answer; only texts that could name a bad key need it
    // (a \u escape could spell one).
    return RISKY.test(s) ? JSON.parse(s, reviver) : JSON.parse(s);
  } catch {
    throw new KasaTapoError('EPROTOCOL', `Malformed JSON in device ${what} (${s.length} bytes)`);
  }
}

/** Parse device JSON that must be an object. Throws KasaTapoError('EPROTOCOL'). */
export function parseJsonObject(text: string | Buffer, what = 'answer'): Record<string, unknown> {
  const v = parseJson(text, what);
  if (!isObject(v)) throw new KasaTapoError('EPROTOCOL', `Device ${what} is not a JSON object`);
  return v;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
