/**
 * A libpcap file reader: the classic format (microsecond or nanosecond, either byte order; not
 * pcapng) with Ethernet (and 802.1Q VLAN), Linux cooked (SLL, SLL2), BSD loopback and raw IPv4
 * links, down to IPv4 TCP segments and UDP datagrams. IPv6 and IP fragments are counted, not
 * decoded. Every length is checked against the bytes present: a damaged file ends in a typed
 * error or a skipped record, never a crash. A file is read a window at a time (fileReader), so a
 * capture never has to fit in memory as a whole.
 */
import * as fs from 'node:fs';
import { KasaTapoError } from '../errors';

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, LINUX_SLL2: 276 } as const;

export interface IpPacket {
  /** Epoch seconds (fractional). */
  time: number;
  /** Record number, from 1. */
  frame: number;
  src: string;
  dst: string;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  /** From scanPcap: a view into the record, valid during the onPacket call only (copy what you keep). */
  payload: Buffer;
  /** TCP only. */
  seq?: number;
  flags?: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
}

export interface PcapContents {
  linkType: number;
  packets: IpPacket[];
  /** Records not decoded, by reason (e.g. "IPv6", "IP fragment", "truncated"). */
  skipped: Record<string, number>;
}

const MAX_RECORDS = 2_000_000;

/** Parse an IPv4 packet into a TCP/UDP packet (its payload a view into `ip`), or a reason to skip it. */
export function parseIpv4(ip: Buffer, time: number, frame: number): IpPacket | string {
  if (ip.length < 20 || ip[0]! >> 4 !== 4) return 'not IPv4';
  const ihl = (ip[0]! & 0x0f) * 4;
  const total = Math.min(ip.readUInt16BE(2) || ip.length, ip.length);
  if (ihl < 20 || total < ihl) return 'truncated';
  const frag = ip.readUInt16BE(6);
  if ((frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0) return 'IP fragment';
  const proto = ip[9];
  const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
  const l4 = ip.subarray(ihl, total);
  if (proto === 6) {
    if (l4.length < 20) return 'truncated';
    const off = (l4[12]! >> 4) * 4;
    if (off < 20 || off > l4.length) return 'truncated';
    const f = l4[13]!;
    return {
      time,
      frame,
      src,
      dst,
      proto: 'tcp',
      sport: l4.readUInt16BE(0),
      dport: l4.readUInt16BE(2),
      seq: l4.readUInt32BE(4),
      flags: { fin: (f & 1) !== 0, syn: (f & 2) !== 0, rst: (f & 4) !== 0, ack: (f & 16) !== 0 },
      payload: l4.subarray(off),
    };
  }
  if (proto === 17) {
    if (l4.length < 8) return 'truncated';
    const len = Math.min(l4.readUInt16BE(4), l4.length);
    return {
      time,
      frame,
      src,
      dst,
      proto: 'udp',
      sport: l4.readUInt16BE(0),
      dport: l4.readUInt16BE(2),
      payload: l4.subarray(8, Math.max(8, len)),
    };
  }
  return 'not TCP/UDP';
}

/** The IP packet inside a link-layer frame, or a reason to skip it. */
function ipOf(linkType: number, frame: Buffer, littleEndian: boolean): Buffer | string {
  let etherType: number;
  let off: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      if (frame.length < 14) return 'truncated';
      etherType = frame.readUInt16BE(12);
      off = 14;
      while ((etherType === 0x8100 || etherType === 0x88a8) && frame.length >= off + 4) {
        etherType = frame.readUInt16BE(off + 2);
        off += 4;
      }
      break;
    case LINKTYPE.LINUX_SLL:
      if (frame.length < 16) return 'truncated';
      etherType = frame.readUInt16BE(14);
      off = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (frame.length < 20) return 'truncated';
      etherType = frame.readUInt16BE(0);
      off = 20;
      break;
    case LINKTYPE.NULL: {
      if (frame.length < 4) return 'truncated';
      const fam = littleEndian ? frame.readUInt32LE(0) : frame.readUInt32BE(0);
      if (fam !== 2) return 'IPv6';
      return frame.subarray(4);
    }
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case 12:
    case 14:
      if (frame.length > 0 && frame[0]! >> 4 === 6) return 'IPv6';
      return frame;
    default:
      return `link type ${linkType}`;
  }
  if (etherType === 0x86dd) return 'IPv6';
  if (etherType !== 0x0800) return 'not IP';
  return frame.subarray(off);
}

/**
 * The bytes at [pos, pos + len) of a capture (fewer at its end). The answer may be a view that is
 * valid only until the next call: whatever is kept must be copied.
 */
