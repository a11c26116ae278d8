/**
 * Bench section "tpap": the TPAP transport against simulated TPAP devices (p110tpap:
 * PBKDF2 with 3,000 iterations, AES-128-CCM) in the bench's simulator child process.
 *
 * - Handshake client CPU: a TpapTransport logging in again and again (discover, pake_register,
 *   PBKDF2 on the thread pool, four P-256 multiplications, pake_share, one request), minus the same
 *   request on a live session; next to the raw TPAP floor (below) doing the same. process.cpuUsage
 *   counts every thread, so the PBKDF2 time on libuv's pool is included.
 * - The longest event-loop stall while 50 devices log in at once through one pool (target under
 *   10 ms, judged on the main thread's own CPU as in the eventloop section), next to 50 raw floor
 *   clients logging in at once and the idle loop.
 * - Pooled raw() throughput against the raw TPAP floor at concurrency 1 (one device) and 10 (ten
 *   devices), alternating slices and medians over rounds as in the pool section (target ≥ 0.85×).
 *
 * The raw TPAP floor: the login and the AEAD frames straight from src/crypto/tpap.ts on a kept-alive
 * http.Agent; no pool, queue, retry, protocol layer or normalisation. Every answer is decrypted and
 * JSON-parsed, as any client must.
 */
import { randomBytes } from 'node:crypto';
import {
  TpapCipher,
  tpapClientFinishAsync,
  tpapClientShare,
  tpapCredential,
  tpapDeriveSecrets,
  tpapEqual,
  tpapRegisterUsername,
  tpapTurn,
} from '../src/crypto/tpap';
import { Pool } from '../src/pool';
import { TpapTransport } from '../src/transports/tpap';
import type { Credentials } from '../src/types';
import { poster, type FloorClient } from './floor';
import { LoopWatch, alternate, combine, gc, measure, pairedRatio, sleep, type BenchContext, type BenchRow, type BenchSection, type SimGroup } from './lib';

const PROFILE = 'p110tpap';
const N = 50;
const STALL_TARGET_MS = 10;
const RPS_TARGET = 0.85;
const SMART_REQ = { method: 'get_device_info' };
const smartText = (): string => JSON.stringify({ method: 'get_device_info', request_time_milis: Date.now(), terminal_uuid: 'QkVOQ0g=' });
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const OCTET = { 'Content-Type': 'application/octet-stream' };

/** The raw TPAP floor client (see the module comment). Rejects when the login fails. */
export async function openTpapFloor(host: string, port: number, creds: Credentials): Promise<FloorClient> {
  const h = poster(host, port);
  const call = async (params: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const a = await h.post('/', Buffer.from(JSON.stringify({ method: 'login', params })), JSON_HEADERS);
    const j = JSON.parse(a.body.toString('utf8')) as { error_code?: number; result?: Record<string, unknown> };
    if (j.error_code !== 0 || !j.result) throw new Error(`tpap floor: ${String(params.sub_method)} error ${String(j.error_code)}`);
    return j.result;
  };
  const login = async (): Promise<{ cipher: TpapCipher; stok: string; seq: number }> => {
    const d = await call({ sub_method: 'discover' });
    const userRandom = randomBytes(32);
    const r = await call({
      sub_method: 'pake_register',
      username: tpapRegisterUsername(),
      user_random: userRandom.toString('base64'),
      cipher_suites: [1],
      encryption: ['aes_128_ccm'],
      passcode_type: 'userpw',
      stok: null,
    });
    const extra = r.extra_crypt as { type?: string; params?: Record<string, unknown> } | undefined;
    const cred = tpapCredential(extra, creds.username, creds.password, String(d.mac ?? ''));
    const { w, h: hh } = await tpapDeriveSecrets(cred, Buffer.from(String(r.dev_salt), 'base64'), Number(r.iterations));
    await tpapTurn();
    const { x, L } = tpapClientShare(w);
    const k = await tpapClientFinishAsync({
      x,
      w,
      h: hh,
      L,
      R: Buffer.from(String(r.dev_share), 'base64'),
      userRandom,
      devRandom: Buffer.from(String(r.dev_random), 'base64'),
    });
    const s = await call({ sub_method: 'pake_share', user_share: L.toString('base64'), user_confirm: k.userConfirm.toString('base64') });
    if (!tpapEqual(Buffer.from(String(s.dev_confirm), 'base64'), k.devConfirm)) throw new Error('tpap floor: bad dev_confirm');
    return { cipher: new TpapCipher('aes_128_ccm', k.sharedKey), stok: String(s.sessionId ?? s.stok), seq: Number(s.start_seq) };
  };
  let s = await login();
  return {
    send: async (text) => {
      const seq = s.seq++;
      const a = await h.post(`/stok=${s.stok}/ds`, s.cipher.seal(seq, text), OCTET);
      if (a.status !== 200 || String(a.headers['content-type']).includes('json'))
        throw new Error(`tpap floor: HTTP ${a.status} ${a.body.toString().slice(0, 40)}`);
      return JSON.parse(s.cipher.open(a.body, seq).plain.toString('utf8'));
    },
    renew: async () => void (s = await login()),
    close: () => h.close(),
  };
}

