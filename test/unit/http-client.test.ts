// Our HTTP/1.1 client of the KLAP/AES/TPAP transports: the answer parser (http-reader.ts) fed
// whole, split at every byte and refused when malformed or too big, and the keep-alive client
// (http-client.ts) against raw TCP servers on 127.0.0.1 (connection reuse, queueing, retries,
// timeouts, close). Timeouts below are only the client's setting, never a measured duration.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { isConnectTimeout, KasaTapoError, type ErrorCode } from '../../src/errors';
import { HttpResponseReader, MAX_HEAD_BYTES, type HttpResponse } from '../../src/transports/http-reader';
import { HttpClient } from '../../src/transports/http-client';

const HOST = '127.0.0.1';
const TIMEOUT_MS = 300;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait for a condition driven by socket events (bounded, so a bug fails instead of hanging). */
async function until(cond: () => boolean, what: string, maxMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > maxMs) assert.fail(`never happened: ${what}`);
    await sleep(5);
  }
}

function codeOf(e: unknown): string {
  return e instanceof KasaTapoError ? e.code : `untyped ${String(e)}`;
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<KasaTapoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KasaTapoError, `untyped error: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, got an answer`);
}

function throwsCode(f: () => unknown, code: ErrorCode): KasaTapoError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KasaTapoError, `untyped error: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

const bin = (s: string): Buffer => Buffer.from(s, 'latin1');

/** An answer in a comparable shape (headers copied into a plain object). */
function shape(r: HttpResponse | undefined): { status: number; headers: Record<string, unknown>; body: string } | undefined {
  return r && { status: r.status, headers: { ...r.headers }, body: r.body.toString('latin1') };
}

/** Push `parts` in order; only the last may complete the answer. */
function feed(parts: Buffer[], max = 64 * 1024): { r: HttpResponse; reader: HttpResponseReader } {
  const reader = new HttpResponseReader(max, HOST);
  for (let i = 0; i < parts.length; i++) {
    const r = reader.push(parts[i]!);
    if (i === parts.length - 1) {
      assert.ok(r, 'no answer after the last byte');
      return { r, reader };
    }
    assert.equal(r, undefined, `an answer after part ${i + 1} of ${parts.length}`);
  }
  assert.fail('nothing to feed');
}

/** The same answer fed whole, one byte at a time, and split in two at every boundary. */
function everySplit(bytes: Buffer, max?: number): NonNullable<ReturnType<typeof shape>> {
  const whole = feed([bytes], max);
  const want = shape(whole.r)!;
  assert.equal(whole.reader.received, bytes.length);
  const ones = [...bytes].map((b) => Buffer.from([b]));
  assert.deepEqual(shape(feed(ones, max).r), want, 'one byte at a time');
  for (let i = 1; i < bytes.length; i++) {
    const { r, reader } = feed([bytes.subarray(0, i), bytes.subarray(i)], max);
    assert.deepEqual(shape(r), want, `split at ${i}`);
    assert.equal(reader.received, bytes.length);
    assert.equal(reader.keepAlive, whole.reader.keepAlive);
  }
  return want;
}

describe('HTTP answer reader (http-reader.ts)', () => {
  const withLength = bin(
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: TP_SESSIONID=AB12;TIMEOUT=1440\r\nX-Extra:  padded value \t\r\nContent-Length: 27\r\n\r\n{"error_code":0,"result":1}',
  );

  it('a Content-Length answer: the same whole, byte by byte and split at every boundary', () => {
    const got = everySplit(withLength);
    assert.deepEqual(got, {
      status: 200,
      headers: { 'content-type': 'application/json', 'set-cookie': ['TP_SESSIONID=AB12;TIMEOUT=1440'], 'x-extra': 'padded value', 'content-length': '27' },
      body: '{"error_code":0,"result":1}',
    });
    assert.equal(feed([withLength]).reader.keepAlive, true);
  });

  it('a chunked answer with chunk extensions and trailers: the same at every boundary', () => {
    const bytes = bin(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value\r\nhello\r\n' +
        '1 ; a=b;c="d"\r\n,\r\n' +
        '0000A\r\n world!!!!\r\n' +
        '0;last\r\nX-Trailer: 1\r\nAnother: two\r\n\r\n',
    );
    const got = everySplit(bytes);
    assert.equal(got.body, 'hello, world!!!!');
    assert.equal(got.status, 200);
    assert.equal(got.headers['x-trailer'], undefined, 'trailers are skipped, not merged into the headers');
  });

  it('Content-Length: 0 and 204 finish at the end of the head', () => {
    for (const text of ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n']) {
      const r = new HttpResponseReader(1000, HOST).push(bin(text));
      assert.ok(r, text);
      assert.equal(r.body.length, 0);
      assert.equal(r.status, text.includes('204') ? 204 : 200);
    }
  });

  it('100 Continue and 103 Early Hints before the real answer are skipped', () => {
    const bytes = bin(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    );
    const got = everySplit(bytes);
    assert.deepEqual(got, { status: 201, headers: { 'content-length': '2' }, body: 'ok' });
  });

  it('Transfer-Encoding other than chunked last: the body runs to the close (RFC 9112 §6.3)', () => {
    for (const te of ['gzip', 'chunked, gzip', 'identity']) {
      const reader = new HttpResponseReader(1000, HOST);
      assert.equal(reader.push(bin(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\nxx`)), undefined);
      assert.equal(reader.push(bin('yy')), undefined);
      assert.equal(reader.end().body.toString(), 'xxyy', te);
      assert.equal(reader.keepAlive, false);
    }
  });

  it('stray line ends before a status line are skipped (as node:http does), and after an answer keep the connection', () => {
    const got = everySplit(bin('\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    assert.equal(got.body, 'ok');
    const r = new HttpResponseReader(1000, HOST);
    assert.ok(r.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n')));
    assert.equal(r.keepAlive, true);
    assert.equal(r.push(bin('\r\n')), undefined);
    assert.equal(r.keepAlive, true);
  });

  it('a body that runs to the close is completed by end()', () => {
    const reader = new HttpResponseReader(1000, HOST);
    assert.equal(reader.push(bin('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ')), undefined);
    assert.equal(reader.push(bin('second')), undefined);
    const r = reader.end();
    assert.equal(r.body.toString(), 'first second');
    assert.equal(reader.keepAlive, false);
    // An empty body to the close is an answer too.
    const empty = new HttpResponseReader(1000, HOST);
    assert.equal(empty.push(bin('HTTP/1.0 200 OK\r\n\r\n')), undefined);
    assert.equal(empty.end().body.length, 0);
  });

  it('end() in the middle of a body, a chunk or a head is ECONNRESET', () => {
    const cases = [
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab',
      'HTTP/1.1 200 OK\r\nContent-Le',
      '',
    ];
    for (const text of cases) {
      const reader = new HttpResponseReader(1000, HOST);
      if (text) assert.equal(reader.push(bin(text)), undefined);
      throwsCode(() => reader.end(), 'ECONNRESET');
    }
  });

  it('repeated Set-Cookie gives an array; other repeats are joined, single-valued ones keep the first', () => {
    const r = feed([
      bin(
        'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Many: one\r\nset-cookie: b=2\r\nX-MANY: two\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nSET-COOKIE: c=3\r\nContent-Length: 0\r\n\r\n',
      ),
    ]).r;
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2', 'c=3']);
    assert.equal(r.headers['x-many'], 'one, two');
    assert.equal(r.headers['content-type'], 'a/b');
  });

  it('header names are lower-cased', () => {
    const r = feed([bin('HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 1\r\nX-MiXeD-CaSe: V\r\n\r\nz')]).r;
    assert.deepEqual(Object.keys(r.headers).sort(), ['content-length', 'x-mixed-case']);
    assert.equal(r.headers['x-mixed-case'], 'V');
  });

  it('headers named __proto__, constructor or prototype are plain values; Object.prototype stays clean', () => {
    const protoNames = Object.getOwnPropertyNames(Object.prototype).sort().join();
    const r = feed([
      bin(
        'HTTP/1.1 200 OK\r\n__proto__: {"polluted":1}\r\nConstructor: x\r\nprototype: y\r\n__PROTO__: again\r\nhasOwnProperty: 1\r\nContent-Length: 0\r\n\r\n',
      ),
    ]).r;
    const h = r.headers as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(h), null);
    assert.ok(Object.prototype.hasOwnProperty.call(h, '__proto__'));
    assert.equal(h['__proto__'], '{"polluted":1}, again');
    assert.equal(h['constructor'], 'x');
    assert.equal(h['prototype'], 'y');
    assert.equal(h['hasownproperty'], '1');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), protoNames);
    assert.equal(typeof Object.prototype.hasOwnProperty, 'function');
  });

  it('ETOOBIG for a lying Content-Length, at the head, before any body byte', () => {
    for (const len of ['1001', '4294967296', '99999999999999999999999']) {
      const reader = new HttpResponseReader(1000, HOST);
      throwsCode(() => reader.push(bin(`HTTP/1.1 200 OK\r\nContent-Length: ${len}\r\n\r\n`)), 'ETOOBIG');
    }
    // At the cap exactly is fine.
    const ok = new HttpResponseReader(1000, HOST);
    assert.equal(ok.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n')), undefined);
    assert.equal(ok.push(Buffer.alloc(1000))!.body.length, 1000);
  });

  it('ETOOBIG for a chunk size above the cap, before its data arrives', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    throwsCode(() => new HttpResponseReader(1000, HOST).push(bin(`${head}3E9\r\n`)), 'ETOOBIG');
    throwsCode(() => new HttpResponseReader(1000, HOST).push(bin(`${head}fffffffffffffff\r\n`)), 'ETOOBIG');
    // The sum of the chunks counts: 600 + 401 > 1000, refused at the second size line.
    const reader = new HttpResponseReader(1000, HOST);
    assert.equal(reader.push(Buffer.concat([bin(`${head}258\r\n`), Buffer.alloc(600, 0x61), bin('\r\n')])), undefined);
    throwsCode(() => reader.push(bin('191\r\n')), 'ETOOBIG');
  });

  it('ETOOBIG for a body to the close that passes the cap', () => {
    const reader = new HttpResponseReader(1000, HOST);
    assert.equal(reader.push(bin('HTTP/1.1 200 OK\r\n\r\n')), undefined);
    assert.equal(reader.push(Buffer.alloc(600)), undefined);
    assert.equal(reader.push(Buffer.alloc(400)), undefined);
    throwsCode(() => reader.push(Buffer.alloc(1)), 'ETOOBIG');
  });

  describe('EPROTOCOL', () => {
    const CL0 = 'Content-Length: 0\r\n';
    const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const cases: [string, string | Buffer][] = [
      ['no status line (a header first)', `${CL0}\r\n`],
      ['no status line (garbage)', 'garbage\r\n\r\n'],
      ['HTTP/2.0', `HTTP/2.0 200 OK\r\n${CL0}\r\n`],
      ['HTTP/2', `HTTP/2 200 OK\r\n${CL0}\r\n`],
      ['a status of four digits', `HTTP/1.1 2000 OK\r\n${CL0}\r\n`],
      ['a header line without a colon', `HTTP/1.1 200 OK\r\nX-No-Colon value\r\n${CL0}\r\n`],
      ['a header line starting with a colon', `HTTP/1.1 200 OK\r\n: value\r\n${CL0}\r\n`],
      ['a space before the colon', `HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n`],
      ['an obs-fold continuation line', `HTTP/1.1 200 OK\r\nX-A: one\r\n  two\r\n${CL0}\r\n`],
      ['an obs-fold line with a colon', `HTTP/1.1 200 OK\r\nX-A: one\r\n\tX-B: two\r\n${CL0}\r\n`],
      ['a control character in a value', `HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n${CL0}\r\n`],
      ['a NUL in a value', `HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n${CL0}\r\n`],
      ['a bare CR in a value', `HTTP/1.1 200 OK\r\nX-A: a\rb\r\n${CL0}\r\n`],
      ['a DEL in a value', `HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n${CL0}\r\n`],
      ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
      ['a list as Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello'],
      ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
      ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
      ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
      ['a bare LF ending the status line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'],
      ['bare LFs only', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n'],
      ['a bad chunk size (not hex)', `${CHUNKED}zz\r\n`],
      ['a bad chunk size (negative)', `${CHUNKED}-1\r\n`],
      ['a bad chunk size (empty)', `${CHUNKED}\r\n`],
      ['a bad chunk size (16 hex digits)', `${CHUNKED}0000000000000001\r\nx\r\n`],
      ['a chunk-size line over 1 KB', `${CHUNKED}1;${'x'.repeat(2000)}`],
      ['no CRLF after the chunk data', `${CHUNKED}5\r\nhelloXX0\r\n\r\n`],
      ['an LF only after the chunk data', `${CHUNKED}5\r\nhello\n0\r\n\r\n`],
      ['a head over 16 KB (never ended)', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`],
      ['a head over 16 KB (ended)', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n${CL0}\r\n`],
      ['trailers over 16 KB', `${CHUNKED}0\r\n${'X-T: 1\r\n'.repeat(MAX_HEAD_BYTES / 8 + 1)}\r\n`],
      ['a 101 protocol switch nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00'],
      ['a gzip-encoded body', `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n${CL0}\r\n`],
      ['more than 8 interim answers', `${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(9)}HTTP/1.1 200 OK\r\n${CL0}\r\n`],
    ];
    for (const [name, input] of cases) {
      it(name, () => {
        const bytes = typeof input === 'string' ? bin(input) : input;
        throwsCode(() => new HttpResponseReader(64 * 1024, HOST).push(bytes), 'EPROTOCOL');
        // And the same, one byte at a time: refused at some byte, never an answer (small inputs:
        // byte-wise feeding of a 16 KB head is quadratic by design of the test, not of the reader).
        if (bytes.length > 4096) return;
        const reader = new HttpResponseReader(64 * 1024, HOST);
        throwsCode(() => {
          for (const b of bytes) assert.equal(reader.push(Buffer.from([b])), undefined);
        }, 'EPROTOCOL');
      });
    }
  });

  it('keepAlive: false for Connection: close, HTTP/1.0 without keep-alive, and bytes after the answer', () => {
    const ka = (text: string): boolean => feed([bin(text)]).reader.keepAlive;
    assert.equal(ka('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), true);
    assert.equal(ka('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(ka('HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(ka('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(ka('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n'), true);
    // Bytes after a complete answer, in the same chunk...
    const same = new HttpResponseReader(1000, HOST);
    const r = same.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'));
    assert.equal(r?.body.toString(), 'ok');
    assert.equal(same.keepAlive, false);
    // ...or in a later one.
    const later = new HttpResponseReader(1000, HOST);
    assert.ok(later.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
    assert.equal(later.keepAlive, true);
    assert.equal(later.push(bin('x')), undefined);
    assert.equal(later.keepAlive, false);
  });
});

// --- the client against raw TCP servers ----------------------------------------------------------

interface Req {
  /** 1-based connection number (server 'connection' events). */
  conn: number;
  head: string;
  body: Buffer;
  raw: Buffer;
  sock: net.Socket;
}

/** A raw TCP server on 127.0.0.1 (or ::1) that splits what it reads into requests (Content-Length bodies). */
class RawServer {
  readonly server = net.createServer((s) => this.accept(s));
  readonly sockets = new Set<net.Socket>();
  readonly requests: Req[] = [];
  /** Sockets closed (by either side), in order. */
  closed = 0;
  connections = 0;
  port = 0;
  onRequest: (req: Req) => void = (req) => reply(req.sock, 200, req.body);
  onConnection: (s: net.Socket, n: number) => void = () => undefined;

  async listen(host = HOST): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  private accept(s: net.Socket): void {
    const n = ++this.connections;
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      this.sockets.delete(s);
      this.closed++;
    });
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const raw = buf.subarray(0, end + 4 + len);
        buf = buf.subarray(raw.length);
        const req = { conn: n, head, body: raw.subarray(end + 4), raw, sock: s };
        this.requests.push(req);
        this.onRequest(req);
      }
    });
    this.onConnection(s, n);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function answer(status: number, body: Buffer | string, extra = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([bin(`HTTP/1.1 ${status} X\r\n${extra}Content-Length: ${b.length}\r\n\r\n`), b]);
}

function reply(s: net.Socket, status: number, body: Buffer | string, extra = ''): void {
  if (!s.destroyed) s.write(answer(status, body, extra));
}

describe('HTTP client (http-client.ts) against raw servers on loopback', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  async function rig(host = HOST, timeoutMs = TIMEOUT_MS, max = 64 * 1024): Promise<{ srv: RawServer; client: HttpClient }> {
    const srv = await new RawServer().listen(host);
    open.push(srv);
    const client = new HttpClient(host, srv.port, timeoutMs, max);
    open.push(client);
    return { srv, client };
  }

  it('20 sequential posts use one TCP connection; the request bytes are exact', async () => {
    const { srv, client } = await rig();
    for (let i = 0; i < 20; i++) {
      const body = Buffer.from(`payload ${i}`);
      const r = await client.post(`/app/request?seq=${i}`, body, { 'Content-Type': 'application/octet-stream', Cookie: 'TP_SESSIONID=AB12' });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `payload ${i}`);
      // node:http's order (devices were validated against it): ours, then Content-Length, Host, Connection.
      const want =
        `POST /app/request?seq=${i} HTTP/1.1\r\nContent-Type: application/octet-stream\r\nCookie: TP_SESSIONID=AB12\r\n` +
        `Content-Length: ${body.length}\r\nHost: ${HOST}:${srv.port}\r\nConnection: keep-alive\r\n\r\npayload ${i}`;
      assert.equal(srv.requests[i]!.raw.toString('latin1'), want);
    }
    assert.equal(srv.connections, 1);
    assert.equal(srv.requests.length, 20);
  });

  it('an answer with Connection: close → the next post opens a new connection and succeeds', async () => {
    const { srv, client } = await rig();
    srv.onRequest = (req) => reply(req.sock, 200, `answer ${srv.requests.length}`, req.conn === 1 ? 'Connection: close\r\n' : '');
    assert.equal((await client.post('/a', bin('1'))).body.toString(), 'answer 1');
    assert.equal((await client.post('/a', bin('2'))).body.toString(), 'answer 2');
    assert.equal((await client.post('/a', bin('3'))).body.toString(), 'answer 3');
    assert.deepEqual(
      srv.requests.map((r) => r.conn),
      [1, 2, 2],
    );
  });

  it('the server closes an idle kept-alive connection → the next post succeeds on a new one', async () => {
    const { srv, client } = await rig();
    srv.onRequest = (req) => {
      reply(req.sock, 200, 'first');
      if (req.conn === 1) req.sock.end();
    };
    assert.equal((await client.post('/a', bin('x'))).body.toString(), 'first');
    await until(() => srv.closed === 1, 'the first connection closed');
    assert.equal((await client.post('/a', bin('y'))).body.toString(), 'first');
    assert.equal(srv.connections, 2);
  });

  it('a reused connection that dies before answering: ECONNRESET, not resent (one sequence number reaches the device once)', async () => {
    const { srv, client } = await rig();
    // The race of a device closing an idle connection while our next request is on its way. The
    // protocol layer retries with fresh encryption (retry.ts); the client never sends the same bytes twice.
    srv.onRequest = (req) => {
      if (req.conn === 1 && srv.requests.length === 2) req.sock.destroy();
      else reply(req.sock, 200, `answer on ${req.conn}`);
    };
    assert.equal((await client.post('/a', bin('1'))).body.toString(), 'answer on 1');
    await expectCode(client.post('/a', bin('2')), 'ECONNRESET');
    assert.equal((await client.post('/a', bin('3'))).body.toString(), 'answer on 2');
    assert.deepEqual(
      srv.requests.map((r) => [r.conn, r.body.toString()]),
      [
        [1, '1'],
        [1, '2'],
        [2, '3'],
      ],
    );
  });

  it('a server closing every connection unanswered: ECONNRESET on one connection each time, no loop', async () => {
    const { srv, client } = await rig();
    srv.onRequest = (req) => req.sock.destroy();
    await expectCode(client.post('/a', bin('fresh')), 'ECONNRESET');
    assert.equal(srv.connections, 1);

    srv.onRequest = (req) => reply(req.sock, 200, 'ok');
    assert.equal((await client.post('/a', bin('one'))).body.toString(), 'ok');
    const before = srv.connections;
    srv.onRequest = (req) => req.sock.destroy();
    await expectCode(client.post('/a', bin('reused')), 'ECONNRESET');
    await sleep(100);
    assert.equal(srv.connections, before, 'no further attempts');
    assert.deepEqual(
      srv.requests.map((r) => r.body.toString()),
      ['fresh', 'one', 'reused'],
    );
  });

  it('5 concurrent posts are sent one at a time, in order, each resolved with its own answer', async () => {
    const { srv, client } = await rig(HOST, 2000);
    let inFlight = 0;
    const overlaps: string[] = [];
    srv.onRequest = (req) => {
      if (inFlight) overlaps.push(req.body.toString());
      inFlight++;
      setTimeout(() => {
        inFlight--;
        reply(req.sock, 200, `answer to ${req.body.toString()}`);
      }, 15);
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => client.post('/a', bin(`req ${i}`))));
    assert.deepEqual(
      results.map((r) => r.body.toString()),
      [0, 1, 2, 3, 4].map((i) => `answer to req ${i}`),
    );
    assert.deepEqual(overlaps, [], 'a request arrived before the previous one was answered');
    assert.deepEqual(
      srv.requests.map((r) => r.body.toString()),
      [0, 1, 2, 3, 4].map((i) => `req ${i}`),
    );
    assert.equal(srv.connections, 1);
  });

  it('a queued request whose timeout passes while waiting fails ETIMEDOUT; later ones work', async () => {
    const { srv, client } = await rig();
    // The first connection never answers: the first request times out in flight, the second
    // (same deadline) while it waits behind it.
    srv.onRequest = (req) => {
      if (req.conn !== 1) reply(req.sock, 200, `answer to ${req.body.toString()}`);
    };
    const first = client.post('/a', bin('first'));
    const queued = client.post('/a', bin('queued'));
    const [e1, e2] = await Promise.all([expectCode(first, 'ETIMEDOUT'), expectCode(queued, 'ETIMEDOUT')]);
    assert.equal(isConnectTimeout(e1), false, 'the first request was connected');
    // It waited behind another request, so it never had its own time to connect: never a connect
    // timeout (which would take a pooled device offline at once).
    assert.equal(isConnectTimeout(e2), false, 'a queued request is not a connect timeout');
    const later = await Promise.all([client.post('/a', bin('third')), client.post('/a', bin('fourth'))]);
    assert.deepEqual(
      later.map((r) => r.body.toString()),
      ['answer to third', 'answer to fourth'],
    );
  });

  it('ETIMEDOUT when the server never answers; the connection is dropped and a late answer is not taken', async () => {
    const { srv, client } = await rig();
    let held: Req | undefined;
    srv.onRequest = (req) => {
      if (!held) held = req;
      else reply(req.sock, 200, 'fresh answer');
    };
    const e = await expectCode(client.post('/a', bin('slow')), 'ETIMEDOUT');
    assert.equal(isConnectTimeout(e), false);
    // The client dropped that connection: the server sees it close.
    await until(() => srv.closed === 1, 'the timed-out connection closed');
    reply(held!.sock, 200, 'late answer');
    const r = await client.post('/a', bin('next'));
    assert.equal(r.body.toString(), 'fresh answer');
    assert.deepEqual(
      srv.requests.map((q) => q.conn),
      [1, 2],
    );
  });

  it('a refused connection is ECONNREFUSED', async () => {
    const probe = await new RawServer().listen();
    const port = probe.port;
    await probe.close();
    const client = new HttpClient(HOST, port, TIMEOUT_MS);
    open.push(client);
    await expectCode(client.post('/a', bin('x')), 'ECONNREFUSED');
  });

  it('CR, LF, NUL, a space or a character beyond Latin-1 in the head → EPROTOCOL, nothing sent', async () => {
    const { srv, client } = await rig();
    await expectCode(client.post('/a', bin('x'), { 'X-A': 'a\r\nInjected: 1' }), 'EPROTOCOL');
    await expectCode(client.post('/a', bin('x'), { 'X-A': 'a\nb' }), 'EPROTOCOL');
    await expectCode(client.post('/a', bin('x'), { 'X-A': 'a\0b' }), 'EPROTOCOL');
    await expectCode(client.post('/a', bin('x'), { 'X-\r\nA': 'b' }), 'EPROTOCOL');
    await expectCode(client.post('/a HTTP/1.1\r\nX: y\r\n', bin('x')), 'EPROTOCOL');
    // Latin-1 keeps the low byte: U+010D U+010A would go out as CR LF.
    await expectCode(client.post('/a?token=x\u010d\u010aX: y', bin('x')), 'EPROTOCOL');
    await expectCode(client.post('/a', bin('x'), { 'X-A': 'a\u010d\u010ab' }), 'EPROTOCOL');
    await expectCode(client.post('/a?token=a b', bin('x')), 'EPROTOCOL');
    await sleep(20);
    assert.equal(srv.connections, 0, 'a connection was opened');
    // The client is still usable, and what it sends next is clean.
    await client.post('/a', bin('ok'), { 'X-A': 'fine' });
    assert.equal(srv.requests.length, 1);
    assert.doesNotMatch(srv.requests[0]!.raw.toString('latin1'), /Injected|X: y/);
  });

  it('a frozen headers object is checked once and reused; an unfrozen one is read afresh on every post', async () => {
    const { srv, client } = await rig();
    const frozen = Object.freeze({ 'Content-Type': 'application/json', Cookie: 'TP_SESSIONID=A' });
    await client.post('/a', bin('1'), frozen);
    await client.post('/a', bin('2'), frozen);
    const open = { 'X-A': 'one' };
    await client.post('/a', bin('3'), open);
    open['X-A'] = 'two';
    await client.post('/a', bin('4'), open);
    // A bad value in an unfrozen object changed after a good post is still refused.
    open['X-A'] = 'a\r\nInjected: 1';
    await expectCode(client.post('/a', bin('5'), open), 'EPROTOCOL');
    const heads = srv.requests.map((r) => r.raw.toString('latin1').split('\r\n\r\n')[0]!);
    assert.equal(heads.length, 4);
    assert.match(heads[0]!, /^POST \/a HTTP\/1\.1\r\nContent-Type: application\/json\r\nCookie: TP_SESSIONID=A\r\nContent-Length: 1\r\n/);
    assert.equal(heads[1], heads[0]);
    assert.match(heads[2]!, /\r\nX-A: one\r\n/);
    assert.match(heads[3]!, /\r\nX-A: two\r\n/);
  });

  it('a frozen headers object with a getter is read afresh on every post, and checked', async () => {
    const { srv, client } = await rig();
    let cookie = 'TP_SESSIONID=A';
    const tricky = Object.freeze({
      get Cookie(): string {
        return cookie;
      },
    });
    await client.post('/a', bin('1'), tricky);
    cookie = 'TP_SESSIONID=B';
    await client.post('/a', bin('2'), tricky);
    cookie = 'x\r\nInjected: 1';
    await expectCode(client.post('/a', bin('3'), tricky), 'EPROTOCOL');
    const heads = srv.requests.map((r) => r.raw.toString('latin1'));
    assert.equal(heads.length, 2);
    assert.match(heads[0]!, /\r\nCookie: TP_SESSIONID=A\r\n/);
    assert.match(heads[1]!, /\r\nCookie: TP_SESSIONID=B\r\n/);
  });

  it('close() rejects an in-flight and a queued post with ECLOSED, later posts too, and leaves no socket or timer', async () => {
    const count = (): Record<string, number> => {
      const c: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) if (/TCP|Timeout/.test(r)) c[r] = (c[r] ?? 0) + 1;
      return c;
    };
    const srv = await new RawServer().listen();
    open.push(srv);
    srv.onRequest = () => undefined; // never answers
    await sleep(20);
    const before = count();
    const client = new HttpClient(HOST, srv.port, 5000);
    const inFlight = client.post('/a', bin('1'));
    const queued = client.post('/a', bin('2'));
    await until(() => srv.requests.length === 1, 'the first request arrived');
    client.close();
    await Promise.all([expectCode(inFlight, 'ECLOSED'), expectCode(queued, 'ECLOSED')]);
    await expectCode(client.post('/a', bin('3')), 'ECLOSED');
    await until(() => srv.closed === 1, 'the server saw the connection close');
    let after = count();
    for (let i = 0; i < 40 && JSON.stringify(after) !== JSON.stringify(before); i++) {
      await sleep(25);
      after = count();
    }
    assert.deepEqual(after, before);
    assert.equal(srv.requests.length, 1, 'the queued request was never sent');
    // close() again is harmless.
    client.close();
  });

  it('an answer written one byte at a time (Content-Length and chunked)', async () => {
    const { srv, client } = await rig(HOST, 5000);
    srv.onRequest = (req) => {
      const bytes =
        req.body.toString() === 'chunked'
          ? bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n')
          : answer(200, 'byte by byte', 'Set-Cookie: TP_SESSIONID=Z\r\n');
      void (async () => {
        for (const b of bytes) {
          if (req.sock.destroyed) return;
          req.sock.write(Buffer.from([b]));
          await new Promise((r) => setImmediate(r));
        }
      })();
    };
    const r = await client.post('/a', bin('length'));
    assert.equal(r.body.toString(), 'byte by byte');
    assert.deepEqual(r.headers['set-cookie'], ['TP_SESSIONID=Z']);
    assert.equal((await client.post('/a', bin('chunked'))).body.toString(), 'abcde');
    assert.equal(srv.connections, 1);
  });

  it('data from the server with no request in flight kills that connection; the next post uses a new one', async () => {
    const { srv, client } = await rig();
    srv.onRequest = (req) => {
      reply(req.sock, 200, `answer on ${req.conn}`);
      if (req.conn === 1) setTimeout(() => req.sock.write(answer(200, 'nobody asked')), 20);
    };
    assert.equal((await client.post('/a', bin('1'))).body.toString(), 'answer on 1');
    await until(() => srv.closed === 1, 'the client dropped the connection');
    assert.equal((await client.post('/a', bin('2'))).body.toString(), 'answer on 2');
    assert.equal(srv.connections, 2);
  });

  it('the Host header leaves out port 80, as node:http does', () => {
    const hostOf = (host: string, port: number): string => (new HttpClient(host, port) as unknown as { hostHeader: string }).hostHeader;
    assert.equal(hostOf('127.0.0.2', 80), '127.0.0.2');
    assert.equal(hostOf('127.0.0.2', 8080), '127.0.0.2:8080');
    assert.equal(hostOf('::1', 80), '[::1]');
  });

  it('an invalid port is EBADINPUT at post(), never a throw from a timer', async () => {
    const client = new HttpClient(HOST, 70000, TIMEOUT_MS);
    open.push(client);
    await Promise.all([expectCode(client.post('/a', bin('1')), 'EBADINPUT'), expectCode(client.post('/a', bin('2')), 'EBADINPUT')]);
  });

  it('IPv6 ::1: the Host header is [::1]:port', async function () {
    const srv = new RawServer();
    try {
      await srv.listen('::1');
    } catch {
      this.skip();
    }
    open.push(srv);
    const client = new HttpClient('::1', srv.port, TIMEOUT_MS);
    open.push(client);
    const r = await client.post('/app', bin('v6'));
    assert.equal(r.body.toString(), 'v6');
    assert.match(srv.requests[0]!.head, new RegExp(`\r\nHost: \\[::1\\]:${srv.port}\r\n`));
  });

  it('every failure is typed (no untyped error escapes post())', async () => {
    const { srv, client } = await rig();
    srv.onRequest = (req) => req.sock.end(bin('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort'));
    try {
      await client.post('/a', bin('x'));
      assert.fail('answered');
    } catch (e) {
      assert.equal(codeOf(e), 'ECONNRESET');
    }
  });
});
