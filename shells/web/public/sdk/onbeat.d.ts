// Type declarations for the onbeat browser SDK (onbeat.js).
// All times are microseconds; "server time" is the server's clock.

/** The WebSocket subprotocol the SDK speaks: `onbeat.json.v1`. */
export const SUBPROTOCOL: 'onbeat.json.v1';

/** A cursor between messages of a topic's history. */
export interface Position {
  /** One run of the topic's history; offsets of different epochs do not compare. */
  epoch: number;
  /** Offset of the next message. */
  offset: number;
}

/** Why a subscription from `since` could not recover what was missed. */
export type NotRecoveredReason = 'epoch_changed' | 'too_old' | 'ahead' | 'no_history' | (string & {});

/** Reject codes of an input (`input_result`), plus the SDK's own. */
export type InputRejectCode =
  | 'late'
  | 'not_open'
  | 'rate_limited'
  | 'forbidden'
  | 'invalid'
  /** The connection dropped and the session was not resumed: the outcome is unknown. */
  | 'lost'
  /** The client was closed first. */
  | 'closed'
  | (string & {});

/** A payload as received: the JSON value the publisher sent, or bytes for a binary payload. */
export type Payload = unknown;

/** A message delivered on a topic. */
export interface Delivery {
  /** The topic. */
  topic: string;
  /** Epoch of the topic's history. */
  epoch: number;
  /** Offset within the epoch. */
  offset: number;
  /** Server time at which the publisher asked for it to be applied (see `Client.at`), or null. */
  at: number | null;
  /** The payload: a JSON value, or a Uint8Array for `$bytes`. */
  data: Payload;
}

/** One phase of a room's round, in server time. */
export interface Phase {
  /** Round number. */
  round: number;
  /** Index of the phase in the round. */
  index: number;
  /** Phase name, e.g. `picks`. */
  name: string;
  /** Server time the phase begins. */
  startsAt: number;
  /** Server time the phase ends. */
  endsAt: number;
  /** Whether inputs are accepted during it. */
  acceptsInput: boolean;
}

/** A presence change as the server sent it. */
export type PresenceEvent =
  | { kind: 'join'; member: string }
  | { kind: 'leave'; member: string }
  | { kind: 'snapshot'; members: string[]; more: boolean };

/** The answer to a subscribe. */
export interface SubscribedInfo {
  /** The topic. */
  topic: string;
  /** Where live messages start. */
  position: Position;
  /** True when everything after `since` is replayed before live messages. */
  recovered: boolean;
  /** Why not, when `since` was given and recovery failed. */
  reason: NotRecoveredReason | null;
  /** True for a first subscription (no `since`). */
  fresh: boolean;
}

/** An error frame from the server, or a local failure. */
export interface ErrorInfo {
  /** Protocol error code (`forbidden`, `unauthorized`, ...). */
  code: string;
  /** The server's explanation. */
  message: string;
  /** The request it answers, if any. */
  request: number | null;
  /** The refused topic, for a subscribe. */
  topic: string | null;
}

/** Events of a client and what their listeners receive. */
export interface ClientEvents {
  /** A session opened: `resumed` when the server kept the previous one. */
  open: { session: string; resumed: boolean; clock: number };
  /** The connection closed; `reconnectIn` µs until the next attempt, null when closed for good. */
  close: { code: number | null; reason: string; reconnectIn: number | null; fatal?: string };
  /** A message on a subscribed topic (or the inbox). */
  message: Delivery;
  /** A subscribe was answered (also after every reconnect). */
  subscribed: SubscribedInfo;
  /** Offsets [from, to) of a lossy topic will not arrive. */
  gap: { topic: string; epoch: number; from: number; to: number };
  /** A room's presence list changed; `members` is the complete list. */
  presence: { room: string; members: string[]; event: PresenceEvent };
  /** A phase was announced for a room. */
  phase: { room: string; phase: Phase };
  /** An `error` frame from the server. */
  error: ErrorInfo;
  /** A clock sample was taken. */
  sync: { offset: number | null; errorBound: number | null; rtt: number | null };
  /**
   * The presented clock stepped (`byUs`), the server's clock was replaced, or
   * the local clock stood still (`discontinuity`: the device slept `byUs`;
   * samples are retaken and the bound is unknown until then).
   */
  clock:
    | { type: 'stepped'; byUs: number }
    | { type: 'server_restarted'; clock: number }
    | { type: 'discontinuity'; byUs: number };
  /** A frame or pong that broke the protocol was refused. */
  protocol_error: { code: string; message: string };
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** JWT sent as `?token=` at the upgrade. */
  token?: string;
  /** Seed of the reconnect jitter (default: random), for reproducible tests. */
  seed?: number;
  /** Widest reconnect delay after the first failure, µs (default 500 ms); doubles per failure. */
  backoffBase?: number;
  /** Widest reconnect delay ever, µs (default 30 s). */
  backoffCap?: number;
  /** A session open this long resets the backoff, µs (default 5 s). */
  stableAfter?: number;
  /** Longest time from connecting to `welcome`, µs (default 10 s). */
  connectTimeout?: number;
  /** Topic of targeted deliveries (default `@inbox`). */
  inbox?: string;
  /** Clock-sync settings (see ClockSync). */
  clock?: Partial<ClockConfig>;
  /** WebSocket constructor (default: the global one). */
  WebSocket?: new (url: string, protocol: string) => WebSocketLike;
  /** Local monotonic clock in whole µs (default: performance.now()). */
  now?: () => number;
  /** Wall clock in µs, to notice sleeps of the monotonic one (default: Date.now(); off when `now` is given). */
  wallNow?: (() => number) | null;
  /** Timer functions (default: the global ones). */
  setTimeout?: (fn: () => void, ms: number) => unknown;
  /** Cancels a timer from `setTimeout`. */
  clearTimeout?: (handle: unknown) => void;
}