export type ByteReader = (pos: number, len: number) => Buffer;

/** A ByteReader over a Buffer. */
export const bufferReader =
  (buf: Buffer): ByteReader =>
  (pos, len) =>
    buf.subarray(pos, pos + len);

const WINDOW = 1 << 20;

/** A ByteReader over an open file: reads it a window (1 MB) at a time, never all of it. */
export function fileReader(fd: number): ByteReader {
  let win = Buffer.alloc(WINDOW);
  let start = 0;
  let end = 0;
  return (pos, len) => {
    if (pos >= start && pos + len <= end) return win.subarray(pos - start, pos - start + len);
    if (len > win.length) win = Buffer.alloc(len);
    let n = 0;
    for (let i = 0; i < 1000 && n < win.length; i++) {
      const r = fs.readSync(fd, win, n, win.length - n, pos + n);
      if (r === 0) break;
      n += r;
    }
    start = pos;
    end = pos + n;
    return win.subarray(0, Math.min(len, n));
  };
}

/** Largest record read: libpcap's largest snap length is 262144; a bigger record is damage. */
const MAX_RECORD = 1 << 20;

export interface PcapScan {
  linkType: number;
  /** Records not decoded, by reason (e.g. "IPv6", "IP fragment", "truncated"). */
  skipped: Record<string, number>;
  /** TCP and UDP packets handed to onPacket. */
  packets: number;
}

/**
 * Read a pcap capture of `size` bytes record by record, handing each TCP and UDP packet to
 * `onPacket` as it is read (nothing is kept here; the packet's payload is a view, valid only
 * during the call). Throws KasaTapoError EBADINPUT (not a pcap
 * file, pcapng, an unsupported link type) or ETOOBIG (too many records), and whatever `onPacket`
 * throws.
 */
export function scanPcap(read: ByteReader, size: number, onPacket: (p: IpPacket) => void): PcapScan {
  const head = read(0, 24);
  if (head.length < 24) throw new KasaTapoError('EBADINPUT', 'Not a pcap file (shorter than its header)');
  const magicBE = head.readUInt32BE(0);
  if (magicBE === 0x0a0d0d0a)
    throw new KasaTapoError(
      'EBADINPUT',
      'This is a pcapng file; save it as pcap first (Wireshark: File > Save As > pcap, or `editcap -F pcap in.pcapng out.pcap`)',
    );
  let le: boolean;
  let nano: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    le = false;
    nano = magicBE === 0xa1b23c4d;
  } else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) {
    le = true;
    nano = magicBE === 0x4d3cb2a1;
  } else throw new KasaTapoError('EBADINPUT', 'Not a pcap file (unknown magic number)');
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(head, 20) & 0x0fffffff;
  if (![0, 1, 12, 14, 101, 113, 228, 276].includes(linkType)) {
    throw new KasaTapoError('EBADINPUT', `Link type ${linkType} is not supported (Ethernet, Linux cooked, loopback and raw IP are)`);
  }
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  let packets = 0;
  let off = 24;
  let frame = 0;
  while (off + 16 <= size) {
    if (++frame > MAX_RECORDS) throw new KasaTapoError('ETOOBIG', `The capture has more than ${MAX_RECORDS} records`);
    const rh = read(off, 16);
    if (rh.length < 16) break;
    const sec = u32(rh, 0);
    const frac = u32(rh, 4);
    const incl = u32(rh, 8);
    off += 16;
    if (incl > size - off) {
      skip('truncated');
      break;
    }
    if (incl > MAX_RECORD) {
      skip('oversized record');
      off += incl;
      continue;
    }
    const data = read(off, incl);
    off += incl;
    if (data.length < incl) {
      skip('truncated');
      break;
    }
    const time = sec + frac / (nano ? 1e9 : 1e6);
    const ip = ipOf(linkType, data, le);
    if (typeof ip === 'string') {
      skip(ip);
      continue;
    }
    const p = parseIpv4(ip, time, frame);
    if (typeof p === 'string') skip(p);
    else {
      packets++;
      onPacket(p);
    }
  }
  return { linkType, skipped, packets };
}

/**
 * Read a pcap file's TCP and UDP packets. Throws KasaTapoError EBADINPUT (not a pcap file, pcapng,
 * an unsupported link type) or ETOOBIG (too many records).
 */
export function readPcap(buf: Buffer): PcapContents {
  const packets: IpPacket[] = [];
  const { linkType, skipped } = scanPcap(bufferReader(buf), buf.length, (p) => void packets.push({ ...p, payload: Buffer.from(p.payload) }));
  return { linkType, packets, skipped };
}
