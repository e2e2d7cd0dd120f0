// The haven.v1 client of one meeting: connection, reconnection, resume and the outbox.
// Written against proto/PROTOCOL.md; section numbers below refer to it. No DOM here: the room
// page listens to this object's events and draws them, and the unit tests drive it with a fake
// WebSocket and fake timers.
//
// What it keeps (section 14): the token (through `tokens`), the session id of `joined`, the last
// seq seen, the events of the session (deduplicated by seq, in seq order) and the outbox: every
// say and react not yet acknowledged, in the order written, with its client_msg_id. The outbox is
// saved after every change, so a message typed while offline survives a page reload.

import { newClientMsgId } from './ids.js';

export const SUBPROTOCOL = 'haven.v1';
export const REACTIONS = Object.freeze(['thanks', 'heart', 'hug', 'strength', 'clap']);
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

const DEFAULT_LIMITS = Object.freeze({
  max_frame_bytes: 16384,
  max_text_chars: 4000,
  rate_per_sec: 5,
  rate_burst: 20,
});

// Reconnect delays (section 14, step 1): 0.5 s doubling up to 30 s, each with random jitter
// between half and all of it.
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30000;
// After a catch-up failed for want of the database (error then close 1013), wait at least this.
const CATCHUP_FAILURE_DELAY_MS = 3000;
// Keepalive for browsers, which cannot see WebSocket pings (section 9).
const PING_AFTER_MS = 30000;
const PONG_TIMEOUT_MS = 10000;
const CONNECT_TIMEOUT_MS = 15000;
const TICK_MS = 2000;

const utf8 = new TextEncoder();

// Join refusals that end the connection's attempt to be in the meeting (chairing codes).
const JOIN_REFUSALS = new Set(['meeting_locked', 'banned', 'closed_meeting', 'session_closed']);

// Why a say is held (kept in the outbox, not sent again by itself), by error code.
const HELD_FOR = {
  too_long: 'too_long',
  forbidden: 'forbidden',
  muted: 'muted',
  chat_locked: 'chat_locked',
  no_crosstalk: 'no_crosstalk',
  waiting_room: 'waiting_room',
  session_closed: 'session',
};

