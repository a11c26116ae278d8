/**
 * Bench section "discovery": time to find 250 simulated devices (⅓ each XOR,
 * KLAP v2, AES, each on its own 127.235.0.x address) by broadcast to 127.255.255.255, through the
 * library's discover(), next to a minimal client in the same run: one socket (on 127.0.0.1, its
 * receive buffer raised so that a burst of answers fits), one probe datagram per discovery port
 * (the XOR probe to the legacy port, the TDP probe to the other), counting the distinct addresses
 * that answer, with no parsing, no retry rounds and no result objects.
 *
 * discover() resolves only when its timeout ends, so its time-to-all is taken when its socket
 * handled the answer that completed the set (dgram.Socket.prototype.emit is wrapped for the call;
 * the library's own 'message' handler, which parses the answer, runs inside). Its result list is
 * then checked to hold every device. The kernel's UDP drop count (whole machine) is shown beside
 * each client (discover() raises its receive buffer to 4 MB, as the minimal client does). To keep
 * other processes' discovery tests out of the way, the simulator answers on two free ports below
 * the ephemeral range instead of 9999/20002, and both clients probe those. Loopback only.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { generateRsaKeyPair } from '../src/crypto/rsa';
import { xorEncrypt } from '../src/crypto/xor';
import { buildTdpProbe, discover } from '../src/discovery';
import { loopbackHosts, median, type BenchContext, type BenchRow, type BenchSection, type SimGroup } from './lib';

const DEVICES = 250;
const BROADCAST = '127.255.255.255';
const FIRST_OCTET = 235;
const PROFILES = ['hs100', 'p110', 'p110aes'];
const LEGACY_PROBE = xorEncrypt('{"system":{"get_sysinfo":{}}}');
/** The minimal client's receive buffer, as discover() asks for (Linux caps it at net.core.rmem_max). */
const BIG_BUFFER = 4 << 20;