const cpuNow = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const f2 = (v: number): number | string => (Number.isFinite(v) ? Number(v.toFixed(2)) : '—');

/** CPU per login: (logins+request) − (request alone), per login; best of rounds. */
async function handshakeCpu(ctx: BenchContext, g: SimGroup): Promise<BenchRow[]> {
  const n = ctx.quick ? 10 : 20;
  const port = g.ports[0]!;
  const t = new TpapTransport({ host: '127.0.0.1', port, credentials: ctx.credentials });
  const floor = await openTpapFloor('127.0.0.1', port, ctx.credentials);
  const req = JSON.stringify(SMART_REQ);
  try {
    await t.send(req);
    let lib = Infinity;
    let flo = Infinity;
    for (let r = 0; r < (ctx.quick ? 2 : 4); r++) {
      let c0 = cpuNow();
      for (let i = 0; i < n; i++) {
        t.reset();
        await t.send(req);
      }
      const withLogin = cpuNow() - c0;
      c0 = cpuNow();
      for (let i = 0; i < n; i++) await t.send(req);
      const plain = cpuNow() - c0;
      lib = Math.min(lib, (withLogin - plain) / n);
      c0 = cpuNow();
      for (let i = 0; i < n; i++) await floor.renew!();
      flo = Math.min(flo, (cpuNow() - c0) / n);
    }
    ctx.summary({
      metric: 'TPAP login client CPU (3,000 PBKDF2 iterations; all threads)',
      value: `${(lib / 1000).toFixed(1)} ms per login (raw floor ${(flo / 1000).toFixed(1)} ms)`,
      target: 'reported',
      met: true,
    });
    return [
      {
        measurement: 'login client CPU ms (TpapTransport)',
        value: f2(lib / 1000),
        floor: f2(flo / 1000),
        '×floor': f2(lib / flo),
        errors: 0,
        target: '',
        met: '',
      },
    ];
  } finally {
    await t.close();
    floor.close();
  }
}

/** The longest loop stall while N devices log in at once: pool, floor, idle. */
async function stalls(ctx: BenchContext, g: SimGroup): Promise<BenchRow[]> {
  const watch = new LoopWatch();
  const rows: BenchRow[] = [];
  const rounds = ctx.quick ? 2 : 3;
  const bursts: { name: string; judged: boolean; run(): Promise<{ errors: number; close(): Promise<void> }> }[] = [
    {
      name: `floor: ${N} TPAP logins at once`,
      judged: false,
      run: async () => {
        let errors = 0;
        const cs = await Promise.all(
          g.ports.slice(0, N).map((port) =>
            openTpapFloor('127.0.0.1', port, ctx.credentials).then(
              async (c) => (await c.send(smartText()), c),
              () => void errors++,
            ),
          ),
        );
        return { errors, close: async () => cs.forEach((c) => c?.close()) };
      },
    },
    {
      name: `pool: ${N} TPAP devices, fresh pool`,
      judged: true,
      run: async () => {
        const pool = new Pool({ credentials: ctx.credentials });
        let errors = 0;
        await Promise.all(
          g.ports.slice(0, N).map((port) =>
            pool
              .device({ host: '127.0.0.1', port, transport: 'tpap' })
              .raw(SMART_REQ)
              .catch(() => void errors++),
          ),
        );
        return { errors, close: () => pool.close() };
      },
    },
  ];
  let worst = 0;
  let worstWall = 0;
  try {
    for (const b of bursts) {
      const cpu: number[] = [];
      const wall: number[] = [];
      const idle: number[] = [];
      let errors = 0;
      let ms = 0;
      for (let r = 0; r < rounds; r++) {
        gc();
        watch.start();
        await sleep(3);
        const t0 = performance.now();
        const res = await b.run();
        const took = performance.now() - t0;
        await sleep(3);
        const st = watch.stop();
        await res.close();
        errors += res.errors;
        ms = Math.max(ms, took);
        cpu.push(st.cpuMs);
        wall.push(st.wallMs);
        gc();
        watch.start();
        await sleep(Math.max(20, took));
        idle.push(watch.stop().wallMs);
      }
      const maxCpu = Math.max(...cpu);
      const maxWall = Math.max(...wall);
      const judgedValue = Number.isFinite(maxCpu) ? maxCpu : maxWall;
      if (b.judged) {
        worst = Math.max(worst, judgedValue);
        worstWall = Math.max(worstWall, maxWall);
      }
      rows.push({
        measurement: b.name,
        value: f2(maxCpu),
        floor: `wall ${f2(maxWall)}, idle ${f2(Math.max(...idle))}`,
        '×floor': `${Math.round(ms)} ms burst`,
        errors,
        target: b.judged ? `<${STALL_TARGET_MS} ms on CPU` : '',
        met: b.judged ? (judgedValue < STALL_TARGET_MS && errors === 0 ? 'yes' : 'no') : '',
      });
      ctx.progress(`${b.name}: on CPU ${cpu.map((x) => x.toFixed(1)).join(', ')} ms; wall ${wall.map((x) => x.toFixed(1)).join(', ')} ms`);
    }
  } finally {
    watch.close();
  }
  ctx.summary({
    metric: `TPAP: longest event-loop stall, ${N} devices logging in at once through the pool`,
    value: `${worst.toFixed(1)} ms on CPU, ${worstWall.toFixed(1)} ms wall`,
    target: `<${STALL_TARGET_MS} ms`,
    met: worst < STALL_TARGET_MS,
  });
  return rows;
}

