/**
 * Bench section "nodered": what the node layer costs. In a real Node-RED runtime
 * (embedded in a child process, see nodered-host.ts), inject → tplink-action → function sink against
 * simulated devices: messages/s, p50 latency and CPU per message, next to the library-only figure
 * (a script calling pool.device().setState({on: true}), the same change the action node makes),
 * measured in the same process in alternating slices (medians over the rounds), at concurrency 1
 * (one device) and 10 (ten devices, chosen by msg.device). A row for the runtime alone (inject → function, no device) shows the
 * part that is Node-RED's own.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { wanted, type BenchContext, type BenchRow, type BenchSection, type SimGroup } from './lib';
import type { RedDevice, RedJob, RedReply, RedRow } from './nodered-host';

const KINDS: { label: string; profile: string; transport: RedDevice['transport'] }[] = [
  { label: 'XOR', profile: 'hs100', transport: 'xor' },
  { label: 'KLAP v2', profile: 'p110', transport: 'klap' },
  { label: 'AES', profile: 'p110aes', transport: 'aes' },
];

function runHost(job: RedJob, ctx: BenchContext, limitMs: number): Promise<RedReply> {
  const prof = ctx.only.profileDir;
  const child = fork(path.join(__dirname, 'nodered-host.js'), [], {
    // --profile DIR: a CPU profile of the whole Node-RED host process (written when it exits).
    ...(prof ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-name', 'nodered-host.cpuprofile'] } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' },
  });
  return new Promise<RedReply>((resolve) => {
    let done = false;
    const finish = (r: RedReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
      // Stop the child we started (by its handle), if it has not exited by itself.
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill();
      }, 3000).unref();
    };
    const timer = setTimeout(() => finish({ ok: false, error: `the Node-RED host did not answer within ${limitMs} ms` }), limitMs);
    child.on('message', (r: RedReply) => finish(r));
    child.on('error', (e) => finish({ ok: false, error: String(e) }));
    child.on('exit', (code) => finish({ ok: false, error: `the Node-RED host exited (${String(code)}) without an answer` }));
    ctx.progress('starting Node-RED in a child process');
    child.send(job);
  });
}

export const noderedSection: BenchSection = {
  name: 'nodered',
  title: 'Through Node-RED: inject → tplink-action → output in a real runtime vs the library alone (same process, alternating slices)',
  async run(ctx) {
    const groups: SimGroup[] = [];
    const job: RedJob = {
      credentials: ctx.credentials,
      groups: [],
      requests: ctx.quick ? 80 : 200,
      rowMaxMs: ctx.quick ? 2000 : 4000,
      rounds: ctx.only.rounds ?? (ctx.quick ? 3 : 6),
      concs: [1, 10].filter((c) => wanted(ctx.only.conc, c)),
    };
    try {
      for (const k of KINDS.filter((x) => wanted(ctx.only.transports, x.transport))) {
        const g = await ctx.sims.start(k.profile, 10, ctx.credentials);
        groups.push(g);
        job.groups.push({
          label: k.label,
          devices: g.ports.map((port, i) => ({ alias: `${k.transport}-${i}`, host: '127.0.0.1', port, transport: k.transport })),
        });
      }
      const reply = await runHost(job, ctx, ctx.quick ? 120_000 : 240_000);
      if (!reply.ok) throw new Error(reply.error);
      const rows: BenchRow[] = [];
      const find = (t: string, c: RedRow['client'], conc: number): RedRow | undefined =>
        reply.rows.find((r) => r.transport === t && r.client === c && r.conc === conc);
      const runtime = find('—', 'node-red runtime only', 1);
      const line = (r: RedRow): BenchRow => ({
        transport: r.transport,
        client: r.client,
        conc: r.conc,
        messages: r.m.requests,
        'msg/s': Math.round(r.m.reqPerS),
        'p50 ms': Number(r.m.p50Ms.toFixed(3)),
        'p99 ms': Number(r.m.p99Ms.toFixed(3)),
        'CPU µs/msg': Math.round(r.m.cpuUsPerReq),
        'msg/s ×library': r.vsLibrary ? Number(r.vsLibrary.rate.toFixed(2)) : '',
        'p50 +ms vs library': r.vsLibrary ? Number(r.vsLibrary.p50Ms.toFixed(3)) : '',
        'CPU +µs vs library': r.vsLibrary ? Math.round(r.vsLibrary.cpuUs) : '',
        errors: r.m.errors,
      });
      if (runtime) rows.push(line(runtime));
      for (const k of KINDS) {
        for (const conc of [1, 10]) {
          const lib = find(k.label, 'library', conc);
          const red = find(k.label, 'node-red', conc);
          if (lib) rows.push(line(lib));
          if (red) rows.push(line(red));
          if (lib && red?.vsLibrary) {
            const v = red.vsLibrary;
            ctx.summary({
              metric: `${k.label} through Node-RED c${conc}: msg/s, p50 (library alone)`,
              value: `${Math.round(red.m.reqPerS)} msg/s, ${red.m.p50Ms.toFixed(2)} ms (${Math.round(lib.m.reqPerS)}/s, ${lib.m.p50Ms.toFixed(2)} ms): ${v.rate.toFixed(2)}×, ${v.cpuUs >= 0 ? '+' : ''}${Math.round(v.cpuUs)} µs CPU/msg`,
              target: '— (shows the node layer)',
            });
          }
        }
      }
      if (runtime) {
        ctx.summary({
          metric: 'Node-RED runtime alone (inject → function)',
          value: `${Math.round(runtime.m.reqPerS)} msg/s, p50 ${runtime.m.p50Ms.toFixed(2)} ms, ${Math.round(runtime.m.cpuUsPerReq)} µs CPU/msg`,
          target: '—',
        });
      }
      ctx.progress(`Node-RED ${reply.nodeRedVersion} started in ${Math.round(reply.startMs)} ms`);
      return rows;
    } finally {
      await Promise.all(groups.map((g) => g.stop()));
    }
  },
};
