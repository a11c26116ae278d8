/**
 * The editor's TP-Link sidebar tab, server side. Each tplink-pool keeps a board: per listed
 * device its status (from the pool's status events), its last state and power readings (from
 * what the nodes' polls read, and from a refresh), and a power history of the last hour for the
 * sparkline. The tab asks for the boards every few seconds while it is shown:
 *
 *   GET  /tplink-pool/sidebar[?refresh=1]   (tplink-pool.read)  → {pools:[{id, name, devices:[…]}]}
 *   POST /tplink-pool/sidebar/toggle {pool, key}  (tplink-pool.write) → {ok, device} | {ok:false, code, error}
 *   POST /tplink-pool/sidebar/test   {pool, key}  (tplink-pool.write) → {ok, device} | {ok:false, code, error}
 *
 * Everything goes through the pool's own shared sessions (pool.device()), never a connection of
 * its own; a refresh reads each device at most once per REFRESH_MS however many editors look, a
 * few devices at a time, and only when an editor asks. No credential is ever part of an answer.
 */
import type { DeviceState, EnergyReading, Pool } from '../../src/index';
import type { DeviceStatus, PoolDeviceConfig } from '../../src/pool';
import { NodeError, redact, toNodeError } from './errors';
import type { HttpHandler, HttpRequest, HttpResponse, RED } from './red';

const REFRESH_MS = 10_000;
const HISTORY_MS = 3_600_000;
const HISTORY_POINTS = 360;
const REFRESH_PARALLEL = 4;
const REFRESH_BUDGET_MS = 4000;

export interface BoardDevice {
  key: string;
  alias: string;
  host: string;
  port?: number;
  status: DeviceStatus | 'unknown';
  on?: boolean;
  powerW?: number;
  /** [epoch ms, W] over the last hour, oldest first. */
  power: [number, number][];
  model?: string;
  protocol?: string;
  firmware?: string;
  error?: string;
  /** The guided fix's sentence (src/fixes.ts) of the last failure, when it has one. */
  hint?: string;
  seen?: number;
}

interface Row {
  cfg: PoolDeviceConfig;
  view: BoardDevice;
  meter?: boolean;
}

const keyOf = (pool: Pool, ref: PoolDeviceConfig | string): string => {
  const c = pool.resolve(ref);
  return c.port !== undefined ? `${c.host}:${c.port}` : c.host;
};