/** The part of WebSocket the SDK uses. */
export interface WebSocketLike {
  /** Sends a text frame. */
  send(data: string): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** Called once the socket is open. */
  onopen: ((ev: unknown) => void) | null;
  /** Called per received frame. */
  onmessage: ((ev: { data: unknown }) => void) | null;
  /** Called once the socket closed. */
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  /** Called on a socket error (a close follows). */
  onerror: ((ev: unknown) => void) | null;
}

/** A followed topic. */
export interface Subscription {
  /** The topic. */
  readonly topic: string;
  /** The position of the next expected message (null before the first answer). */
  readonly position: Position | null;
  /** Resolves on the first `subscribed`; rejects with an OnbeatError if refused (e.g. `forbidden`). */
  readonly ready: Promise<SubscribedInfo>;
  /** Stops following the topic. */
  unsubscribe(): boolean;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Resume from this position: the server replays what followed, or says why it cannot. */
  since?: Position;
  /** The topic may drop messages for a lagging client (announced by `gap`). */
  lossy?: boolean;
  /** Called for each message of this topic, in order, once each. */
  onMessage?: (message: Delivery) => void;
}

/** A refusal. */
export class OnbeatError extends Error {
  /** Reject or error code (`late`, `forbidden`, `lost`, ...). */
  readonly code: InputRejectCode;
}

/** A client session, kept across reconnects (resume, exact recovery, requests answered once). */
export class Client {
  /** 'connecting' | 'handshake' | 'open' | 'waiting' (to reconnect) | 'closed'. */
  readonly state: 'connecting' | 'handshake' | 'open' | 'waiting' | 'closed';
  /** The current session, once welcomed. */
  readonly session: { id: string; resume: string } | null;
  /** Counters: frames received and sent, duplicates dropped, sessions, resumes, protocol errors. */
  readonly stats: {
    received: number;
    sent: number;
    duplicates: number;
    sessions: number;
    resumes: number;
    protocolErrors: number;
  };
  /** The server's time now (µs), or null before the first clock sample. Never runs backwards. */
  now(): number | null;
  /** Server time minus local time, µs; null before the first sample. */
  readonly offset: number | null;
  /** The server's clock is within now() ± errorBound µs (Infinity right after a sleep). */
  readonly errorBound: number | null;
  /** Round trip of the latest clock sample, µs. */
  readonly rtt: number | null;
  /** Whether the server's clock is known. */
  readonly synced: boolean;
  /** Runs `callback(lateUs)` when the synced clock reaches `serverTime`, never earlier; returns a cancel function. */
  at(serverTime: number, callback: (lateUs: number) => void): () => void;
  /** Follows a topic; after a reconnect it resubscribes from its position. */
  subscribe(topic: string, options?: SubscribeOptions): Subscription;
  /** Stops following a topic; false if it was not followed. */
  unsubscribe(topic: string): boolean;
  /** Publishes a JSON value or bytes; resolves with where it landed; rejects with the error code. */
  publish(topic: string, data: unknown, options?: { at?: number }): Promise<Position>;
  /** Sends an input to a room; resolves 'accepted' or rejects with an OnbeatError (`late`, `not_open`, ...). */
  input(room: string, data: unknown, options?: { round?: number }): Promise<'accepted'>;
  /** The room's presence list (users). */
  members(room: string): string[];
  /** The room's phase in progress (or the latest or next announced), or null. */
  phase(room: string): Phase | null;
  /** Listens to an event; returns a function that removes the listener. */
  on<K extends keyof ClientEvents>(type: K, listener: (detail: ClientEvents[K]) => void): () => void;
  /** Removes a listener. */
  off<K extends keyof ClientEvents>(type: K, listener: (detail: ClientEvents[K]) => void): void;
  /** Closes for good; pending requests reject with `closed`. */
  close(): void;
}

