/**
 * The small part of the Node-RED runtime API these nodes use. Node-RED is handed in as `RED` at
 * load time; nothing under nodes/ requires it.
 */

export type NodeMessage = Record<string, unknown> & { _msgid?: string };

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFn = (msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[] | null) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

export interface Node {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', fn: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', fn: (removed: boolean, done: () => void) => void): void;
  status(s: NodeStatus | Record<string, never>): void;
  send(msg: NodeMessage | null): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(text: unknown): void;
  log(text: unknown): void;
  debug(text: unknown): void;
}

export type PropertyType = 'str' | 'num' | 'bool' | 'json' | 'msg' | 'flow' | 'global' | 'env' | 'date' | 'jsonata' | 're' | 'bin';

export interface HttpRequest {
  body?: unknown;
}
export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}
export type HttpHandler = (req: HttpRequest, res: HttpResponse, next?: () => void) => void;

export interface RED {
  /** The runtime settings; `userDir` is absent in some test harnesses. */
  settings?: { userDir?: unknown };
  /** The runtime's message catalogue lookup (absent in some test harnesses). */
  _?: (key: string, vars?: Record<string, string | number>) => string;
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType(type: string, ctor: (this: Node, def: never) => void, opts?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
    getCredentials?(id: string): Record<string, string | undefined> | undefined;
  };
  util: {
    evaluateNodeProperty(value: unknown, type: string, node: Node, msg: NodeMessage, cb: (err: Error | null, value: unknown) => void): void;
  };
  httpAdmin?: { get?(path: string, ...handlers: HttpHandler[]): void; post(path: string, ...handlers: HttpHandler[]): void };
  auth?: { needsPermission(permission: string): HttpHandler };
}