/** One pool's board. */
export class Board {
  private rows = new Map<string, Row>();
  private refreshing: Promise<void> | undefined;
  private lastRefresh = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    private readonly pool: Pool,
    list: PoolDeviceConfig[],
    readonly secrets: () => string[],
  ) {
    for (const cfg of list) {
      try {
        const key = keyOf(pool, cfg);
        this.rows.set(key, {
          cfg,
          view: { key, alias: cfg.alias ?? cfg.host, host: cfg.host, ...(cfg.port !== undefined ? { port: cfg.port } : {}), status: 'unknown', power: [] },
        });
      } catch {
        /* an entry the pool cannot address is not shown */
      }
    }
  }

  status(key: string, status: DeviceStatus, err?: { code?: string; fix?: string; hint?: string }): void {
    const r = this.rows.get(key);
    if (!r) return;
    r.view.status = status;
    if (err?.code) {
      r.view.error = err.code;
      if (err.fix && err.hint) r.view.hint = redact(err.hint, this.secrets());
      else delete r.view.hint;
    } else if (status === 'online') {
      delete r.view.error;
      delete r.view.hint;
    }
  }

  /** A state or energy reading of a listed device (from a node's poll, a refresh or a toggle). */
  record(key: string, value: DeviceState | EnergyReading): void {
    const r = this.rows.get(key);
    if (!r) return;
    const v = r.view;
    v.seen = Date.now();
    if ('family' in value) {
      const s = value;
      if (s.on !== undefined) v.on = s.on;
      if (s.model !== undefined) v.model = s.model;
      if (s.protocol !== undefined) v.protocol = s.protocol;
      if (s.firmware !== undefined) v.firmware = s.firmware;
      if (s.hasEnergyMeter !== undefined) r.meter = s.hasEnergyMeter;
    } else if (value.powerW !== undefined) {
      r.meter = true;
      v.powerW = value.powerW;
      const now = Date.now();
      v.power.push([now, value.powerW]);
      while (v.power.length && (v.power.length > HISTORY_POINTS || v.power[0]![0] < now - HISTORY_MS)) v.power.shift();
    }
  }

  snapshot(): { id: string; name: string; devices: BoardDevice[] } {
    return { id: this.id, name: this.name, devices: [...this.rows.values()].map((r) => ({ ...r.view, power: r.view.power.slice() })) };
  }

  /** Read every listed device once through the pool (at most once per REFRESH_MS); never rejects. */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (Date.now() - this.lastRefresh < REFRESH_MS) return Promise.resolve();
    this.lastRefresh = Date.now();
    const todo = [...this.rows.values()];
    const worker = async (): Promise<void> => {
      for (let r = todo.shift(); r; r = todo.shift()) await this.read(r);
    };
    this.refreshing = Promise.all(Array.from({ length: REFRESH_PARALLEL }, worker)).then(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(r: Row): Promise<void> {
    try {
      await this.use(r.view.key, async (d) => {
        this.record(r.view.key, await d.getState());
        if (r.meter) this.record(r.view.key, await d.getEnergy());
      });
    } catch (e) {
      r.view.error = toNodeError(e, this.secrets()).code;
    }
  }

  private async use<T>(key: string, fn: (d: ReturnType<Pool['device']>) => Promise<T>): Promise<T> {
    const r = this.rows.get(key);
    if (!r) throw new NodeError('ENOTFOUND', `${key.slice(0, 100)} is not in this pool's device list`);
    const d = this.pool.device(r.cfg);
    try {
      return await fn(d);
    } finally {
      d.release();
    }
  }

  async toggle(key: string): Promise<BoardDevice> {
    await this.use(key, async (d) => {
      const s = await d.getState();
      if (s.on === undefined) throw new NodeError('EUNSUPPORTED', `${s.model ?? key} has no on/off switch`);
      this.record(key, await d.setState({ on: !s.on }));
    });
    return this.rows.get(key)!.view;
  }

  async test(key: string): Promise<BoardDevice> {
    await this.use(key, async (d) => this.record(key, await d.getState()));
    return this.rows.get(key)!.view;
  }
}

const boards = new Map<string, Board>();

export function addBoard(b: Board): void {
  boards.set(b.id, b);
}
export function removeBoard(b: Board): void {
  if (boards.get(b.id) === b) boards.delete(b.id);
}

let registeredOn: unknown;

/** Register the sidebar endpoints once per admin app. */
export function registerSidebarEndpoints(RED: RED): void {
  const app = RED.httpAdmin;
  if (!app?.get || registeredOn === app) return;
  registeredOn = app;
  const allow: HttpHandler = (_q, _s, next) => next?.();
  const read = RED.auth?.needsPermission('tplink-pool.read') ?? allow;
  const write = RED.auth?.needsPermission('tplink-pool.write') ?? allow;
  app.get('/tplink-pool/sidebar', read, (req: HttpRequest, res: HttpResponse) => {
    const all = [...boards.values()];
    const wait = (req as { query?: Record<string, unknown> }).query?.refresh
      ? Promise.race([Promise.all(all.map((b) => b.refresh())), new Promise((r) => setTimeout(r, REFRESH_BUDGET_MS).unref())])
      : Promise.resolve();
    void wait.then(() => res.json({ pools: all.map((b) => b.snapshot()) }));
  });
  const act = (fn: (b: Board, key: string) => Promise<BoardDevice>) => (req: HttpRequest, res: HttpResponse) => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const b = typeof body.pool === 'string' ? boards.get(body.pool) : undefined;
    if (!b) {
      res.status(404).json({ ok: false, code: 'ENOPOOL', error: 'No such pool is running: deploy it first' });
      return;
    }
    fn(b, typeof body.key === 'string' ? body.key : '').then(
      (device) => res.json({ ok: true, device }),
      (e: unknown) => {
        const err = toNodeError(e, b.secrets());
        res.json({ ok: false, code: err.code, error: err.message });
      },
    );
  };
  app.post(
    '/tplink-pool/sidebar/toggle',
    write,
    act((b, k) => b.toggle(k)),
  );
  app.post(
    '/tplink-pool/sidebar/test',
    write,
    act((b, k) => b.test(k)),
  );
}
