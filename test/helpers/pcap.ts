// Writes libpcap files for the decode tests: synthesized Ethernet (or Linux cooked / raw IP)
// + IPv4 + TCP/UDP headers around real payloads, and a TCP relay on 127.0.0.1 that records the
// bytes our client and a simulated device exchange. No tcpdump, no root.
import * as net from 'node:net';

function ip4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

export interface SegmentSpec {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  seq: number;
  ack?: number;
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean; psh?: boolean };
  payload?: Buffer;
}

export class PcapWriter {
  private records: Buffer[] = [];
  private t = Date.now() * 1000; // µs, strictly increasing per record

  constructor(readonly linkType: 1 | 113 | 101 = 1) {}

  private ipPacket(src: string, dst: string, proto: number, l4: Buffer): Buffer {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + l4.length, 2);
    h.writeUInt16BE(0x4000, 6); // DF, no fragment
    h[8] = 64;
    h[9] = proto;
    ip4(src).copy(h, 12);
    ip4(dst).copy(h, 16);
    return Buffer.concat([h, l4]);
  }

  private frame(ip: Buffer): Buffer {
    if (this.linkType === 101) return ip;
    if (this.linkType === 113) {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0);
      h.writeUInt16BE(772, 2);
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(0x0800, 14);
      return Buffer.concat([h, ip]);
    }
    const h = Buffer.alloc(14);
    h.write('020000000001', 0, 'hex');
    h.write('020000000002', 6, 'hex');
    h.writeUInt16BE(0x0800, 12);
    return Buffer.concat([h, ip]);
  }

  private record(frame: Buffer): void {
    this.t += 1;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(this.t / 1e6), 0);
    h.writeUInt32LE(this.t % 1e6, 4);
    h.writeUInt32LE(frame.length, 8);
    h.writeUInt32LE(frame.length, 12);
    this.records.push(h, frame);
  }

  tcp(s: SegmentSpec): void {
    const payload = s.payload ?? Buffer.alloc(0);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(s.sport, 0);
    h.writeUInt16BE(s.dport, 2);
    h.writeUInt32BE(s.seq >>> 0, 4);
    h.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
    h[12] = 5 << 4;
    const f = s.flags ?? { ack: true, psh: payload.length > 0 };
    h[13] = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
    h.writeUInt16BE(65535, 14);
    this.record(this.frame(this.ipPacket(s.src, s.dst, 6, Buffer.concat([h, payload]))));
  }

  udp(src: string, sport: number, dst: string, dport: number, payload: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(sport, 0);
    h.writeUInt16BE(dport, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    this.record(this.frame(this.ipPacket(src, dst, 17, Buffer.concat([h, payload]))));
  }

  toBuffer(): Buffer {
    const g = Buffer.alloc(24);
    g.writeUInt32LE(0xa1b2c3d4, 0);
    g.writeUInt16LE(2, 4);
    g.writeUInt16LE(4, 6);
    g.writeUInt32LE(262144, 16);
    g.writeUInt32LE(this.linkType, 20);
    return Buffer.concat([g, ...this.records]);
  }
}

const MSS = 1460;

/** Record one TCP direction's bytes as segments of at most MSS bytes; returns the next seq. */
function segments(w: PcapWriter, src: string, sport: number, dst: string, dport: number, seq: number, data: Buffer): number {
  for (let o = 0; o < data.length; o += MSS) {
    const part = data.subarray(o, o + MSS);
    w.tcp({ src, sport, dst, dport, seq, payload: part });
    seq = (seq + part.length) >>> 0;
  }
  return seq;
}

export interface PcapRelay {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 (port 0) to `target`, recording every connection into `writer` as if
 * captured between the client and the target (three-way handshake, data, FIN).
 */
export async function startPcapRelay(target: { host: string; port: number }, writer: PcapWriter): Promise<PcapRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const cAddr = (client.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const cPort = client.remotePort ?? 1;
    let cSeq = (Math.random() * 0xffffffff) >>> 0;
    let sSeq = (Math.random() * 0xffffffff) >>> 0;
    writer.tcp({ src: cAddr, sport: cPort, dst: target.host, dport: target.port, seq: cSeq, flags: { syn: true } });
    writer.tcp({ src: target.host, sport: target.port, dst: cAddr, dport: cPort, seq: sSeq, ack: cSeq + 1, flags: { syn: true, ack: true } });
    cSeq = (cSeq + 1) >>> 0;
    sSeq = (sSeq + 1) >>> 0;
    writer.tcp({ src: cAddr, sport: cPort, dst: target.host, dport: target.port, seq: cSeq, ack: sSeq, flags: { ack: true } });
    const up = net.connect({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(up);
    client.on('data', (d: Buffer) => {
      cSeq = segments(writer, cAddr, cPort, target.host, target.port, cSeq, d);
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      sSeq = segments(writer, target.host, target.port, cAddr, cPort, sSeq, d);
      client.write(d);
    });
    let finished = false;
    const fin = (): void => {
      if (finished) return;
      finished = true;
      writer.tcp({ src: cAddr, sport: cPort, dst: target.host, dport: target.port, seq: cSeq, flags: { fin: true, ack: true } });
      writer.tcp({ src: target.host, sport: target.port, dst: cAddr, dport: cPort, seq: sSeq, flags: { fin: true, ack: true } });
    };
    const end = (): void => {
      fin();
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('close', end);
    up.on('close', end);
    client.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
