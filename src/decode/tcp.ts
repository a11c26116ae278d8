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
  /** The first bytes were a TLS record: nothing more is kept. */
  tls?: boolean;
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

/** Rough memory of a connection's and a segment's bookkeeping (objects, not payload), counted as kept bytes. */
const CONN_COST = 2048;
const SEG_COST = 128;

const isTlsStart = (b: Buffer): boolean => b.length >= 3 && b[0] === 0x16 && b[1] === 0x03 && b[2]! <= 0x04;

/**
 * Groups TCP packets into connections as they are read (`add`), then reassembles both directions
 * of each (`finish`); `add` copies what it keeps. A connection whose first bytes are a TLS record
 * keeps only its first 16 bytes (enough to report it): its keys never travel, so the rest could
 * not be decoded anyway.
 */
export class TcpReassembler {
  private readonly open = new Map<string, Conn>();
  private all: Conn[] = [];

  /** Take one packet; answers roughly how many bytes that kept (payload and bookkeeping). Never throws. */
  add(p: IpPacket): number {
    let cost = 0;
    if (p.proto !== 'tcp' || p.seq === undefined || !p.flags) return 0;
    const src = `${p.src}:${p.sport}`;
    const dst = `${p.dst}:${p.dport}`;
    const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
    let c = this.open.get(key);
    const synOnly = p.flags.syn && !p.flags.ack;
    if (c && synOnly && (c.a.segs.length > 0 || c.b.segs.length > 0)) c = undefined; // port reused: a new connection
    if (!c) {
      c = { a: { ep: src, segs: [] }, b: { ep: dst, segs: [] }, aPort: p.sport, bPort: p.dport, start: p.time };
      this.open.set(key, c);
      this.all.push(c);
      cost += CONN_COST;
    }
    const who = c.a.ep === src ? 'a' : 'b';
    const side = c[who];
    if (p.flags.syn) {
      side.synSeq = p.seq;
      if (synOnly) c.opener = who;
    }
    if (!p.payload.length || c.tls) return cost;
    // A copy: the payload may be a view into the reader's window.
    let data: Buffer;
    if (side.segs.length === 0 && isTlsStart(p.payload) && (side.synSeq === undefined || p.seq === (side.synSeq + 1) >>> 0)) {
      c.tls = true;
      data = Buffer.from(p.payload.subarray(0, 16));
    } else data = Buffer.from(p.payload);
    side.segs.push({ seq: p.seq, data, time: p.time });
    c.firstSpeaker ??= who;
    return cost + SEG_COST + data.length;
  }

  /**
   * The connections, both directions reassembled, one at a time as they are asked for: each
   * connection's segments are let go as it is assembled, and the reassembler forgets it, so a
   * caller that drops a connection once decoded never holds all of them twice. Never throws.
   */
  *connections(): Generator<TcpConnection, void, undefined> {
    const all = this.all;
    this.all = [];
    this.open.clear();
    for (let i = 0; i < all.length; i++) {
      const c = all[i]!;
      all[i] = EMPTY;
      if (!c.a.segs.length && !c.b.segs.length) continue;
      let client: 'a' | 'b';
      if (c.opener) client = c.opener;
      else if (WELL_KNOWN.has(c.bPort) && !WELL_KNOWN.has(c.aPort)) client = 'a';
      else if (WELL_KNOWN.has(c.aPort) && !WELL_KNOWN.has(c.bPort)) client = 'b';
      else client = c.firstSpeaker ?? 'a';
      const server = client === 'a' ? 'b' : 'a';
      yield {
        client: c[client].ep,
        server: c[server].ep,
        serverPort: server === 'a' ? c.aPort : c.bPort,
        start: c.start,
        c2s: assemble(c[client]),
        s2c: assemble(c[server]),
      };
    }
  }

  /** All connections at once (see connections()). Never throws. */
  finish(): TcpConnection[] {
    return [...this.connections()];
  }
}

/** Stands in for a connection already handed out. */
const EMPTY: Conn = { a: { ep: '', segs: [] }, b: { ep: '', segs: [] }, aPort: 0, bPort: 0, start: 0 };

/** Group TCP packets into connections and reassemble both directions. Never throws. */
export function reassembleTcp(packets: readonly IpPacket[]): TcpConnection[] {
  const r = new TcpReassembler();
  for (const p of packets) r.add(p);
  return r.finish();
}
