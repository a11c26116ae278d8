/**
 * Every default the library uses, in one place: timeouts, ports, the broadcast address, size and
 * safety limits. Options override them per call; nothing else in src/ spells these numbers.
 * A leaf module: imports nothing but types.
 */
import type { TransportKind } from './types';

// ---- Exchanges with a device ----

/** Per exchange with a device (connect, and write + read). */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Hard cap on one answer's size (XOR frame, HTTP body). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;
/** Session lifetime when a device sends no TIMEOUT in its cookie (s). */
export const DEFAULT_SESSION_TIMEOUT_S = 86400;
/** Protocol-layer retries after timeouts and busy answers. */
export const DEFAULT_RETRIES = 2;
/** Wait before such a retry (ms). */
export const DEFAULT_BACKOFF_MS = 1000;
/** RSA modulus size for the AES handshake and the discovery probe (what devices accept). */
export const RSA_KEY_BITS = 1024;

// ---- Ports and addresses ----

/** Default TCP port per transport. */
export const DEFAULT_PORTS: Readonly<Record<TransportKind, number>> = { xor: 9999, klap: 80, 'klap-v1': 80, aes: 80, tpap: 80 };
/** UDP discovery ports: the legacy XOR probe, the TDP probe, and the TDP probe again for doorbells (D210, D225). */
export const DISCOVERY_PORTS = { legacy: 9999, tdp: 20002, doorbell: 20004 } as const;
/** Where discover() sends its probes unless told otherwise (tests use 127.255.255.255). */
export const BROADCAST_ADDRESS = '255.255.255.255';

// ---- Discovery ----

/** How long discover() listens. */
export const DISCOVERY_TIMEOUT_MS = 2000;
/** connect()'s single-host discovery wait for transport 'auto'. */
export const SINGLE_DISCOVERY_TIMEOUT_MS = 1500;

// ---- The pool ----

/**
 * The Pool's defaults, also the tplink-pool node's (nodes/tplink-pool.ts, nodes/tplink-pool.html).
 * queueLimit: a flow or script that splits a list into one request per item for one device (a burst
 * of a few hundred) must queue, not fail; the queue stays bounded in memory all the same.
 */
export const POOL_DEFAULTS = {
  timeoutMs: DEFAULT_TIMEOUT_MS,
  queueLimit: 1000,
  concurrency: 32,
  connectConcurrency: 4,
  retries: DEFAULT_RETRIES,
  backoffMs: DEFAULT_BACKOFF_MS,
  offlineAfter: 2,
  probeMinMs: 1000,
  probeMaxMs: 30000,
  idleCloseMs: 300000,
  authRetryMs: 60000,
  loginBudget: 3,
  loginLockMs: 1_800_000,
  paceMs: 250,
  paceMaxMs: 4000,
  paceQuietMs: 60_000,
  paceRetries: 3,
} as const;
/** A lockout answer (-40404) without `sec_left`: assume devices' usual 30 minutes. */
export const DEFAULT_LOCKOUT_MS = 1_800_000;
/** Wake-up: after the UDP 20002 probe, look this often whether the port accepts connections... */
export const WAKE_WAIT_MS = 300;
/** ...for at most this long (firmware opens it "within seconds"), then retry the connection once. */
export const WAKE_MAX_WAIT_MS = 4000;
/** Re-detection's unicast discovery wait. */
export const REDETECT_TIMEOUT_MS = 1500;
/** A handshake holds one of the pool's connectConcurrency slots for at most this long. */
export const SETUP_LEASE_MS = 250;
/** The offline probe's TCP connect waits at most this long (or timeoutMs when shorter). */
export const PROBE_TIMEOUT_MS = 3000;
/** A poll stream's first reading comes within this time of subscribing. */
export const FIRST_POLL_MS = 2000;
/** The shortest poll interval a subscriber may ask for. */
export const MIN_POLL_INTERVAL_MS = 50;
/**
 * Poll wake-ups are shared by every device due in the same slot of this length (at most 1/20 of
 * the poll interval). A poll starts on the first slot boundary after it is due; the schedule
 * itself does not drift, so a slot only decides which devices share one wake-up.
 */
export const POLL_SLOT_MS = 250;

// ---- Safety limits on what a device sends (normalisation, paging) ----

export const LIMITS = {
  /** IOT strip outlets read from one sysinfo. */
  iotChildren: 64,
  /** SMART children (strip outlets, hub sensors) kept from one list. */
  smartChildren: 256,
  /** Entries read from one energy history answer. */
  historyEntries: 400,
  /** Component ids read from component_nego. */
  components: 200,
  /** SMART methods per multipleRequest. */
  batch: 5,
  /** Pages fetched for one SMART paged list. */
  listPages: 50,
  /** Items kept from one SMART paged list. */
  listItems: 1000,
} as const;