interface Found {
  ms: number;
  found: number;
  /** Entries in discover()'s result (library only). */
  listed?: number;
  /** UDP datagrams the kernel dropped for a full receive buffer meanwhile (whole machine; NaN if unknown). */
  drops?: number;
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer (Linux, whole machine), NaN elsewhere. */
function udpDrops(): number {
  try {
    const lines = fs
      .readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const head = lines[0]!.trim().split(/\s+/);
    const vals = lines[1]!.trim().split(/\s+/);
    return Number(vals[head.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}

/** Run one client and note the drops meanwhile. */
async function counted(fn: () => Promise<Found>): Promise<Found> {
  const d0 = udpDrops();
  const f = await fn();
  return { ...f, drops: udpDrops() - d0 };
}

/** The minimal client: one datagram per port, count distinct expected sources, stop at all. */
function minimal(expected: Set<string>, ports: { legacy: number; tdp: number }, tdpProbe: Buffer, timeoutMs: number): Promise<Found> {
  return new Promise<Found>((resolve) => {
    const seen = new Set<string>();
    const sock = dgram.createSocket('udp4');
    const t0 = performance.now();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const ms = performance.now() - t0;
      sock.close();
      resolve({ ms: seen.size === expected.size ? ms : NaN, found: seen.size });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('error', finish);
    sock.on('message', (_m, rinfo) => {
      if (!expected.has(rinfo.address)) return;
      seen.add(rinfo.address);
      if (seen.size === expected.size) finish();
    });
    sock.bind({ port: 0, address: '127.0.0.1' }, () => {
      sock.setBroadcast(true);
      try {
        sock.setRecvBufferSize(BIG_BUFFER);
      } catch {
        /* above the system's limit: keep the default */
      }
      sock.send(LEGACY_PROBE, ports.legacy, BROADCAST);
      sock.send(tdpProbe, ports.tdp, BROADCAST);
    });
  });
}

/** discover() with the time its socket handled the answer that completed the set. */
async function library(
  expected: Set<string>,
  ports: { legacy: number; tdp: number },
  keyPair: Awaited<ReturnType<typeof generateRsaKeyPair>>,
  timeoutMs: number,
): Promise<Found> {
  type Emit = (this: dgram.Socket, ev: string | symbol, ...args: unknown[]) => boolean;
  const proto = dgram.Socket.prototype as unknown as { emit: Emit };
  const orig = proto.emit;
  const seen = new Set<string>();
  let all = NaN;
  const t0 = performance.now();
  proto.emit = function (this: dgram.Socket, ev: string | symbol, ...args: unknown[]): boolean {
    const r = orig.call(this, ev, ...args);
    if (ev === 'message') {
      const addr = (args[1] as dgram.RemoteInfo | undefined)?.address;
      if (addr && expected.has(addr) && !seen.has(addr)) {
        seen.add(addr);
        if (seen.size === expected.size) all = performance.now() - t0;
      }
    }
    return r;
  };
  try {
    const results = await discover({ broadcast: BROADCAST, ports, timeoutMs, keyPair });
    const listed = results.filter((x) => expected.has(x.host)).length;
    return { ms: listed === expected.size ? all : NaN, found: seen.size, listed };
  } finally {
    proto.emit = orig;
  }
}

export const discoverySection: BenchSection = {
  name: 'discovery',
  title: `Discovery: ${DEVICES} simulated devices (⅓ XOR, KLAP, AES) on ${BROADCAST}, discover() vs a minimal one-packet-per-port client`,
  async run(ctx: BenchContext) {
    const hosts = loopbackHosts(FIRST_OCTET, DEVICES);
    const groups: SimGroup[] = [];
    try {
      for (const [k, profile] of PROFILES.entries()) {
        groups.push(await ctx.sims.start(profile, DEVICES, ctx.credentials, { hosts: hosts.filter((_, i) => i % 3 === k) }));
      }
      // Two free ports below the ephemeral range (32768+), so no client socket can hold them.
      let ports: { legacy: number; tdp: number } | undefined;
      for (let i = 0; i < 5 && !ports; i++) {
        const legacy = 21000 + 2 * Math.floor(Math.random() * 4000);
        try {
          await ctx.sims.discovery(groups, legacy, legacy + 1);
          ports = { legacy, tdp: legacy + 1 };
        } catch (e) {
          ctx.progress(`discovery responder on ${legacy}/${legacy + 1}: ${String(e)}; trying other ports`);
        }
      }
      if (!ports) throw new Error('no free port pair for the discovery responder');
      const expected = new Set(groups.flatMap((g) => g.hosts));
      const keyPair = await generateRsaKeyPair(1024);
      const tdpProbe = buildTdpProbe(keyPair.publicPem);
      const timeoutMs = 2000; // discover()'s default: probes at 0, 667 and 1333 ms
      const rounds = ctx.quick ? 2 : 4;
      // One untimed exchange first, so that neither client pays for the simulator's first answers.
      await minimal(expected, ports, tdpProbe, timeoutMs);
      const mins: Found[] = [];
      const libs: Found[] = [];
      for (let r = 0; r < rounds; r++) {
        if (Date.now() > ctx.deadline) break;
        const m = await counted(() => minimal(expected, ports, tdpProbe, timeoutMs));
        const l = await counted(() => library(expected, ports, keyPair, timeoutMs));
        mins.push(m);
        libs.push(l);
        ctx.progress(
          `round ${r + 1}: minimal ${m.found}/${expected.size} in ${m.ms.toFixed(1)} ms (${m.drops} UDP drops); discover() ${l.listed}/${expected.size}, all in ${l.ms.toFixed(1)} ms (${l.drops} drops)`,
        );
      }
      const best = (xs: Found[]): Found | undefined => [...xs].sort((a, b) => (Number.isNaN(a.ms) ? 1e9 : a.ms) - (Number.isNaN(b.ms) ? 1e9 : b.ms))[0];
      const bm = best(mins);
      const bl = best(libs);
      const rows: BenchRow[] = [];
      const ok = (xs: Found[]): number[] => xs.filter((x) => !Number.isNaN(x.ms)).map((x) => x.ms);
      const line = (client: string, xs: Found[], b: Found | undefined, base?: Found): BenchRow => ({
        client,
        devices: expected.size,
        rounds: xs.length,
        'rounds finding all': xs.filter((x) => !Number.isNaN(x.ms)).length,
        'most found': Math.max(0, ...xs.map((x) => x.listed ?? x.found)),
        'ms to all (best)': b && !Number.isNaN(b.ms) ? Number(b.ms.toFixed(1)) : '—',
        'ms to all (median)': ok(xs).length ? Number(median(ok(xs)).toFixed(1)) : '—',
        'ms to all (worst)': ok(xs).length ? Number(Math.max(...ok(xs)).toFixed(1)) : '—',
        '×minimal': base && b && !Number.isNaN(b.ms) && !Number.isNaN(base.ms) ? Number((b.ms / base.ms).toFixed(2)) : '',
        'UDP drops (machine)': xs.reduce((a, x) => a + (x.drops ?? 0), 0),
        'timeout ms': timeoutMs,
      });
      rows.push(line('minimal (1 datagram per port)', mins, bm));
      rows.push(line('discover()', libs, bl, bm));
      if (bl && bm) {
        const allFound = libs.every((x) => x.listed === expected.size);
        const med = (xs: Found[]): string => (ok(xs).length ? `${median(ok(xs)).toFixed(1)} ms` : 'never all found');
        ctx.summary({
          metric: `discovery of ${expected.size} devices on ${BROADCAST}: discover() vs minimal client (median; best)`,
          value: `${med(libs)} vs ${med(mins)}; best ${bl.ms.toFixed(1)} vs ${bm.ms.toFixed(1)} ms (${(bl.ms / bm.ms).toFixed(2)}×); ${libs.filter((x) => (x.drops ?? 0) > 0).length} of ${libs.length} discover() rounds lost answers`,
          target: `all ${expected.size} found in every round`,
          met: allFound,
        });
      }
      return rows;
    } finally {
      await Promise.all(groups.map((g) => g.stop()));
    }
  },
};
