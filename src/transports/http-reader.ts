/**
 * The answer side of our HTTP/1.1 client (http-client.ts): a pure parser that reassembles one
 * answer from TCP chunks, no I/O, so tests can fuzz it byte by byte. It reads what devices send
 * (Content-Length) and what a proxy or other firmware might (chunked, interim 1xx answers, or a
 * body that runs to the end of the connection), and refuses anything else with EPROTOCOL. Every
 * length is checked against the cap before anything is buffered (ETOOBIG).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { KasaTapoError } from '../errors';

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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A control character other than tab (not allowed in a header value). */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
/** Headers whose repeats are dropped (the first wins), as in node:http. */
const SINGLE = new Set(['content-type', 'content-length', 'location', 'server', 'date', 'etag', 'age', 'expires', 'last-modified']);

type BodyMode = 'length' | 'chunked' | 'close';
type Phase = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'done';

const protocolError = (host: string, what: string): KasaTapoError => new KasaTapoError('EPROTOCOL', `${host} sent a malformed HTTP answer (${what})`, { host });
const tooBig = (host: string, n: number, max: number): KasaTapoError =>
  new KasaTapoError('ETOOBIG', `${host} sent an answer of ${n} bytes, above the ${max}-byte limit`, { host });
export const dropped = (host: string, got: number): KasaTapoError =>
  new KasaTapoError('ECONNRESET', `${host} closed the connection ${got ? 'in the middle of an answer' : 'without answering'}`, { host });

/**
 * Reassembles one HTTP answer from TCP chunks. Pure: push() chunks as they arrive, end() when the
 * peer closes. ETOOBIG is raised as soon as a declared length (Content-Length or a chunk size) or
 * the bytes received pass `max`, before buffering them.
 */
export class HttpResponseReader {
  /** Bytes received for this answer (all of them, heads included). */
  received = 0;
  /** May the connection carry another request after this answer? */
  keepAlive = true;
  private phase: Phase = 'head';
  private pending: Buffer | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private mode: BodyMode = 'length';
  private left = 0;
  private parts: Buffer[] = [];
  private size = 0;
  private interim = 0;
  private trailerBytes = 0;

  constructor(
    readonly max: number,
    readonly host: string,
  ) {}

  /** Add a chunk. The whole answer once complete, else undefined. Throws KasaTapoError EPROTOCOL / ETOOBIG. */
  push(c: Buffer): HttpResponse | undefined {
    this.received += c.length;
    if (this.phase === 'done') {
      // Bytes after a complete answer: the framing can no longer be trusted.
      this.keepAlive = false;
      return undefined;
    }
    const buf = this.pending ? Buffer.concat([this.pending, c]) : c;
    this.pending = undefined;
    // Each step consumes at least one byte or asks for more, so this ends within buf.length steps.
    let pos = 0;
    for (;;) {
      if (this.isDone()) {
        if (pos < buf.length) this.keepAlive = false;
        return this.answer();
      }
      if (pos >= buf.length) return undefined;
      const next = this.step(buf, pos);
      if (next < 0) {
        // Not enough for this step: keep the rest (bounded by each step's own limit).
        this.pending = buf.subarray(pos);
        return undefined;
      }
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
    throw dropped(this.host, this.received);
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
    const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (end < 0) {
      if (buf.length - pos > MAX_HEAD_BYTES) throw protocolError(this.host, 'headers too long');
      return -1;
    }
    if (end - pos > MAX_HEAD_BYTES) throw protocolError(this.host, 'headers too long');
    this.parseHead(buf.toString('latin1', pos, end));
    return end + 4;
  }

  private parseHead(text: string): void {
    const host = this.host;
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw protocolError(host, 'no HTTP/1.x status line');
    const status = Number(m[2]);
    const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw protocolError(host, 'a header line without a name');
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) throw protocolError(host, 'a bad header name');
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (hasControl(value)) throw protocolError(host, 'a control character in a header');
      const key = name.toLowerCase();
      const had = headers[key];
      if (key === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
      else if (had === undefined) headers[key] = value;
      else if (key === 'content-length') {
        if (had !== value) throw protocolError(host, 'two different Content-Length headers');
      } else if (!SINGLE.has(key)) headers[key] = `${String(had)}, ${value}`;
    }
    if (status < 200) {
      // An interim answer (100 Continue, 102, 103): the real one follows.
      if (++this.interim > MAX_INTERIM) throw protocolError(host, 'too many interim answers');
      return;
    }
    this.status = status;
    this.headers = headers;
    const conn = String(headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (status === 204 || status === 304) {
      this.phase = 'done';
    } else if (te !== undefined) {
      const codings = te.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() !== 'chunked' || cl !== undefined) throw protocolError(host, `Transfer-Encoding "${te.slice(0, 40)}"`);
      this.mode = 'chunked';
      this.phase = 'chunk-size';
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
    if (to > from) {
      this.parts.push(buf.subarray(from, to));
      this.size += to - from;
    }
  }

  private readBody(buf: Buffer, pos: number): number {
    if (this.mode === 'close') {
      if (this.size + (buf.length - pos) > this.max) throw tooBig(this.host, this.size + buf.length - pos, this.max);
      this.take(buf, pos, buf.length);
      return buf.length;
    }
    const n = Math.min(this.left, buf.length - pos);
    this.take(buf, pos, pos + n);
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
    const line = buf.toString('latin1', pos, eol);
    const m = /^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$/.exec(line);
    if (!m) throw protocolError(this.host, 'a bad chunk size');
    const n = parseInt(m[1]!, 16);
    if (this.size + n > this.max) throw tooBig(this.host, this.size + n, this.max);
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
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    return { status: this.status, headers: this.headers, body };
  }
}
