/** What a decode answers (shared by the decoder and its text output). */
import type { KlapVersion } from '../crypto/klap';

export type MessageKind = 'xor' | 'xor-udp' | 'tdp' | 'klap' | 'http' | 'tddp';

export interface DecodedMessage {
  /** Epoch seconds (fractional), from the capture. */
  time: number;
  kind: MessageKind;
  /** KLAP: 1 (Kasa IOT) or 2 (Tapo/SMART). */
  klapVersion?: KlapVersion;
  direction: 'request' | 'response';
  /** 'ip:port'. */
  client: string;
  server: string;
  /** KLAP: the request's sequence number. */
  seq?: number;
  /** The decrypted text (JSON for everything but TDDP). */
  text: string;
}

export interface SessionReport {
  kind: 'xor' | 'klap' | 'aes' | 'tpap' | 'tls' | 'http' | 'unknown';
  client: string;
  server: string;
  decrypted: boolean;
  /** Messages (requests and answers) seen in it. */
  messages: number;
  klapVersion?: KlapVersion;
  /** Which account opened a KLAP session: 'given', a default ('default KASA', …) or 'blank'. */
  account?: string;
  reason?: string;
}

export interface DecodeResult {
  messages: DecodedMessage[];
  sessions: SessionReport[];
  /** Records not decoded, by reason. */
  skipped: Record<string, number>;
  packets: number;
}
