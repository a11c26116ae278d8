// An in-memory Transport for protocol and device unit tests: answers canned JSON from a handler.
import type { Transport, TransportKind, TransportStats } from '../../src/types';

export type FakeHandler = (req: Record<string, unknown>, n: number) => unknown;

export class FakeTransport implements Transport {
  readonly stats: TransportStats = { handshakes: 1, requests: 0 };
  readonly sent: Record<string, unknown>[] = [];
  readonly texts: string[] = [];
  resets = 0;
  closed = false;

  constructor(
    readonly kind: TransportKind,
    private readonly handler: FakeHandler,
    readonly host = '127.0.0.1',
    readonly port = kind === 'xor' ? 9999 : 80,
  ) {}

  async send(request: string): Promise<unknown> {
    this.texts.push(request);
    const req = JSON.parse(request) as Record<string, unknown>;
    this.sent.push(req);
    this.stats.requests++;
    // Round-trip through JSON so answers cannot share objects with the handler's state.
    const answer = this.handler(req, this.sent.length);
    return answer === undefined ? undefined : JSON.parse(JSON.stringify(answer));
  }

  reset(): void {
    this.resets++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