/** Pooled raw() vs the floor at c1 and c10. */
async function throughput(ctx: BenchContext, one: SimGroup, ten: SimGroup): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [conc, g] of [
    [1, one],
    [10, ten],
  ] as const) {
    if (Date.now() > ctx.deadline) break;
    const floors: FloorClient[] = [];
    for (const port of g.ports) floors.push(await openTpapFloor('127.0.0.1', port, ctx.credentials));
    const pool = new Pool({ credentials: ctx.credentials });
    try {
      const devs = g.ports.map((port) => pool.device({ host: '127.0.0.1', port, transport: 'tpap' }));
      const clients = [floors.map((c) => () => c.send(smartText())), devs.map((d) => () => d.raw(SMART_REQ))];
      for (const c of clients) await measure(c, Math.min(200 * conc, 1000), 5000);
      const slice = Math.round(ctx.requests * (conc > 1 ? 0.6 : 0.3));
      const rounds = ctx.quick ? 4 : 7;
      const [fl, po] = await alternate(clients, rounds, slice, ctx.rowMaxMs);
      const fm = combine(fl!);
      const pm = combine(po!);
      const rps = pairedRatio(po!, fl!, (x) => x.reqPerS);
      const cpu = pairedRatio(po!, fl!, (x) => x.cpuUsPerReq);
      const ok = Number(rps.toFixed(2)) >= RPS_TARGET && pm.errors === 0;
      rows.push({
        measurement: `pool raw() c${conc} req/s (floor req/s)`,
        value: Math.round(pm.reqPerS),
        floor: Math.round(fm.reqPerS),
        '×floor': f2(rps),
        errors: pm.errors + fm.errors,
        target: `≥${RPS_TARGET}`,
        met: ok ? 'yes' : 'no',
      });
      rows.push({
        measurement: `pool raw() c${conc} CPU µs/req (floor)`,
        value: Math.round(pm.cpuUsPerReq),
        floor: Math.round(fm.cpuUsPerReq),
        '×floor': f2(cpu),
        errors: '',
        target: '',
        met: '',
      });
      ctx.summary({
        metric: `TPAP pooled raw() c${conc}: req/s vs the raw TPAP floor`,
        value: `${rps.toFixed(2)}× (${Math.round(pm.reqPerS)} vs ${Math.round(fm.reqPerS)} req/s; CPU ${cpu.toFixed(2)}×; pool handshakes ${pool.stats().handshakes})`,
        target: `≥${RPS_TARGET}×`,
        met: ok,
      });
      ctx.progress(`TPAP c${conc}: pool ${Math.round(pm.reqPerS)} req/s, floor ${Math.round(fm.reqPerS)} req/s (${rounds} rounds of ${slice})`);
    } finally {
      await pool.close();
      floors.forEach((c) => c.close());
    }
  }
  return rows;
}

export const tpapSection: BenchSection = {
  name: 'tpap',
  title: 'TPAP: login client CPU, event-loop stall while 50 devices log in, pooled throughput vs the raw TPAP floor (same run)',
  async run(ctx) {
    const fifty = await ctx.sims.start(PROFILE, N, ctx.credentials);
    const one = await ctx.sims.start(PROFILE, 1, ctx.credentials);
    const ten = await ctx.sims.start(PROFILE, 10, ctx.credentials);
    try {
      return [...(await handshakeCpu(ctx, one)), ...(await stalls(ctx, fifty)), ...(await throughput(ctx, one, ten))];
    } finally {
      await Promise.all([fifty.stop(), one.stop(), ten.stop()]);
    }
  },
};
