/**
 * The route book of one Connector (src/connect.ts): how 'auto' reached each host:port — transport
 * (as proven, e.g. KLAP v1 or v2), port, AES login version — and the application protocol the
 * device answered in, so that the next connect() there tries that first. Bounded: the oldest
 * entry goes first.
 */
import type { Device } from './device';
import { sameTransport } from './trust';
import type { ProtocolKind, TransportKind } from './types';

/** A remembered route: transport, port, AES login version, and the device's application protocol. */
export interface Route {
  kind: TransportKind;
  port: number;
  loginVersion?: 1 | 2;
  protocol?: ProtocolKind;
}

/** How many host:port entries a route book keeps. */
export const ROUTE_BOOK_MAX = 256;

/** Routes per `host|port` key (`host|` when connect() was given no port). */
export class RouteBook {
  private readonly routes = new Map<string, Route>();

  get(key: string): Route | undefined {
    return this.routes.get(key);
  }

  delete(key: string): void {
    this.routes.delete(key);
  }

  /** Forget every route (no host), or those of one host. Never throws. */
  clear(host?: string): void {
    if (host === undefined) this.routes.clear();
    else for (const k of [...this.routes.keys()]) if (k.startsWith(`${host}|`)) this.routes.delete(k);
  }

  /** Remember how `dev` was reached (its transport kind as proven) and `protocol`, the one it answered in. */
  remember(key: string, dev: Device, port: number, loginVersion: 1 | 2 | undefined, protocol: ProtocolKind | undefined): void {
    const kind = dev.info()?.protocol;
    if (!kind) return;
    const route: Route = { kind, port };
    if (loginVersion !== undefined) route.loginVersion = loginVersion;
    if (protocol) route.protocol = protocol;
    this.put(key, route);
    // The pool reconnects with the transport and port found: let that connect know the protocol too.
    const exact = `${dev.host}|${dev.port}`;
    if (exact !== key) this.put(exact, route);
  }

  /** After an explicit-transport connect: remember the protocol the device answered in, for the next one. */
  rememberProtocol(key: string, dev: Device, protocol: ProtocolKind | undefined): void {
    const kind = dev.info()?.protocol;
    if (!protocol || !kind) return;
    const old = this.routes.get(key);
    this.put(key, old && sameTransport(old.kind, kind) ? { ...old, kind, protocol } : { kind, port: dev.port, protocol });
  }

  private put(key: string, route: Route): void {
    if (this.routes.size >= ROUTE_BOOK_MAX && !this.routes.has(key)) this.routes.delete(this.routes.keys().next().value!);
    this.routes.set(key, route);
  }
}
