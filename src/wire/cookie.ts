/**
 * The session cookie of the KLAP and AES transports, shared by the client (transports/) and the
 * simulator: `TP_SESSIONID`/`SESSIONID` with the `TIMEOUT` pseudo-attribute inside the same
 * Set-Cookie header. Pure: no I/O, no state.
 */
import { DEFAULT_SESSION_TIMEOUT_S } from '../defaults';

/**
 * Parse a session cookie from Set-Cookie (or Cookie) header(s): the first `TP_SESSIONID` or
 * `SESSIONID` value, and `TIMEOUT=<s>` from the same header (default 86400). Never throws.
 */
export function parseSessionCookie(header: string | string[] | undefined): { id?: string; timeoutS: number } {
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  let id: string | undefined;
  let timeoutS = DEFAULT_SESSION_TIMEOUT_S;
  for (const line of lines) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (id === undefined && (name === 'TP_SESSIONID' || name === 'SESSIONID') && value) id = value;
      else if (name.toUpperCase() === 'TIMEOUT' && /^\d{1,9}$/.test(value) && Number(value) > 0) timeoutS = Number(value);
    }
  }
  return id === undefined ? { timeoutS } : { id, timeoutS };
}
