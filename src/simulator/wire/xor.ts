/**
 * Simulated Kasa XOR device on TCP. No handshake (each accepted connection counts as one) and no
 * secret: requests and answers are autokey-XOR (key 171) obfuscated JSON behind a 4-byte big-endian
 * length prefix (crypto/xor.ts). Requests on one connection are answered in order.
 * faults.expireSessionEvery closes the connection after that many answers (a device dropping idle
 * connections); lyingLength sends the prefix 0x7fffffff and closes; garbage sends a correctly
 * prefixed frame of random bytes; truncate sends half a frame and closes; unreachable answers nothing
 * (common.ts holds the port with a blackhole).
 */
import * as net from 'node:net';
import { xorDecrypt, xorFrame } from '../../crypto/xor';
import type { WireServer, WireServerOptions } from '../types';
import { MAX_REQUEST_BYTES, WireCore, garbageBytes } from './common';

/** Start an XOR device endpoint. Rejects with the listen error, or EBADINPUT for a non-loopback host. */
export async function startXorServer(opts: WireServerOptions): Promise<WireServer> {
  const server = net.createServer();
  const core = new WireCore(server, opts, false);

  server.on('connection', (sock: net.Socket) => {
    if (!core.accept(sock)) return;
    core.stats.handshakes++;
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let queue = Promise.resolve();
    let answered = 0;
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > MAX_REQUEST_BYTES) return void sock.destroy();
        if (buf.length < 4 + len) return;
        const text = xorDecrypt(buf.subarray(4, 4 + len)).toString('utf8');
        buf = buf.subarray(4 + len);
        queue = queue.then(() => serve(text));
      }
    });

    async function serve(text: string): Promise<void> {
      if (sock.destroyed || sock.writableEnded) return;
      const f = core.faults;
      core.enter();
      try {
        await core.delay(f.latencyMs);
        // Unreachable: no answer at all; the client's timeout ends the exchange.
        if (core.shut || sock.destroyed || sock.writableEnded || core.silent()) return;
        if (f.dropConnection) return void sock.destroy();
        if (f.lyingLength) {
          const b = Buffer.alloc(12);
          b.writeUInt32BE(0x7fffffff, 0);
          return void sock.end(b);
        }
        if (f.garbage) {
          const g = garbageBytes();
          const head = Buffer.alloc(4);
          head.writeUInt32BE(g.length, 0);
          return void sock.write(Buffer.concat([head, g]));
        }
        const frame = xorFrame(await core.answer(text));
        if (sock.destroyed || sock.writableEnded) return;
        if (f.truncate) return void sock.end(frame.subarray(0, frame.length >> 1));
        sock.write(frame);
        answered++;
        if (f.expireSessionEvery && answered >= f.expireSessionEvery) sock.end();
      } catch {
        sock.destroy();
      } finally {
        core.leave();
      }
    }
  });

  await core.start();
  return core.face(() => core.dropConnections());
}