/** Opens a client to `url` (e.g. `wss://host/ws`); it connects at once and reconnects until closed. */
export function connect(url: string, options?: ConnectOptions): Client;

/** Clock-sync settings, µs and ppm (the core's ClockConfig). */
export interface ClockConfig {
  /** Time between pings once settled. */
  interval: number;
  /** Time between pings while unsettled. */
  fastInterval: number;
  /** Samples always taken at the fast interval. */
  fastSamples: number;
  /** Settled once samples move the estimate by less than this on average. */
  settled: number;
  /** A ping unanswered this long is lost. */
  pingTimeout: number;
  /** Largest relative drift the bound allows for, ppm. */
  maxDriftPpm: number;
  /** How much the drift may wander, ppm per second. */
  wanderPpm: number;
  /** Corrections larger than this step instead of slewing. */
  stepThreshold: number;
  /** Largest rate change used to slew, ppm. */
  maxSlewPpm: number;
}

/** The core's ClockConfig defaults. */
export const DEFAULT_CLOCK_CONFIG: Readonly<ClockConfig>;

/** What a ClockSync asks for or reports. */
export type ClockEvent =
  | { type: 'ping'; seq: number; t1: number }
  | { type: 'stepped'; byUs: number }
  | { type: 'server_restarted'; clock: number };

/** Why a pong was refused. */
export class ClockError extends Error {
  /** Which rule it broke. */
  readonly code: 'unknown_ping' | 'echo_mismatch' | 'invalid_timestamps' | 'retired_clock';
}

/** Sans-IO clock synchronisation, a port of onbeat-core's ClockSync (bit-identical results). */
export class ClockSync {
  /** A machine that wants its first ping at local `now`. */
  constructor(config: Partial<ClockConfig>, now: number);
  /** Samples accepted since the server's clock was last learned. */
  samples(): number;
  /** The server clock id, once known. */
  serverClock(): number | null;
  /** The next event, or null. */
  pollOutput(): ClockEvent | null;
  /** Local time at which `handleTimeout` is next needed. */
  pollTimeout(): number;
  /** Sends a ping when due. */
  handleTimeout(now: number): void;
  /** Digests a pong; returns its round trip; throws a ClockError if refused. */
  handlePong(pong: { seq: number; t1: number; t2: number; t3: number; clock: number }, now: number): number;
  /** The local clock jumped (sleep): forget samples, ping at once. */
  handleDiscontinuity(now: number): void;
  /** The server's time at local `now` with its error bound, or null before the first sample. */
  estimate(now: number): { serverTime: number; errorBound: number } | null;
  /** Earliest local time at which the estimate reads `serverTime`, or null. */
  localTimeOf(serverTime: number): number | null;
}

/** A frame refused by the decoder; `code` names the defect (docs/protocol.md). */
export class ProtocolError extends Error {
  /** `frame_too_large`, `malformed`, `too_deep`, `unknown_variant`, `too_long` or `invalid`. */
  readonly code: string;
}

/** The JSON text that carries `data` (a JSON value, or a Uint8Array of bytes) as a payload. */
export function encodePayload(data: unknown): string;
/** A received `data` value: the JSON value, or a Uint8Array for `{"$bytes": ...}`. */
export function decodePayload(value: unknown): unknown;
/** Encodes a client message (`{type: 'hello' | 'ping' | ...}`) as a JSON frame. */
export function encodeClient(message: { type: string; [field: string]: unknown }): string;
/** Decodes and checks one server frame into `{type, ...fields}`. */
export function decodeServer(frame: unknown, maxFrame?: number): { type: string; [field: string]: unknown };

/** Seedable PRNG used for reconnect jitter. */
export class Rng {
  /** A stream from a 32-bit seed. */
  constructor(seed: number);
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
}

/** Exponential backoff with full jitter. */
export class Backoff {
  /** A delay sequence from its own seed. */
  constructor(seed: number);
  /** Starts over from the shortest window. */
  reset(): void;
  /** The next delay (µs), uniform in [0, min(cap, base·2^n)]. */
  nextDelay(base: number, cap: number): number;
}

/** The widest delay after `attempt` failures in a row: min(cap, base·2^attempt). */
export function backoffWindow(base: number, cap: number, attempt: number): number;

/** One topic's cursor and standing with the server (exposed for tests). */
export class Stream {
  /** A stream of a reliable or lossy topic. */
  constructor(lossy: boolean);
  /** Position of the next expected message. */
  cursor: Position | null;
  /** 'unsent' | 'awaiting' | 'active' | 'leaving'. */
  state: string;
}
