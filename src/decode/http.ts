/**
 * A small HTTP/1.x message splitter for decoding captures: start line, headers, and a body by
 * Content-Length or chunked encoding (or to the end of the stream). Bounded; never throws.
 */

export interface HttpMessage {
  /** Request: method and target; response: status. */
  method?: string;
  target?: string;
  status?: number;
  /** By lower-case name; an object without a prototype, so any name (`__proto__` too) is just a header. */
  headers: Record<string, string[]>;
  body: Buffer;
  /** Offset of the message's first byte in its stream. */
  offset: number;
}

const MAX_HEAD = 64 * 1024;

function parseChunked(buf: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let pos = start;
  for (let i = 0; i < 100_000; i++) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) return undefined;
    pos = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', pos - 2);
      return { body: Buffer.concat(parts), end: end < 0 ? buf.length : end + 4 };
    }
    if (pos + size > buf.length) return undefined;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
  return undefined;
}

/** Split one direction of a connection into HTTP messages (stops at the first thing that is not one). */
export function splitHttp(buf: Buffer, kind: 'request' | 'response'): HttpMessage[] {
  const out: HttpMessage[] = [];
  let pos = 0;
  while (pos < buf.length && out.length < 100_000) {
    const headEnd = buf.indexOf('\r\n\r\n', pos);
    if (headEnd < 0 || headEnd - pos > MAX_HEAD) break;
    const lines = buf.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const start = lines[0]!.split(' ');
    const msg: HttpMessage = { headers: Object.create(null) as Record<string, string[]>, body: Buffer.alloc(0), offset: pos };
    if (kind === 'request') {
      if (start.length < 3 || !/^[A-Z]+$/.test(start[0]!)) break;
      msg.method = start[0]!;
      msg.target = start[1]!;
    } else {
      if (!/^HTTP\/1\.[01]$/.test(start[0] ?? '')) break;
      msg.status = Number(start[1]);
    }
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i <= 0) continue;
      const k = l.slice(0, i).trim().toLowerCase();
      (msg.headers[k] ??= []).push(l.slice(i + 1).trim());
    }
    const bodyStart = headEnd + 4;
    const te = msg.headers['transfer-encoding']?.join(',').toLowerCase() ?? '';
    const cl = msg.headers['content-length']?.[0];
    if (te.includes('chunked')) {
      const c = parseChunked(buf, bodyStart);
      if (!c) {
        msg.body = buf.subarray(bodyStart);
        out.push(msg);
        break;
      }
      msg.body = c.body;
      pos = c.end;
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isInteger(n) || n < 0) break;
      msg.body = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + n));
      pos = bodyStart + n;
    } else if (kind === 'request') {
      pos = bodyStart;
    } else {
      msg.body = buf.subarray(bodyStart);
      pos = buf.length;
    }
    out.push(msg);
  }
  return out;
}

/** The first value of a header, or undefined. */
export const header = (m: HttpMessage, name: string): string | undefined => m.headers[name.toLowerCase()]?.[0];
