/**
 * The answer side of our HTTP/1.1 client (http-client.ts): a pure parser that reassembles one
 * answer from TCP chunks, no I/O, so tests can fuzz it byte by byte. It reads what devices send
 * (Content-Length) and what a proxy or other firmware might (chunked, interim 1xx answers, or a
 * body that runs to the end of the connection), and refuses anything else with EPROTOCOL. Every
 * length is checked against the cap before anything is buffered (ETOOBIG).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { KasaTapoError } from '../errors';
import { droppedError } from './timing';

export interface HttpResponse {
  status: number;
  /** Lower-case names; `set-cookie` is always an array, other repeated headers are joined with ", ". */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Longest status line + headers (and chunked trailers) accepted, as node:http's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Interim (1xx) answers skipped before the real one. */
const MAX_INTERIM = 8;
/** Longest chunk-size line of a chunked body. */
const MAX_CHUNK_LINE = 1024;

/** An HTTP token (RFC 9110 §5.6.2): a header name. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A control character other than tab (not allowed in a header value). */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
/** Space or tab: what surrounds a header value. */
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
const HTTP1 = Buffer.from('HTTP/1.', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Whether buf[from…] holds only CR and LF bytes. */
export function onlyLineEnds(buf: Buffer, from = 0): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0x0d && buf[i] !== 0x0a) return false;
  return true;
}

/** Whether a line feed in buf[from, to) is not preceded by a carriage return. */
function hasBareLf(buf: Buffer, from: number, to: number): boolean {
  for (let i = buf.indexOf(0x0a, from); i >= 0 && i < to; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) return true;
  return false;
}
/** Headers whose repeats are dropped (the first wins), as in node:http. */
const SINGLE = new Set(['content-type', 'content-length', 'location', 'server', 'date', 'etag', 'age', 'expires', 'last-modified']);

type BodyMode = 'length' | 'chunked' | 'close';
type Phase = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'done';

const protocolError = (host: string, what: string): KasaTapoError => new KasaTapoError('EPROTOCOL', `${host} sent a malformed HTTP answer (${what})`, { host });
const tooBig = (host: string, n: number, max: number): KasaTapoError =>
  new KasaTapoError('ETOOBIG', `${host} sent an answer of ${n} bytes, above the ${max}-byte limit`, { host });
/** A byte buffer that grows by doubling (bounded by its users): appending is amortised O(1). */
class Bytes {
  buf: Buffer = EMPTY;
  length = 0;

  append(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.length + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(256, this.buf.length * 2, this.length + n));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    src.copy(this.buf, this.length, from, to);
    this.length += n;
  }

  /** Drop the first `n` bytes. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n >= this.length) this.length = 0;
    else {
      this.buf.copy(this.buf, 0, n, this.length);
      this.length -= n;
    }
  }

  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
const EMPTY = Buffer.alloc(0);

/**
 * Reassembles one HTTP answer from TCP chunks. Pure: push() chunks as they arrive, end() when the
 * peer closes. ETOOBIG is raised as soon as a declared length (Content-Length or a chunk size) or
 * the bytes received pass `max`, before buffering them. Bytes are copied at most once (none for
 * an answer whose body arrives in one chunk), so a device that drips its answer byte by byte
 * costs time in proportion to the bytes, not to their square.
 */
export class HttpResponseReader {
  /** Bytes received for this answer (all of them, heads included). */
  received = 0;
  /** May the connection carry another request after this answer? */
  keepAlive = true;
  private phase: Phase = 'head';
  /** Bytes of an unfinished head, chunk-size line or trailer. */
  private readonly pending = new Bytes();
  /** How far into `pending` a search for the end of the head already looked. */
  private scanned = 0;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private mode: BodyMode = 'length';
  private left = 0;
  /** The body: one slice of a chunk (the usual case), or copied bytes. */
  private whole: Buffer | undefined;
  private readonly body = new Bytes();
  private interim = 0;
  private trailerBytes = 0;
  /** Bytes of chunk framing (size lines with their extensions, CRLFs after the data) so far. */
  private framing = 0;

  constructor(
    readonly max: number,
    readonly host: string,
  ) {}

