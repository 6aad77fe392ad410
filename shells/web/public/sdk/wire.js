// The JSON subprotocol `onbeat.json.v1` (docs/protocol.md): encoding client
// messages, decoding and checking server messages, payloads and `$bytes`.

/** The WebSocket subprotocol this SDK speaks. */
export const SUBPROTOCOL = 'onbeat.json.v1';
/** Protocol version sent in `hello`. */
export const VERSION = 1;
/** Nesting allowed in a whole frame, and in an embedded payload. */
const MAX_FRAME_DEPTH = 40;
const MAX_PAYLOAD_DEPTH = 32;
/** Largest frame accepted before the server has said its own limit. */
export const DEFAULT_MAX_FRAME = 65536;

/** A frame the SDK refuses, with the protocol's decode error name as `code`. */
export class ProtocolError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Deepest nesting of arrays/objects in JSON text, ignoring brackets inside strings. */
export function nesting(text) {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fromBase64(text) {
  if (typeof text !== 'string' || !BASE64.test(text)) {
    throw new ProtocolError('invalid', '$bytes is not padded standard base64');
  }
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function isReserved(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$bytes';
}

function wrap(bytes) {
  return `{"$bytes":"${toBase64(bytes)}"}`;
}

// Bytes that are one JSON value with no surrounding whitespace, shallow
// enough and not of the reserved shape travel verbatim; the rest wrapped.
function embeddable(text) {
  if (text.length === 0 || /^\s|\s$/.test(text) || nesting(text) > MAX_PAYLOAD_DEPTH) return false;
  try {
    return !isReserved(JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * The JSON text that carries `data` as a payload. A Uint8Array is bytes; any
 * other value is serialised with JSON.stringify and sent as that text.
 */
export function encodePayload(data) {
  if (data instanceof Uint8Array) {
    let text;
    try {
      text = strictUtf8.decode(data);
    } catch {
      return wrap(data);
    }
    return embeddable(text) ? text : wrap(data);
  }
  const text = JSON.stringify(data);
  if (text === undefined) throw new TypeError('payload must be JSON-serialisable or a Uint8Array');
  return embeddable(text) ? text : wrap(utf8.encode(text));
}

/** A received `data` value: the JSON value as sent, or a Uint8Array for `$bytes`. */
export function decodePayload(value) {
  if (value === undefined) throw new ProtocolError('invalid', 'missing data');
  return isReserved(value) ? fromBase64(value.$bytes) : value;
}

const json = (v) => (v === undefined || v === null ? 'null' : JSON.stringify(v));

/** Encodes a client message. `data` of publish/input must come from `encodePayload`. */
export function encodeClient(msg) {
  switch (msg.type) {
    case 'hello':
      return `{"hello":{"version":${VERSION},"resume":${json(msg.resume)},"auth":${json(msg.auth)}}}`;
    case 'ping':
      return `{"ping":{"seq":${msg.seq},"t1":${msg.t1}}}`;
    case 'subscribe':
      return `{"subscribe":{"topic":${json(msg.topic)},"since":${msg.since ? positionText(msg.since) : 'null'}}}`;
    case 'unsubscribe':
      return `{"unsubscribe":{"topic":${json(msg.topic)}}}`;
    case 'publish':
      return `{"publish":{"topic":${json(msg.topic)},"data":${msg.data},"at":${json(msg.at)},"request":${json(msg.request)}}}`;
    case 'input':
      return `{"input":{"room":${json(msg.room)},"request":${msg.request},"round":${json(msg.round)},"data":${msg.data}}}`;
    default:
      throw new TypeError(`unknown client message ${msg.type}`);
  }
}

function positionText(p) {
  return `{"epoch":${p.epoch},"offset":${p.offset}}`;
}

// Field checkers: each returns the value or throws `invalid`.
const fail = (what) => {
  throw new ProtocolError('invalid', what);
};
const u = (max) => (v, name) => (Number.isInteger(v) && v >= 0 && v <= max ? v : fail(`${name} out of range`));
const u8 = u(0xff);
const u16 = u(0xffff);
const u32 = u(0xffffffff);
const u64 = u(Number.MAX_SAFE_INTEGER);
const str = (limit) => (v, name) => {
  if (typeof v !== 'string') fail(`${name} is not a string`);
  if (utf8.encode(v).length > limit) throw new ProtocolError('too_long', `${name} too long`);
  return v;
};
const bool = (v, name) => (typeof v === 'boolean' ? v : fail(`${name} is not a boolean`));
const opt = (check) => (v, name) => (v === undefined || v === null ? null : check(v, name));
const position = (v, name) => {
  if (v === null || typeof v !== 'object') fail(`${name} is not a position`);
  return { epoch: u64(v.epoch, 'epoch'), offset: u64(v.offset, 'offset') };
};
const text = str(256);
const topic = str(128);
const room = str(128);
const member = str(64);
// Codes may be added within v1: unknown ones are kept as strings.
const code = (v, name) => (typeof v === 'string' && v.length <= 64 ? v : fail(`${name} is not a code`));

const outcome = (v) => {
  if (v === 'accepted') return { accepted: true, code: null };
  if (v && typeof v === 'object' && typeof v.rejected === 'string') return { accepted: false, code: v.rejected };
  return fail('outcome');
};

const phase = (v) => {
  if (v === null || typeof v !== 'object') fail('phase');
  return {
    round: u32(v.round, 'round'),
    index: u8(v.index, 'index'),
    name: str(16)(v.name, 'name'),
    startsAt: u64(v.starts_at, 'starts_at'),
    endsAt: u64(v.ends_at, 'ends_at'),
    acceptsInput: bool(v.accepts_input, 'accepts_input'),
  };
};

const presenceEvent = (v) => {
  if (v && typeof v === 'object') {
    if ('join' in v) return { kind: 'join', member: member(v.join, 'join') };
    if ('leave' in v) return { kind: 'leave', member: member(v.leave, 'leave') };
    if ('snapshot' in v && v.snapshot && Array.isArray(v.snapshot.members)) {
      return {
        kind: 'snapshot',
        members: v.snapshot.members.map((m) => member(m, 'member')),
        more: bool(v.snapshot.more, 'more'),
      };
    }
  }
  return fail('presence event');
};

const SERVER = {
  welcome: (b) => ({
    version: u16(b.version, 'version'),
    session: member(b.session, 'session'),
    resume: str(512)(b.resume, 'resume'),
    clock: u64(b.clock, 'clock'),
    maxFrame: u32(b.max_frame, 'max_frame'),
  }),
  pong: (b) => ({
    seq: u32(b.seq, 'seq'),
    t1: u64(b.t1, 't1'),
    t2: u64(b.t2, 't2'),
    t3: u64(b.t3, 't3'),
    clock: u64(b.clock, 'clock'),
  }),
  subscribed: (b) => ({
    topic: topic(b.topic, 'topic'),
    position: position(b.position, 'position'),
    recovered: bool(b.recovered, 'recovered'),
    reason: opt(code)(b.reason, 'reason'),
  }),
  deliver: (b) => ({
    topic: topic(b.topic, 'topic'),
    epoch: u64(b.epoch, 'epoch'),
    offset: u64(b.offset, 'offset'),
    at: opt(u64)(b.at, 'at'),
    data: decodePayload(b.data),
  }),
  gap: (b) => ({
    topic: topic(b.topic, 'topic'),
    epoch: u64(b.epoch, 'epoch'),
    from: u64(b.from, 'from'),
    to: u64(b.to, 'to'),
  }),
  publish_ack: (b) => ({ request: u32(b.request, 'request'), position: position(b.position, 'position') }),
  input_result: (b) => ({ request: u32(b.request, 'request'), ...outcome(b.outcome) }),
  phase: (b) => ({ room: room(b.room, 'room'), phase: phase(b.phase) }),
  presence: (b) => ({ room: room(b.room, 'room'), event: presenceEvent(b.event) }),
  error: (b) => ({
    code: code(b.code, 'code'),
    request: opt(u32)(b.request, 'request'),
    message: text(b.message, 'message'),
    topic: opt(topic)(b.topic, 'topic'),
  }),
};

/**
 * Decodes one server frame into `{type, ...fields}` (camelCase), checking
 * size, depth and every field; throws a ProtocolError naming the defect.
 */
export function decodeServer(frame, maxFrame = DEFAULT_MAX_FRAME) {
  if (typeof frame !== 'string') throw new ProtocolError('malformed', 'expected a text frame');
  if (utf8.encode(frame).length > maxFrame) throw new ProtocolError('frame_too_large', 'frame too large');
  if (nesting(frame) > MAX_FRAME_DEPTH) throw new ProtocolError('too_deep', 'frame nested too deeply');
  let value;
  try {
    value = JSON.parse(frame);
  } catch (e) {
    throw new ProtocolError('malformed', e.message);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('not a message');
  const keys = Object.keys(value);
  if (keys.length !== 1) fail('a message has exactly one name');
  const decode = SERVER[keys[0]];
  if (!decode) throw new ProtocolError('unknown_variant', `unknown message ${keys[0]}`);
  const body = value[keys[0]];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('message body');
  return { type: keys[0], ...decode(body) };
}
