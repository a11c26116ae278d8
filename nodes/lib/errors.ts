/**
 * The one error mapper of the nodes: any failure becomes a `NodeError` (message + stable `code`,
 * nothing else a Catch node sees, so `msg.error.code` and never a socket, a cause chain or a secret)
 * plus a short red status text (lib/status.ts). A guided fix (src/fixes.ts) ends the message with its
 * sentence; the error keeps the fix's id and a lockout's `until` for the status text ("login blocked
 * until 14:32"), which Node-RED does not copy into msg.error.
 */
import { clip, isKasaTapoError } from '../../src/index';
import type { DoneFn, Node } from './red';
import { catalogueText, fixStatus, statusOf } from './status';

export class NodeError extends Error {
  readonly code: string;
  /** The guided fix (src/fixes.ts id) whose sentence ends the message, e.g. 'third-party'. */
  readonly fix?: string;
  /** ELOCKED: epoch ms when the device accepts logins again. */
  readonly until?: number;
  constructor(code: string, message: string, extra: { fix?: string | undefined; until?: number | undefined } = {}) {
    // Whatever a message quotes reaches the log and Catch nodes escaped and bounded (src/errors.ts clip).
    super(clip(message, 1000));
    this.name = 'KasaTapoError';
    this.code = code;
    if (typeof extra.fix === 'string') this.fix = extra.fix;
    if (typeof extra.until === 'number') this.until = extra.until;
    // No call stack: it says nothing to a flow author, and the Debug sidebar and msg.error.stack
    // would show it under every device error. The code and the message are the whole story.
    Object.defineProperty(this, 'stack', { value: `${this.name} ${code}: ${message}`, writable: true, configurable: true, enumerable: false });
  }
}

/** Remove any of the given secrets from a text (belt and braces: the library never puts them in). */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** Map anything thrown to a NodeError with a stable code. */
export function toNodeError(e: unknown, secrets?: readonly (string | undefined)[]): NodeError {
  if (e instanceof NodeError) return e;
  if (isKasaTapoError(e)) return new NodeError(e.code, redact(e.message, secrets), { fix: e.fix, until: e.until });
  const msg = e instanceof Error ? e.message : String(e);
  return new NodeError('EINTERNAL', redact(`Unexpected failure: ${msg}`, secrets));
}

/** Show the error on the node (red ring, short text) and hand it to done so Catch nodes see it. */
export function fail(node: Node, done: DoneFn, e: unknown, secrets?: readonly (string | undefined)[]): NodeError {
  const err = toNodeError(e, secrets);
  node.status(fixStatus(err) ?? statusOf.failed(err.code));
  done(err);
  return err;
}

export const badInput = (message: string): NodeError => new NodeError('EBADINPUT', message);

/** An error whose message is the catalogue text tplink-pool.errors.<key> (in the runtime's language). */
export const nodeError = (code: string, key: string, vars?: Record<string, string | number>): NodeError =>
  new NodeError(code, catalogueText(`errors.${key}`, vars));