  /** Add a chunk. The whole answer once complete, else undefined. Throws KasaTapoError EPROTOCOL / ETOOBIG. */
  push(c: Buffer): HttpResponse | undefined {
    this.received += c.length;
    if (this.phase === 'done') {
      // Bytes after a complete answer: the framing can no longer be trusted.
      if (!onlyLineEnds(c)) this.keepAlive = false;
      return undefined;
    }
    const fromPending = this.pending.length > 0;
    if (fromPending) this.pending.append(c, 0, c.length);
    const buf = fromPending ? this.pending.view() : c;
    // Each step consumes at least one byte or asks for more, so this ends within buf.length steps.
    let pos = 0;
    for (;;) {
      if (this.isDone()) {
        // Bytes after the answer (other than a stray line end) mean the framing cannot be trusted.
        if (pos < buf.length && !onlyLineEnds(buf, pos)) this.keepAlive = false;
        this.pending.length = 0;
        return this.answer();
      }
      if (pos >= buf.length) {
        if (fromPending) this.pending.length = 0;
        return undefined;
      }
      const next = this.step(buf, pos);
      if (next < 0) {
        // Not enough for this step: keep the rest (bounded by each step's own limit).
        if (fromPending) this.pending.consume(pos);
        else this.pending.append(c, pos, c.length);
        return undefined;
      }
      if (next > pos) this.scanned = 0;
      pos = next;
    }
  }

  private isDone(): boolean {
    return this.phase === 'done';
  }

  /** The peer closed the connection: the answer if its body runs to the close, else ECONNRESET. */
  end(): HttpResponse {
    if (this.phase === 'body' && this.mode === 'close') {
      this.phase = 'done';
      this.keepAlive = false;
      return this.answer();
    }
    throw droppedError(this.host, this.received);
  }

  /** One parsing step from `pos`: the new position, or -1 when it needs more bytes than there are. */
  private step(buf: Buffer, pos: number): number {
    switch (this.phase) {
      case 'head':
        return this.readHead(buf, pos);
      case 'body':
        return this.readBody(buf, pos);
      case 'chunk-size':
        return this.readChunkSize(buf, pos);
      case 'chunk-data':
        return this.readChunkData(buf, pos);
      case 'chunk-crlf':
        return this.readChunkCrlf(buf, pos);
      case 'trailers':
        return this.readTrailers(buf, pos);
      default:
        return pos;
    }
  }

