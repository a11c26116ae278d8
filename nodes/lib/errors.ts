/**
 * The one error mapper of the nodes: any failure becomes a `NodeError` (message + stable `code`,
 * nothing else attached, so Catch nodes get `msg.error.code` and never a socket, a cause chain or a
 * secret) plus a short red status text.
 */
import { clip, isKasaTapoError } from '../../src/index';
import type { DoneFn, Node } from './red';

export class NodeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    // Whatever a message quotes reaches the log and Catch nodes escaped and bounded (src/errors.ts clip).
    super(clip(message, 1000));
    this.name = 'KasaTapoError';
    this.code = code;
  }
}

/** Short status texts per code (the full message goes to done(err)). */
const SHORT: Record<string, string> = {
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'unreachable',
  ECONNRESET: 'connection dropped',
  EAUTH: 'auth failed',
  ESESSION: 'session expired',
  EPROTOCOL: 'bad answer',
  ETOOBIG: 'answer too big',
  EDEVICE: 'device error',
  EBUSY: 'device busy',
  EUNSUPPORTED: 'unsupported',
  EBADINPUT: 'bad input',
  EOFFLINE: 'offline',
  EQUEUEFULL: 'queue full',
  ECLOSED: 'closed',
  ENOTFOUND: 'not found',
  ENOTTRUSTED: 'not in device list',
  ENOPOOL: 'no pool',
};

/** Remove any of the given secrets from a text (belt and braces: the library never puts them in). */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** Map anything thrown to a NodeError with a stable code. */
export function toNodeError(e: unknown, secrets?: readonly (string | undefined)[]): NodeError {
  if (e instanceof NodeError) return e;
  if (isKasaTapoError(e)) return new NodeError(e.code, redact(e.message, secrets));
  const msg = e instanceof Error ? e.message : String(e);
  return new NodeError('EINTERNAL', redact(`Unexpected failure: ${msg}`, secrets));
}

export function shortText(err: NodeError): string {
  return SHORT[err.code] ?? err.code;
}

/** Show the error on the node (red ring, short text) and hand it to done so Catch nodes see it. */
export function fail(node: Node, done: DoneFn, e: unknown, secrets?: readonly (string | undefined)[]): NodeError {
  const err = toNodeError(e, secrets);
  node.status({ fill: 'red', shape: 'ring', text: shortText(err) });
  done(err);
  return err;
}

export const badInput = (message: string): NodeError => new NodeError('EBADINPUT', message);