export function wsUrl(slug, loc = globalThis.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/${slug}`;
}

// Text a say may carry: at least one character other than space, tab, CR and LF.
export function hasContent(text) {
  return /[^ \t\r\n]/.test(text);
}

export function charCount(text) {
  let n = 0;
  for (const _ of text) n++; // code points, as the server counts (section 1, Limits)
  return n;
}

export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

export class MeetingClient {
  // opts: slug, name, visitor, url, WebSocket, store ({load, save, remove}: the outbox and the
  // attendee token), account ({token()} of a logged-in chair, and expired() to forget it),
  // fullNameConfirmed, and for tests: setTimeout, clearTimeout, now, random.
  constructor(opts) {
    this.slug = opts.slug;
    this.name = opts.name;
    this.visitor = !!opts.visitor;
    this.url = opts.url || wsUrl(opts.slug);
    this.WebSocket = opts.WebSocket || globalThis.WebSocket;
    this.store = opts.store;
    this.account = opts.account || null;
    this.fullNameConfirmed = !!opts.fullNameConfirmed;
    this.setTimeout = opts.setTimeout || globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = opts.clearTimeout || globalThis.clearTimeout.bind(globalThis);
    this.now = opts.now || (() => Date.now());
    this.random = opts.random || Math.random;

    this.listeners = new Map();
    this.state = 'idle'; // idle connecting hello confirm-name joining joined waiting-room retrying ended
    this.endReason = null;
    this.ws = null;
    this.connSerial = 0;
    this.attempt = 0;
    this.retryAt = null;
    this.retryTimer = null;
    this.minNextDelay = 0;
    this.tickTimer = null;
    this.connectTimer = null;

    this.limits = { ...DEFAULT_LIMITS };
    this.tokens = this.limits.rate_burst;
    this.tokensAt = this.now();
    this.sendQueue = [];
    this.pumpTimer = null;
    this.nextId = 1;
    this.pending = new Map(); // request id -> {type, cmid?, frame}
    this.usedAccount = false;

    this.sessionId = null;
    this.meeting = null;
    this.you = null;
    this.members = new Map();
    this.topic = null;
    this.storeState = 'ok';
    this.phase = null;
    this.live = null; // the session's State (PROTOCOL.md 4.13), whole, as last sent
    this.waitingRoom = []; // Members waiting to be let in (greeters and above are told)
    this.clockOffset = 0; // server clock minus ours, estimated from live events
    this.granted = new Map(); // member -> role given with grant in this session
    this.events = new Map(); // seq -> Event
    this.lastSeq = 0;
    this.catchingUp = false;
    this.hasEarlier = false;
    this.historyPending = false;
    this.lastHeard = this.now();
    this.pingSentAt = null;

    const saved = this.store.load(this.outboxKey(), null);
    this.outbox = Array.isArray(saved && saved.items)
      ? saved.items.filter((it) => it && typeof it.cmid === 'string' && (it.kind === 'say' || it.kind === 'react'))
      : [];
    this.knownSession = saved && Number.isInteger(saved.sessionId) ? saved.sessionId : null;
  }

  // --- events for the page ------------------------------------------------------------------

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, detail = {}) {
    for (const fn of this.listeners.get(type) || []) {
      try {
        fn(detail);
      } catch (e) {
        // A drawing bug must not break the connection; it shows in the console.
        globalThis.console?.error?.(e);
      }
    }
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit('state', { state, ...extra });
  }

  // --- public operations --------------------------------------------------------------------

  start() {
    if (this.state === 'idle') this.connect();
  }

  // After a full_name warning: go on with this name.
  confirmName() {
    this.fullNameConfirmed = true;
    if (this.state === 'confirm-name') this.sendJoin();
  }

  // Try to reconnect now instead of waiting (the page came online, or the person asked).
  retryNow() {
    if (this.state !== 'retrying') return;
    this.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = Math.max(0, this.attempt - 1);
    this.connect();
  }

  // Leave the meeting: tell the server, close the connection, never reconnect.
  leave() {
    if (this.state === 'ended') return;
    const ws = this.ws;
    if (ws && this.state === 'joined' && ws.readyState === 1) {
      try {
        ws.send(JSON.stringify({ type: 'leave', id: this.nextId++ }));
      } catch {
        // closing anyway
      }
    }
    this.end('left');
  }

  // Write a message. Returns {ok: true, item} or {ok: false, code} with code 'empty',
  // 'too_long' or 'visitor'. The message goes into the outbox first: it is sent now if the
  // connection is up, or as soon as it is back. offRecord: delivered live, its text never stored.
  say(text, { offRecord = false } = {}) {
    if (this.you && this.you.role === 'visitor') return { ok: false, code: 'visitor' };
    if (!hasContent(text)) return { ok: false, code: 'empty' };
    const check = this.checkLength(text);
    if (check) return { ok: false, ...check };
    const item = {
      cmid: newClientMsgId(),
      kind: 'say',
      text,
      sessionId: this.sessionId ?? this.knownSession,
      created: this.now(),
    };
    if (offRecord) item.offRecord = true;
    this.outbox.push(item);
    this.saveOutbox();
    this.emit('outbox', {});
    this.flushOutbox();
    return { ok: true, item };
  }

  // The length problem of a text, or null: {code: 'too_long', chars, limit}.
  checkLength(text) {
    const chars = charCount(text);
    if (chars > this.limits.max_text_chars) {
      return { code: 'too_long', chars, limit: this.limits.max_text_chars };
    }
    const frame = JSON.stringify({ type: 'say', id: 2 ** 40, client_msg_id: 'x'.repeat(64), text });
    if (utf8.encode(frame).length > this.limits.max_frame_bytes) {
      return { code: 'too_long', chars, limit: this.limits.max_text_chars, bytes: true };
    }
    return null;
  }

  // React to a message (seq). Offered once per reaction and message (section 3.5).
  react(seq, reaction) {
    if (!REACTIONS.includes(reaction)) return { ok: false, code: 'unknown' };
    if (this.myReaction(seq, reaction)) return { ok: false, code: 'already' };
    const item = {
      cmid: newClientMsgId(),
      kind: 'react',
      seq,
      reaction,
      sessionId: this.sessionId,
      created: this.now(),
    };
    this.outbox.push(item);
    this.saveOutbox();
    this.emit('outbox', {});
    this.flushOutbox();
    return { ok: true, item };
  }

  // Whether this member already gave (or is giving) this reaction to this message.
  myReaction(seq, reaction) {
    const me = this.you && this.you.member;
    for (const ev of this.events.values()) {
      if (ev.kind === 'reaction' && ev.target_seq === seq && ev.reaction === reaction &&
          ev.from && ev.from.member === me) {
        return true;
      }
    }
    return this.outbox.some((it) => it.kind === 'react' && it.seq === seq && it.reaction === reaction);
  }

  // A request that runs the session or talks to the chairs (PROTOCOL.md 3.8 to 3.25, votes):
  // start, end, admit, settings, call, mute, private, help, ... Resolves (never rejects) with
  // {ok: true, seq, delivered} on `done`, or {ok: false, code, message, field} with the
  // server's error. These requests are not idempotent, so nothing is sent again by itself: when
  // the connection is lost first the answer is {ok: false, code: 'connection'}.
  command(frame) {
    if (this.state !== 'joined' && this.state !== 'waiting-room') {
      return Promise.resolve({ ok: false, code: 'not_connected', message: 'Not connected to the meeting right now.' });
    }
    return new Promise((resolve) => {
      this.request(frame, { resolve });
    });
  }

  // Fetch older events of the session (scrolling back).
  loadEarlier(limit = 100) {
    if (this.state !== 'joined' || this.historyPending) return false;
    const lowest = this.lowestSeq();
    if (lowest === null || lowest <= 1) return false;
    this.historyPending = true;
    this.request({ type: 'history', before_seq: lowest, limit });
    return true;
  }

  // A held message (see `held` on outbox items): send it now in the current session.
  sendHeld(cmid) {
    const item = this.outbox.find((it) => it.cmid === cmid);
    if (!item || !item.held) return;
    if (item.held === 'failed') item.cmid = newClientMsgId(); // never reuse it after internal
    item.held = null;
    item.sentOn = null;
    item.sessionId = this.sessionId;
    this.saveOutbox();
    this.emit('outbox', {});
    this.flushOutbox();
  }

  discard(cmid) {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((it) => it.cmid !== cmid);
    if (this.outbox.length !== before) {
      this.saveOutbox();
      this.emit('outbox', {});
    }
  }

  // Messages written by this person that are not shown as events yet, in the order written.
  pendingMessages() {
    return this.outbox.filter((it) => it.kind === 'say');
  }

  // 'sending' while a say or react is in the outbox, else 'delivered'.
  deliveryOf(cmid) {
    return this.outbox.some((it) => it.cmid === cmid) ? 'sending' : 'delivered';
  }

  lowestSeq() {
    let low = null;
    for (const seq of this.events.keys()) if (low === null || seq < low) low = seq;
    return low;
  }

  sortedEvents() {
    return [...this.events.values()].sort((a, b) => a.seq - b.seq);
  }

  // --- connection ---------------------------------------------------------------------------

  // Answer every command still waiting for the server: the connection it went on is gone.
  failCommands() {
    for (const req of this.pending.values()) {
      if (req.resolve) {
        req.resolve({ ok: false, code: 'connection', message: 'The connection was lost before the server answered. Check the meeting before trying again.' });
      }
    }
    this.pending.clear();
  }

  connect() {
    this.retryAt = null;
    this.connSerial++;
    this.failCommands();
    this.sendQueue = [];
    this.catchingUp = false;
    this.historyPending = false;
    this.setState('connecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new this.WebSocket(this.url, SUBPROTOCOL);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.clearTimeout(this.connectTimer);
      this.lastHeard = this.now();
      this.pingSentAt = null;
      this.tokens = this.limits.rate_burst;
      this.tokensAt = this.now();
      this.startTicking();
      this.sendHello();
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.lastHeard = this.now();
      this.pingSentAt = null;
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object' && typeof frame.type === 'string') this.handle(frame);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.closed(ev && typeof ev.code === 'number' ? ev.code : 1006);
    };
    ws.onerror = () => {
      // onclose follows and decides.
    };
    this.clearTimeout(this.connectTimer);
    this.connectTimer = this.setTimeout(() => {
      if (ws === this.ws && ws.readyState === 0) this.drop(ws);
    }, CONNECT_TIMEOUT_MS);
  }

  // Give up on a socket at once (no answer to a ping, a connect that hangs): close it and
  // treat it as closed without waiting for the browser's close handshake.
  drop(ws) {
    try {
      ws.close();
    } catch {
      // already closing
    }
    if (ws === this.ws) this.closed(1006);
  }

  closed(code) {
    this.ws = null;
    this.stopTicking();
    this.clearTimeout(this.connectTimer);
    this.clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    this.sendQueue = [];
    this.failCommands();
    this.catchingUp = false;
    this.historyPending = false;
    for (const it of this.outbox) {
      // Whatever waited to be sent again goes with the next connection's join.
      if (it.retryTimer) this.clearTimeout(it.retryTimer);
      it.retryTimer = null;
    }
    if (this.state === 'ended') return;
    if (code === 4404) {
      this.end('not_found');
    } else if (code === 1000 && this.phase === 'closed') {
      // The chair ended the session (section 13): do not come back by ourselves.
      this.end('session_ended');
    } else if (code === 1008 || code === 1003 || code === 1007 || code === 1009) {
      this.end('refused', { code });
    } else {
      if (code === 1013) this.minNextDelay = Math.max(this.minNextDelay, 1000);
      if (code === 4503) {
        // Another server of a cluster serves the meeting (section 1): come back after its
        // retry hint, with jitter of up to as much again, and resume as after any drop.
        const hint = this.movedRetryMs || 1000;
        this.movedRetryMs = 0;
        this.minNextDelay = Math.max(this.minNextDelay, hint + Math.round(this.random() * hint));
      }
      this.scheduleReconnect();
    }
  }

  scheduleReconnect() {
    if (this.state === 'ended') return;
    this.attempt++;
    const delay = Math.max(backoffDelay(this.attempt, this.random), this.minNextDelay);
    this.minNextDelay = 0;
    this.retryAt = this.now() + delay;
    this.clearTimeout(this.retryTimer);
    this.retryTimer = this.setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'retrying') this.connect();
    }, delay);
    this.setState('retrying', { retryAt: this.retryAt, attempt: this.attempt });
  }

  end(reason, extra = {}) {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = reason;
    this.clearTimeout(this.retryTimer);
    this.clearTimeout(this.connectTimer);
    this.clearTimeout(this.pumpTimer);
    this.stopTicking();
    this.failCommands();
    for (const it of this.outbox) if (it.retryTimer) this.clearTimeout(it.retryTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this.emit('state', { state: 'ended', reason, ...extra });
    this.emit('ended', { reason, ...extra });
  }

  startTicking() {
    this.stopTicking();
    const tick = () => {
      this.tickTimer = this.setTimeout(tick, TICK_MS);
      const ws = this.ws;
      if (!ws || ws.readyState !== 1) return;
      const now = this.now();
      if (this.pingSentAt !== null) {
        if (now - this.pingSentAt > PONG_TIMEOUT_MS) this.drop(ws);
      } else if (now - this.lastHeard > PING_AFTER_MS) {
        this.pingSentAt = now;
        this.send({ type: 'ping', id: this.nextId++ });
      }
    };
    this.tickTimer = this.setTimeout(tick, TICK_MS);
  }

  stopTicking() {
    this.clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }

  // --- sending, paced below the rate limit (section 10) ---------------------------------

  refill() {
    const now = this.now();
    const rate = Math.max(0.1, Number(this.limits.rate_per_sec) || 1) * 0.9;
    this.tokens = Math.min(this.limits.rate_burst, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    return rate;
  }

  send(frame) {
    this.sendQueue.push(frame);
    this.pump();
  }

  pump() {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return;
    const rate = this.refill();
    while (this.sendQueue.length && this.tokens >= 1) {
      const frame = this.sendQueue.shift();
      this.tokens -= 1;
      try {
        ws.send(JSON.stringify(frame));
      } catch {
        return; // the close event follows
      }
    }
    if (this.sendQueue.length && !this.pumpTimer) {
      const wait = Math.ceil(((1 - this.tokens) / rate) * 1000) + 5;
      this.pumpTimer = this.setTimeout(() => {
        this.pumpTimer = null;
        this.pump();
      }, wait);
    }
  }

  // Send a request with a fresh id and remember what it was, to act on its error.
  request(frame, meta = {}) {
    const id = this.nextId++;
    const full = { ...frame, id };
    this.pending.set(id, { type: frame.type, frame, ...meta });
    this.send(full);
    return id;
  }

  sendHello() {
    const accountToken = this.account && this.account.token ? this.account.token() : null;
    const token = accountToken || this.store.load('token', null);
    this.usedAccount = !!accountToken;
    const frame = { type: 'hello', name: this.name };
    if (typeof token === 'string' && /^[0-9a-f]{64}$/.test(token)) frame.token = token;
    if (this.visitor) frame.visitor = true;
    this.setState('hello');
    this.request(frame);
  }

  sendJoin() {
    const frame = { type: 'join' };
    // Resume only within this page's own record of the session (section 14, step 3).
    if (this.sessionId !== null) frame.after_seq = this.lastSeq;
    this.setState('joining');
    this.request(frame);
  }

  sendItem(item) {
    item.sentOn = this.connSerial;
    const frame = item.kind === 'say'
      ? { type: 'say', client_msg_id: item.cmid, text: item.text }
      : { type: 'react', client_msg_id: item.cmid, seq: item.seq, reaction: item.reaction };
    if (item.kind === 'say' && item.offRecord) frame.off_record = true;
    this.request(frame, { cmid: item.cmid });
  }

  // Send, in order, every outbox item not yet sent on this connection (section 14, step 5).
  // While the database is away the server queues what it got: nothing is sent twice on one
  // connection (section 6, While the database is away).
  flushOutbox() {
    if (this.state !== 'joined') return;
    for (const item of this.outbox) {
      if (item.held || item.retryTimer || item.sentOn === this.connSerial) continue;
      this.sendItem(item);
    }
  }

  retryItemLater(item, ms) {
    if (item.retryTimer) this.clearTimeout(item.retryTimer);
    item.retryTimer = this.setTimeout(() => {
      item.retryTimer = null;
      item.sentOn = null;
      this.flushOutbox();
    }, Math.max(0, ms));
  }

  saveOutbox() {
    const items = this.outbox.map((it) => {
      const out = { cmid: it.cmid, kind: it.kind, sessionId: it.sessionId ?? null, created: it.created };
      if (it.kind === 'say') {
        out.text = it.text;
        if (it.offRecord) out.offRecord = true;
      } else {
        out.seq = it.seq;
        out.reaction = it.reaction;
      }
      if (it.held) out.held = it.held;
      return out;
    });
    const sessionId = this.sessionId ?? this.knownSession;
    if (items.length === 0) this.store.remove(this.outboxKey());
    else this.store.save(this.outboxKey(), { sessionId, items });
  }

  outboxKey() {
    return `outbox.${this.slug}`;
  }

  // --- frames from the server ---------------------------------------------------------------

  handle(f) {
    switch (f.type) {
      case 'welcome': return this.onWelcome(f);
      case 'joined': return this.onJoined(f);
      case 'waiting': return this.onWaiting(f);
      case 'state': return this.onLiveState(f.state);
      case 'event': return this.ingest(f.event ? [f.event] : [], this.catchingUp ? 'catchup' : 'live');
      case 'events': return this.onEvents(f);
      case 'ack': return this.onAck(f);
      case 'presence': return this.onPresence(f);
      case 'status': return this.onStatus(f);
      case 'history': return this.onHistory(f);
      case 'error': return this.onError(f);
      case 'done': return this.onDone(f);
      case 'waiting_room':
        this.waitingRoom = Array.isArray(f.members) ? f.members.filter((m) => m && Number.isInteger(m.member)) : [];
        return this.emit('waitingroom', { members: this.waitingRoom });
      case 'private':
        return this.emit('private', { message: f });
      case 'left':
      case 'pong':
      default:
        // Frames of later versions are ignored.
        return undefined;
    }
  }

  onWelcome(f) {
    this.pending.delete(f.id);
    if (!this.usedAccount && typeof f.token === 'string') this.store.save('token', f.token);
    if (f.limits && typeof f.limits === 'object') {
      for (const k of Object.keys(DEFAULT_LIMITS)) {
        if (typeof f.limits[k] === 'number' && f.limits[k] > 0) this.limits[k] = f.limits[k];
      }
      this.tokens = Math.min(this.tokens, this.limits.rate_burst);
    }
    const warnings = Array.isArray(f.warnings) ? f.warnings : [];
    const fullName = warnings.find((w) => w && w.code === 'full_name');
    this.emit('welcome', { name: f.name, warnings });
    if (fullName && !this.fullNameConfirmed) {
      this.setState('confirm-name');
      this.emit('fullname', { message: fullName.message });
      return;
    }
    this.sendJoin();
  }

  onJoined(f) {
    this.pending.delete(f.id);
    const session = f.session || {};
    const reset = this.sessionId !== null && session.id !== this.sessionId;
    if (reset) {
      // A new session began while we were away: what we had belongs to the old one (section 14).
      this.events.clear();
      this.granted.clear();
      this.lastSeq = 0;
    }
    const first = this.sessionId === null;
    this.sessionId = session.id;
    this.knownSession = session.id;
    this.meeting = f.meeting || { slug: this.slug, name: this.slug };
    this.you = f.you || null;
    this.topic = f.topic ?? null;
    this.members = new Map((f.members || []).map((m) => [m.member, m]));
    this.attempt = 0;
    this.catchingUp = !!f.more;

    // Outbox items of another session are not posted into this one without asking; reactions
    // to messages of another session mean nothing here and go.
    let changed = false;
    this.outbox = this.outbox.filter((it) => {
      if (it.sessionId === null || it.sessionId === undefined) {
        it.sessionId = session.id;
        changed = true;
      }
      if (it.sessionId === session.id) return true;
      changed = true;
      if (it.kind === 'react') return false;
      it.held = 'session';
      return true;
    });
    if (changed) this.saveOutbox();

    this.setState('joined', { reset, first });
    this.emit('joined', { reset, first, session, meeting: this.meeting, you: this.you });
    this.onLiveState(f.state);
    this.emit('members', {});
    this.setStore(f.store === 'paused' ? 'paused' : 'ok');
    this.ingest(Array.isArray(f.events) ? f.events : [], 'join');
    const lowest = this.lowestSeq();
    this.hasEarlier = lowest !== null ? lowest > 1 : (session.last_seq || 0) > 0 && reset;
    if (reset && this.hasEarlier) {
      this.historyPending = true;
      this.request({
        type: 'history',
        before_seq: lowest !== null ? lowest : (session.last_seq || 0) + 1,
        limit: 200,
      });
    }
    this.emit('outbox', {});
    this.flushOutbox();
  }

  // The session's live state (PROTOCOL.md 4.13): replaced whole by every state frame.
  onLiveState(state) {
    if (!state || typeof state !== 'object') return;
    this.live = state;
    this.emit('live', { state });
    const phase = typeof state.phase === 'string' ? state.phase : null;
    if (phase === this.phase) return;
    this.phase = phase;
    this.emit('phase', { phase });
  }

  // The server's clock now, as well as this client can tell (share timers count from the
  // server's started_at).
  serverNow() {
    return this.now() + this.clockOffset;
  }

  // This member's rank now (PROTOCOL.md 17): the role of joined, changed by the events of the
  // session (grant, hand_over, chair_taken) as the state shows them.
  rank() {
    return this.you ? this.rankOf(this.you) : 'attendee';
  }

  // The rank now of a member entry {member, role} (its role when it was sent).
  rankOf(entry) {
    const n = entry.member;
    let role = this.granted.has(n) ? this.granted.get(n) : entry.role;
    const live = this.live;
    if (live && live.chair === n) return role === 'admin' ? 'admin' : 'chair';
    if (role === 'chair') return 'co-chair'; // a chair account while someone else holds the chair
    if (live && Array.isArray(live.cochairs) && live.cochairs.includes(n) && role !== 'admin') return 'co-chair';
    return ['visitor', 'attendee', 'greeter', 'co-chair', 'admin'].includes(role) ? role : 'attendee';
  }

  onDone(f) {
    const req = f.id !== undefined ? this.pending.get(f.id) : undefined;
    if (!req) return;
    this.pending.delete(f.id);
    if (req.resolve) req.resolve({ ok: true, seq: f.seq ?? null, delivered: f.delivered ?? null });
  }

  // The waiting room (chairing): the reply to a join that must wait for a chair, or a chair
  // sent this member back. Nothing of the meeting comes until a joined frame.
  onWaiting(f) {
    if (f.id !== undefined) this.pending.delete(f.id);
    if (f.meeting && typeof f.meeting === 'object') this.meeting = f.meeting;
    if (f.you) this.you = f.you;
    this.attempt = 0;
    this.catchingUp = false;
    this.live = null;
    this.waitingRoom = [];
    // The session ended while waiting: the close 1000 that follows is the end (section 13).
    if (f.phase === 'closed') this.phase = 'closed';
    this.setState('waiting-room', { phase: f.phase });
    this.emit('waiting', {
      phase: f.phase, meeting: this.meeting, you: this.you,
      position: Number.isInteger(f.position) ? f.position : null,
      waiting: Number.isInteger(f.waiting) ? f.waiting : null,
      chairPresent: typeof f.chair_present === 'boolean' ? f.chair_present : null,
      autoAdmit: typeof f.auto_admit === 'boolean' ? f.auto_admit : null,
      startsAt: Number.isInteger(f.starts_at) ? f.starts_at : null,
    });
  }

  onEvents(f) {
    const list = Array.isArray(f.events) ? f.events : [];
    this.ingest(list, this.catchingUp ? 'catchup' : 'live');
    if (f.catchup_done === true) {
      this.catchingUp = false;
      this.emit('caughtup', {});
    }
  }

  // Add events, skipping seqs already known; source is join, catchup, live or history.
  ingest(list, source) {
    const added = [];
    for (const ev of list) {
      if (!ev || !Number.isInteger(ev.seq) || ev.seq < 1) continue;
      if (source !== 'history' && ev.seq > this.lastSeq) this.lastSeq = ev.seq;
      if (this.events.has(ev.seq)) continue;
      this.events.set(ev.seq, ev);
      added.push(ev);
    }
    if (!added.length) return;
    added.sort((a, b) => a.seq - b.seq);
    if (source === 'live') {
      const newest = added[added.length - 1];
      if (Number.isFinite(newest.ts)) this.clockOffset = newest.ts - this.now();
    }
    // A deleted message loses its text here too (PROTOCOL.md 5): nothing keeps it.
    const deleted = [];
    for (const ev of added) {
      if (ev.kind === 'message_deleted' && Number.isInteger(ev.target_seq)) {
        const target = this.events.get(ev.target_seq);
        if (target && target.kind === 'message') {
          delete target.text;
          target.removed = ev.by === 'author' ? 'author' : 'chair';
        }
        deleted.push({ seq: ev.target_seq, by: ev.by === 'author' ? 'author' : 'chair' });
      } else if (ev.kind === 'session_ended' && source !== 'history' && this.phase !== 'closed') {
        this.phase = 'closed';
        this.emit('phase', { phase: 'closed' });
      } else if (ev.kind === 'role_granted' && ev.target && Number.isInteger(ev.target.member) &&
                 (source !== 'history' || !this.granted.has(ev.target.member))) {
        this.granted.set(ev.target.member, ev.role);
      } else if (ev.kind === 'topic' && source !== 'history') {
        this.topic = typeof ev.text === 'string' && ev.text ? ev.text : null;
        this.emit('topic', { topic: this.topic });
      }
    }
    this.emit(source === 'history' ? 'history' : 'events', { events: added, source });
    for (const d of deleted) this.emit('deleted', d);
  }

  onAck(f) {
    this.pending.delete(f.id);
    const item = this.outbox.find((it) => it.cmid === f.client_msg_id);
    if (!item) return;
    if (item.retryTimer) this.clearTimeout(item.retryTimer);
    this.outbox = this.outbox.filter((it) => it !== item);
    this.saveOutbox();
    this.emit('ack', { cmid: f.client_msg_id, seq: f.seq, duplicate: !!f.duplicate, item });
    this.emit('outbox', {});
  }

  onPresence(f) {
    const m = f.member;
    if (!m || !Number.isInteger(m.member)) return;
    if (f.action === 'join') this.members.set(m.member, m);
    else if (f.action === 'leave') this.members.delete(m.member);
    this.emit('members', { action: f.action, member: m });
  }

  onStatus(f) {
    this.setStore(f.store === 'paused' ? 'paused' : 'ok');
  }

  setStore(state) {
    if (state === this.storeState) return;
    this.storeState = state;
    this.emit('store', { store: state });
  }

  onHistory(f) {
    this.pending.delete(f.id);
    this.historyPending = false;
    this.hasEarlier = !!f.has_more;
    this.ingest(Array.isArray(f.events) ? f.events : [], 'history');
    this.emit('earlier', { hasEarlier: this.hasEarlier });
  }

  onError(f) {
    const code = f.code;
    const retry = Number.isInteger(f.retry_after_ms) ? f.retry_after_ms : 1000;
    const req = f.id !== undefined ? this.pending.get(f.id) : undefined;
    if (req) this.pending.delete(f.id);

    if (!req) {
      if (code === 'meeting_not_found') this.end('not_found');
      else if (code === 'store_unavailable') this.minNextDelay = CATCHUP_FAILURE_DELAY_MS;
      else if (code === 'moved') this.movedRetryMs = retry; // close 4503 follows
      return;
    }
    if (code === 'meeting_not_found') {
      this.end('not_found');
      return;
    }
    if (req.resolve) {
      req.resolve({ ok: false, code, message: typeof f.message === 'string' ? f.message : code, field: f.field });
      return;
    }
    switch (req.type) {
      case 'hello': return this.helloError(code, retry, f);
      case 'join':
        if (code === 'already_joined') return undefined;
        if (JOIN_REFUSALS.has(code)) {
          this.end(code, { code, message: f.message });
          return undefined;
        }
        if (code === 'not_open_yet') {
          // Too early: the waiting room of this scheduled meeting opens later (section 16).
          // The connection stays open (with keepalive); join again when it opens.
          this.setState('not-open', { opensAt: f.opens_at, startsAt: f.starts_at });
          this.emit('notopen', { opensAt: f.opens_at ?? null, startsAt: f.starts_at ?? null });
          return this.later(Math.max(1000, retry), () => this.state === 'not-open' && this.sendJoin());
        }
        return this.later(retry, () => this.state === 'joining' && this.sendJoin());
      case 'say':
      case 'react': return this.itemError(req, code, retry, f);
      case 'history':
        if (code === 'store_unavailable' || code === 'rate_limited') {
          return this.later(retry, () => {
            if (this.state === 'joined') this.request(req.frame);
          });
        }
        this.historyPending = false;
        return undefined;
      default:
        return undefined;
    }
  }

  later(ms, fn) {
    const serial = this.connSerial;
    this.setTimeout(() => {
      if (serial === this.connSerial && this.ws) fn();
    }, ms);
  }

  helloError(code, retry, f) {
    if (code.startsWith('name_')) {
      this.end('name', { code, message: f.message });
    } else if (code === 'invalid_token') {
      if (this.usedAccount) {
        // The chair's login ended (expired or logged out elsewhere): go on as an attendee.
        if (this.account && this.account.expired) this.account.expired();
        this.emit('account', { expired: true });
      } else {
        this.store.remove('token');
      }
      this.sendHello();
    } else if (code === 'already_hello') {
      // the first hello is still being answered
    } else {
      this.later(code === 'store_unavailable' || code === 'rate_limited' ? retry : 1000,
        () => this.state === 'hello' && this.sendHello());
    }
  }

  itemError(req, code, retry, f) {
    const item = this.outbox.find((it) => it.cmid === req.cmid);
    if (!item) return;
    if (code === 'rate_limited' || code === 'store_unavailable' || code === 'slow_mode') {
      this.retryItemLater(item, retry); // the same client_msg_id (sections 10 and 12)
      return;
    }
    if (code === 'not_found' && item.kind === 'react') {
      this.discard(item.cmid);
      return;
    }
    if (item.kind === 'react') {
      // A reaction that cannot go is dropped quietly; the message stays as it was.
      this.discard(item.cmid);
      this.emit('notice', { code, kind: 'react' });
      return;
    }
    // Nothing was stored: the same client_msg_id may go again later, except after internal.
    item.held = HELD_FOR[code] || 'failed';
    this.saveOutbox();
    this.emit('outbox', {});
    this.emit('notice', { code, kind: 'say', cmid: item.cmid, field: f.field });
  }
}
