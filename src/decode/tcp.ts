/**
 * TCP stream reassembly for decoding captures: packets grouped into connections (a SYN starts a
 * new one), each direction put back in sequence order, retransmissions and overlaps dropped. A gap
 * (a segment the capture lost) ends that direction's usable bytes; it is reported, not guessed.
 */
import type { IpPacket } from './pcap';

export interface TcpDirection {
  data: Buffer;
  /** True when a lost segment cut the stream short. */
  gap: boolean;
  /** Capture time of the segment holding byte `offset`. */
  timeAt(offset: number): number;
}

export interface TcpConnection {
  /** 'ip:port' of the side that opened the connection (or that spoke first). */
  client: string;
  server: string;
  serverPort: number;
  start: number;
  c2s: TcpDirection;
  s2c: TcpDirection;
}

const WELL_KNOWN = new Set([9999, 80, 443, 4433, 20002]);
const MAX_STREAM = 64 << 20;

interface Side {
  ep: string;
  synSeq?: number;
  segs: { seq: number; data: Buffer; time: number }[];
}

interface Conn {
  a: Side;
  b: Side;
  aPort: number;
  bPort: number;
  opener?: 'a' | 'b';
  firstSpeaker?: 'a' | 'b';
  start: number;
}

function assemble(side: Side): TcpDirection {
  const segs = side.segs;
  const chunks: Buffer[] = [];
  const marks: { off: number; time: number }[] = [];
  let gap = false;
  if (segs.length) {
    let base: number;
    if (side.synSeq !== undefined) base = (side.synSeq + 1) >>> 0;
    else {
      base = segs[0]!.seq;
      for (const s of segs) if (((s.seq - base) | 0) < 0) base = s.seq;
    }
    const rel = segs.map((s) => ({ off: (s.seq - base) | 0, data: s.data, time: s.time })).sort((x, y) => x.off - y.off);
    let pos = 0;
    for (const s of rel) {
      const end = s.off + s.data.length;
      if (end <= pos) continue;
      if (s.off > pos) {
        gap = true;
        break;
      }
      if (pos + (end - pos) > MAX_STREAM) {
        gap = true;
        break;
      }
      marks.push({ off: pos, time: s.time });
      chunks.push(s.data.subarray(pos - s.off));
      pos = end;
    }
  }
  const data = Buffer.concat(chunks);
  return {
    data,
    gap,
    timeAt(offset: number): number {
      let lo = 0;
      let hi = marks.length - 1;
      let best = marks[0]?.time ?? 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (marks[mid]!.off <= offset) {
          best = marks[mid]!.time;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return best;
    },
  };
}

/** Group TCP packets into connections and reassemble both directions. Never throws. */
export function reassembleTcp(packets: readonly IpPacket[]): TcpConnection[] {
  const open = new Map<string, Conn>();
  const all: Conn[] = [];
  for (const p of packets) {
    if (p.proto !== 'tcp' || p.seq === undefined || !p.flags) continue;
    const src = `${p.src}:${p.sport}`;
    const dst = `${p.dst}:${p.dport}`;
    const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
    let c = open.get(key);
    const synOnly = p.flags.syn && !p.flags.ack;
    if (c && synOnly && (c.a.segs.length > 0 || c.b.segs.length > 0)) c = undefined; // port reused: a new connection
    if (!c) {
      c = { a: { ep: src, segs: [] }, b: { ep: dst, segs: [] }, aPort: p.sport, bPort: p.dport, start: p.time };
      open.set(key, c);
      all.push(c);
    }
    const who = c.a.ep === src ? 'a' : 'b';
    const side = c[who];
    if (p.flags.syn) {
      side.synSeq = p.seq;
      if (synOnly) c.opener = who;
    }
    if (p.payload.length) {
      side.segs.push({ seq: p.seq, data: p.payload, time: p.time });
      c.firstSpeaker ??= who;
    }
  }
  return all
    .filter((c) => c.a.segs.length || c.b.segs.length)
    .map((c) => {
      let client: 'a' | 'b';
      if (c.opener) client = c.opener;
      else if (WELL_KNOWN.has(c.bPort) && !WELL_KNOWN.has(c.aPort)) client = 'a';
      else if (WELL_KNOWN.has(c.aPort) && !WELL_KNOWN.has(c.bPort)) client = 'b';
      else client = c.firstSpeaker ?? 'a';
      const server = client === 'a' ? 'b' : 'a';
      return {
        client: c[client].ep,
        server: c[server].ep,
        serverPort: server === 'a' ? c.aPort : c.bPort,
        start: c.start,
        c2s: assemble(c[client]),
        s2c: assemble(c[server]),
      };
    });
}
