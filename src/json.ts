/**
 * JSON from the network: parsed so that `__proto__`, `constructor` and `prototype` keys are dropped
 * and can never reach an object's prototype chain when the result is later merged or spread.
 */
import { KasaTapoError } from './errors';

const BAD_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/**
 * Whether a text could name a bad key: 'proto' (in `__proto__` and `prototype`), 'constructor', or a
 * backslash-u escape that could spell one. Three native substring searches: faster than one RegExp.
 */
const risky = (s: string): boolean => s.includes('proto') || s.includes('constructor') || s.includes('\\u');

/** Deepest nesting accepted from a device (real answers stay under ~10 levels). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether valid JSON text nests arrays/objects deeper than `max` (brackets inside strings skipped).
 * Deeper answers would overflow the stack of every recursive consumer (a reviver, String(),
 * structuredClone, Node-RED's message cloning), so they are refused before parsing. Never throws.
 */
function nestsDeeper(s: string, max: number): boolean {
  // Fast path: with at most `max` opening brackets in the whole text (inside strings or not), the
  // nesting cannot be deeper. Counted with the native indexOf; typical answers have a few dozen.
  let opening = 0;
  for (let i = s.indexOf('{'); i >= 0 && opening <= max; i = s.indexOf('{', i + 1)) opening++;
  for (let i = s.indexOf('['); i >= 0 && opening <= max; i = s.indexOf('[', i + 1)) opening++;
  if (opening <= max) return false;
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n;) {
    const c = s.charCodeAt(i++);
    if (c === 0x22) {
      // Skip the string: find the closing quote not escaped by an odd run of backslashes.
      for (;;) {
        const j = s.indexOf('"', i);
        if (j < 0) return false;
        let k = j - 1;
        while (s.charCodeAt(k) === 0x5c) k--;
        i = j + 1;
        if ((j - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function reviver(this: unknown, key: string, value: unknown): unknown {
  return BAD_KEYS.has(key) ? undefined : value;
}

/** Parse device JSON. Throws KasaTapoError('EPROTOCOL') on malformed text or nesting deeper than MAX_JSON_DEPTH. */
export function parseJson(text: string | Buffer, what = 'answer'): unknown {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  if (nestsDeeper(s, MAX_JSON_DEPTH)) {
    throw new KasaTapoError('EPROTOCOL', `Device ${what} nests deeper than ${MAX_JSON_DEPTH} levels (${s.length} bytes)`);
  }
  try {
    // The reviver costs ~4x on every answer; only texts that could name a bad key need it
    // (a \u escape could spell one).
    return risky(s) ? JSON.parse(s, reviver) : JSON.parse(s);
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