  private readHead(buf: Buffer, pos: number): number {
    // Stray line ends before a status line are skipped, as node:http's parser does.
    let start = pos;
    while (start < buf.length && start - pos < MAX_HEAD_BYTES && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
    if (start > pos) return start;
    // Not an HTTP/1.x answer: refused at once, not after the timeout.
    const seen = Math.min(buf.length - pos, HTTP1.length);
    if (buf.compare(HTTP1, 0, seen, pos, pos + seen) !== 0) throw protocolError(this.host, 'no HTTP/1.x status line');
    const from = Math.max(pos, pos + this.scanned - 3);
    const end = buf.indexOf(HEAD_END, from);
    const scanTo = end < 0 ? buf.length : end;
    if (hasBareLf(buf, Math.max(pos, from - 1), scanTo)) throw protocolError(this.host, 'a line ended without CR');
    if (end < 0) {
      if (buf.length - pos > MAX_HEAD_BYTES) throw protocolError(this.host, 'headers too long');
      this.scanned = buf.length - pos;
      return -1;
    }
    if (end - pos > MAX_HEAD_BYTES) throw protocolError(this.host, 'headers too long');
    this.parseHead(buf.toString('latin1', pos, end));
    return end + 4;
  }

  private parseHead(text: string): void {
    const host = this.host;
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const m = STATUS_LINE.exec(text.slice(0, eol));
    if (!m) throw protocolError(host, 'no HTTP/1.x status line');
    const status = Number(m[2]);
    const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
    // One header line at a time, [start, eol), without splitting the text or trimming by RegExp.
    for (let start = eol + 2; start < text.length; start = eol + 2) {
      eol = text.indexOf('\r\n', start);
      if (eol < 0) eol = text.length;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon >= eol) throw protocolError(host, 'a header line without a name');
      const name = text.slice(start, colon);
      if (!TOKEN.test(name)) throw protocolError(host, 'a bad header name');
      let a = colon + 1;
      let b = eol;
      while (a < b && isBlank(text.charCodeAt(a))) a++;
      while (b > a && isBlank(text.charCodeAt(b - 1))) b--;
      const value = text.slice(a, b);
      if (hasControl(value)) throw protocolError(host, 'a control character in a header');
      const key = name.toLowerCase();
      const had = headers[key];
      if (key === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
      else if (had === undefined) headers[key] = value;
      else if (key === 'content-length') {
        if (had !== value) throw protocolError(host, 'two different Content-Length headers');
      } else if (!SINGLE.has(key)) headers[key] = `${String(had)}, ${value}`;
    }
    // We never ask to upgrade: after a 101 the bytes are not HTTP, so say so now, not at the timeout.
    if (status === 101) throw protocolError(host, 'a protocol switch (101) nobody asked for');
    if (status < 200) {
      // An interim answer (100 Continue, 102, 103): the real one follows.
      if (++this.interim > MAX_INTERIM) throw protocolError(host, 'too many interim answers');
      return;
    }
    // We send no Accept-Encoding: a compressed body is not one we could read.
    const ce = headers['content-encoding'];
    if (ce !== undefined && ce.toLowerCase() !== 'identity') throw protocolError(host, `a body in ${ce.slice(0, 40)} encoding`);
    this.status = status;
    this.headers = headers;
    const conn = String(headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (status === 204 || status === 304) {
      this.phase = 'done';
    } else if (te !== undefined) {
      // Both lengths at once is how requests are smuggled: refused. A final coding other than
      // chunked means the body runs to the close (RFC 9112 §6.3).
      if (cl !== undefined) throw protocolError(host, 'both Transfer-Encoding and Content-Length');
      const codings = te.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() === 'chunked') {
        this.mode = 'chunked';
        this.phase = 'chunk-size';
      } else {
        this.mode = 'close';
        this.keepAlive = false;
        this.phase = 'body';
      }
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw protocolError(host, `Content-Length "${cl.slice(0, 40)}"`);
      const n = Number(cl);
      if (n > this.max) throw tooBig(host, n, this.max);
      this.mode = 'length';
      this.left = n;
      this.phase = n === 0 ? 'done' : 'body';
    } else {
      this.mode = 'close';
      this.keepAlive = false;
      this.phase = 'body';
    }
  }

  private take(buf: Buffer, from: number, to: number): void {
    this.body.append(buf, from, to);
  }

  private readBody(buf: Buffer, pos: number): number {
    if (this.mode === 'close') {
      if (this.body.length + (buf.length - pos) > this.max) throw tooBig(this.host, this.body.length + buf.length - pos, this.max);
      this.take(buf, pos, buf.length);
      return buf.length;
    }
    const n = Math.min(this.left, buf.length - pos);
    // The usual case: the whole body in this chunk, used in place.
    if (n === this.left && this.body.length === 0) this.whole = buf.subarray(pos, pos + n);
    else this.take(buf, pos, pos + n);
    this.left -= n;
    if (this.left === 0) this.phase = 'done';
    return pos + n;
  }

  private readChunkSize(buf: Buffer, pos: number): number {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) {
      if (buf.length - pos > MAX_CHUNK_LINE) throw protocolError(this.host, 'a chunk-size line too long');
      return -1;
    }
    // Framing may not outweigh the data by more than a head's worth: 1-byte chunks behind 1 KB
    // extensions would otherwise make us read about a thousand times the cap.
    this.framing += eol + 2 - pos;
    if (this.framing > MAX_HEAD_BYTES + this.body.length) {
      throw new KasaTapoError('ETOOBIG', `${this.host} sent ${this.framing} bytes of chunk framing for ${this.body.length} bytes of data`, { host: this.host });
    }
    const line = buf.toString('latin1', pos, eol);
    const m = /^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$/.exec(line);
    if (!m) throw protocolError(this.host, 'a bad chunk size');
    const n = parseInt(m[1]!, 16);
    if (this.body.length + n > this.max) throw tooBig(this.host, this.body.length + n, this.max);
    this.left = n;
    this.phase = n === 0 ? 'trailers' : 'chunk-data';
    return eol + 2;
  }

  private readChunkData(buf: Buffer, pos: number): number {
    const n = Math.min(this.left, buf.length - pos);
    this.take(buf, pos, pos + n);
    this.left -= n;
    if (this.left === 0) this.phase = 'chunk-crlf';
    return pos + n;
  }

  private readChunkCrlf(buf: Buffer, pos: number): number {
    if (buf.length - pos < 2) return -1;
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw protocolError(this.host, 'a chunk not ended by CRLF');
    this.framing += 2;
    this.phase = 'chunk-size';
    return pos + 2;
  }

  private readTrailers(buf: Buffer, pos: number): number {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) {
      if (this.trailerBytes + buf.length - pos > MAX_HEAD_BYTES) throw protocolError(this.host, 'trailers too long');
      return -1;
    }
    this.trailerBytes += eol + 2 - pos;
    if (this.trailerBytes > MAX_HEAD_BYTES) throw protocolError(this.host, 'trailers too long');
    if (eol === pos) this.phase = 'done';
    return eol + 2;
  }

  private answer(): HttpResponse {
    const body = this.whole ?? Buffer.from(this.body.view());
    return { status: this.status, headers: this.headers, body };
  }
}
