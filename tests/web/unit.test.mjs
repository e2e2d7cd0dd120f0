// Unit tests of the web client's modules that have no DOM: the protocol client (with a fake
// WebSocket and a fake clock), name checks, client ids and time zones.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  BACKOFF_MAX_MS, MeetingClient, backoffDelay, charCount, hasContent, wsUrl,
} from '../../web-client/js/connection.js';
import { CLIENT_MSG_ID, newClientMsgId } from '../../web-client/js/ids.js';
import { NAME_MESSAGES, checkName } from '../../web-client/js/names.js';
import { memoryStore } from '../../web-client/js/storage.js';
import { occurrences, zonedParts, zonedToInstant } from '../../web-client/js/time.js';
import { sanitizeResources, DEFAULT_CRISIS_RESOURCES } from '../../web-client/js/crisis.js';
import { recordsStatement } from '../../web-client/js/meetings.js';
import { parse } from '../../web-client/js/router.js';

// --- fakes ------------------------------------------------------------------------------------

function fakeClock() {
  let now = 1_000_000;
  let nextId = 1;
  const timers = new Map();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms || 0), fn });
      return id;
    },
    clearTimeout: (id) => timers.delete(id),
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let first = null;
        for (const [id, t] of timers) if (t.at <= end && (!first || t.at < first[1].at)) first = [id, t];
        if (!first) break;
        timers.delete(first[0]);
        now = first[1].at;
        first[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}

class FakeWS {
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeWS.all.push(this);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(text));
  }

  close(code) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }

  open() {
    this.readyState = 1;
    this.onopen?.();
  }

  recv(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  last(type) {
    return [...this.sent].reverse().find((f) => f.type === type);
  }

  ofType(type) {
    return this.sent.filter((f) => f.type === type);
  }
}
FakeWS.all = [];

const TOKEN = 'a'.repeat(64);
const LIMITS = { max_frame_bytes: 16384, max_text_chars: 4000, rate_per_sec: 5, rate_burst: 20 };

function setup(opts = {}) {
  FakeWS.all = [];
  const clock = fakeClock();
  const store = opts.store || memoryStore();
  const client = new MeetingClient({
    slug: 'tuesday-hope',
    name: 'Sam',
    url: 'ws://test/ws/tuesday-hope',
    WebSocket: FakeWS,
    store,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => opts.random ?? 0.5,
    account: opts.account,
    fullNameConfirmed: opts.fullNameConfirmed,
  });
  const seen = { events: [], states: [], ended: null, acks: [] };
  client.on('events', (d) => seen.events.push(...d.events));
  client.on('history', (d) => seen.events.push(...d.events));
  client.on('state', (d) => seen.states.push(d.state));
  client.on('ended', (d) => { seen.ended = d; });
  client.on('ack', (d) => seen.acks.push(d));
  return { client, clock, store, seen, ws: () => FakeWS.all[FakeWS.all.length - 1] };
}

function msg(seq, member, text, cmid = `c${seq}`) {
  return { seq, ts: 1795383012345 + seq, kind: 'message', from: { member, name: `m${member}` }, client_msg_id: cmid, text };
}

function joinedFrame(id, { session = 118, events = [], more = false, you = 7, store = 'ok', lastSeq } = {}) {
  return {
    type: 'joined', id,
    meeting: { slug: 'tuesday-hope', name: 'Tuesday Hope' },
    session: { id: session, started_at: 1, last_seq: lastSeq ?? (events.length ? events[events.length - 1].seq : 0) },
    you: { member: you, name: 'Sam', role: 'attendee' },
    members: [{ member: you, name: 'Sam', role: 'attendee' }, { member: 3, name: 'Jo', role: 'chair' }],
    topic: null, store, events, more,
  };
}

// Open the socket, answer hello and join; returns the WS.
function connectAndJoin(t, joinOpts = {}, welcome = {}) {
  const ws = t.ws();
  ws.open();
  const hello = ws.last('hello');
  ws.recv({ type: 'welcome', id: hello.id, protocol: 'haven.v1', server: '0.1.0', token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [], ...welcome });
  const join = ws.last('join');
  ws.recv(joinedFrame(join.id, joinOpts));
  return ws;
}

// --- the protocol client ----------------------------------------------------------------------

describe('MeetingClient', () => {
  it('says hello with the subprotocol and no token, stores the token of welcome, joins', () => {
    const t = setup();
    t.client.start();
    const ws = t.ws();
    assert.equal(ws.url, 'ws://test/ws/tuesday-hope');
    assert.equal(ws.protocol, 'haven.v1');
    ws.open();
    const hello = ws.last('hello');
    assert.deepEqual(Object.keys(hello).sort(), ['id', 'name', 'type']);
    assert.equal(hello.name, 'Sam');
    ws.recv({ type: 'welcome', id: hello.id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    assert.equal(t.store.load('token'), TOKEN);
    const join = ws.last('join');
    assert.equal(join.after_seq, undefined, 'a first join has no after_seq');
    ws.recv(joinedFrame(join.id, { events: [msg(1, 3, 'Welcome.')] }));
    assert.equal(t.client.state, 'joined');
    assert.deepEqual(t.seen.events.map((e) => e.seq), [1]);
    assert.equal(t.client.members.size, 2);
  });

  it('says hello with the stored token, and as a visitor when asked', () => {
    const store = memoryStore();
    store.save('token', TOKEN);
    const t = setup({ store });
    t.client.visitor = true;
    t.client.start();
    t.ws().open();
    const hello = t.ws().last('hello');
    assert.equal(hello.token, TOKEN);
    assert.equal(hello.visitor, true);
  });

  it('uses a chair login token instead, and does not store it as the attendee token', () => {
    const chair = 'b'.repeat(64);
    let expired = false;
    const t = setup({ account: { token: () => (expired ? null : chair), expired: () => { expired = true; } } });
    t.client.start();
    const ws = t.ws();
    ws.open();
    assert.equal(ws.last('hello').token, chair);
    ws.recv({ type: 'error', id: ws.last('hello').id, code: 'invalid_token', message: 'x', field: 'token' });
    assert.ok(expired, 'the expired login is forgotten');
    const again = ws.last('hello');
    assert.equal(again.token, undefined, 'then hello as an attendee');
    ws.recv({ type: 'welcome', id: again.id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    assert.equal(t.store.load('token'), TOKEN);
  });

  it('forgets an invalid attendee token and says hello without one', () => {
    const store = memoryStore();
    store.save('token', TOKEN);
    const t = setup({ store });
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'error', id: ws.last('hello').id, code: 'invalid_token', message: 'x', field: 'token' });
    assert.equal(store.load('token'), null);
    assert.equal(ws.last('hello').token, undefined);
    assert.equal(ws.ofType('hello').length, 2);
  });

  it('ends with the server\'s name code, without reconnecting', () => {
    const t = setup();
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'error', id: ws.last('hello').id, code: 'name_reserved', message: 'x', field: 'name' });
    assert.equal(t.seen.ended.reason, 'name');
    assert.equal(t.seen.ended.code, 'name_reserved');
    t.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1);
  });

  it('waits for the person after a full_name warning, unless already confirmed', () => {
    const t = setup();
    const asked = [];
    t.client.on('fullname', (d) => asked.push(d));
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam Rivers', limits: LIMITS,
      warnings: [{ code: 'full_name', message: 'This looks like a full name.' }] });
    assert.equal(asked.length, 1);
    assert.equal(ws.ofType('join').length, 0);
    t.client.confirmName();
    assert.equal(ws.ofType('join').length, 1);

    const t2 = setup({ fullNameConfirmed: true });
    t2.client.start();
    t2.ws().open();
    t2.ws().recv({ type: 'welcome', id: t2.ws().last('hello').id, token: TOKEN, name: 'Sam Rivers', limits: LIMITS,
      warnings: [{ code: 'full_name', message: 'x' }] });
    assert.equal(t2.ws().ofType('join').length, 1);
  });

  it('sends a say with a valid client_msg_id; delivered only after the ack', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    const r = t.client.say('Just for today.');
    assert.ok(r.ok);
    const say = ws.last('say');
    assert.match(say.client_msg_id, /^[A-Za-z0-9_-]{1,64}$/);
    assert.equal(say.text, 'Just for today.');
    assert.equal(t.client.deliveryOf(say.client_msg_id), 'sending');
    ws.recv({ type: 'event', event: msg(1, 7, 'Just for today.', say.client_msg_id) });
    assert.equal(t.client.deliveryOf(say.client_msg_id), 'sending');
    ws.recv({ type: 'ack', id: say.id, client_msg_id: say.client_msg_id, seq: 1, duplicate: false });
    assert.equal(t.client.deliveryOf(say.client_msg_id), 'delivered');
    assert.equal(t.client.outbox.length, 0);
    assert.equal(t.store.load('outbox.tuesday-hope'), null, 'an empty outbox is not kept');
  });

  it('refuses empty and too long texts, counting characters as code points', () => {
    const t = setup();
    t.client.start();
    connectAndJoin(t);
    assert.equal(t.client.say(' \n\t ').code, 'empty');
    assert.equal(t.client.say('x'.repeat(4001)).code, 'too_long');
    assert.ok(t.client.say('😀'.repeat(3000)).ok, '3000 emoji are 3000 characters (12000 bytes)');
    assert.ok(t.client.say('😀'.repeat(4000)).ok, '16000 bytes of UTF-8 still fit in 16384');
    const escaped = t.client.say(`${'\u0001'.repeat(3000)}a`);
    assert.equal(escaped.code, 'too_long', 'JSON escapes make the frame too big');
    assert.ok(escaped.bytes);
    assert.equal(charCount('😀a'), 2);
    assert.ok(hasContent(' a '));
    assert.ok(!hasContent(' \r\n\t'));
  });

  it('keeps what is written while offline and sends it after joining, in order', () => {
    const t = setup();
    t.client.start();
    assert.ok(t.client.say('first').ok);
    assert.ok(t.client.say('second').ok);
    assert.equal(t.store.load('outbox.tuesday-hope').items.length, 2, 'kept across a reload');
    const ws = connectAndJoin(t);
    assert.deepEqual(ws.ofType('say').map((f) => f.text), ['first', 'second']);
  });

  it('a reloaded page sends the saved outbox with the same client_msg_ids', () => {
    const store = memoryStore();
    const t1 = setup({ store });
    t1.client.start();
    connectAndJoin(t1);
    t1.client.say('before the reload');
    const cmid = t1.ws().last('say').client_msg_id;
    // The page reloads: a new client with the same storage.
    const t2 = setup({ store });
    t2.client.start();
    const ws = connectAndJoin(t2);
    assert.equal(ws.last('say').client_msg_id, cmid);
    ws.recv({ type: 'ack', id: ws.last('say').id, client_msg_id: cmid, seq: 1, duplicate: true });
    assert.equal(t2.client.outbox.length, 0);
  });

  it('reconnects with growing, jittered delays and resumes after the last seq', () => {
    const t = setup({ random: 1 });
    t.client.start();
    let ws = connectAndJoin(t, { events: [msg(1, 3, 'a'), msg(2, 3, 'b')] });
    t.client.say('unacked');
    const cmid = ws.last('say').client_msg_id;
    ws.drop(1006);
    assert.equal(t.client.state, 'retrying');
    const delays = [];
    for (let i = 0; i < 9; i++) {
      delays.push(t.client.retryAt - t.clock.now());
      t.clock.advance(delays[i]);
      assert.equal(FakeWS.all.length, i + 2);
      if (i < 8) t.ws().drop(1006);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    ws = t.ws();
    ws.open();
    const hello = ws.last('hello');
    assert.equal(hello.token, TOKEN);
    ws.recv({ type: 'welcome', id: hello.id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    assert.equal(ws.last('join').after_seq, 2);
    ws.recv(joinedFrame(ws.last('join').id, { events: [msg(3, 3, 'c')] }));
    assert.equal(ws.last('say').client_msg_id, cmid, 'the same client_msg_id');
    assert.equal(t.client.attempt, 0, 'backoff starts over after a join');
    assert.deepEqual(t.seen.events.map((e) => e.seq), [1, 2, 3]);
  });

  it('jitters between half and all of the delay', () => {
    assert.equal(backoffDelay(1, () => 0), 250);
    assert.equal(backoffDelay(1, () => 1), 500);
    assert.equal(backoffDelay(20, () => 1), BACKOFF_MAX_MS);
    assert.equal(backoffDelay(20, () => 0), BACKOFF_MAX_MS / 2);
  });

  it('dedupes by seq and keeps seq order across join, event and events frames', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t, { events: [msg(1, 3, 'a'), msg(2, 3, 'b')] });
    ws.recv({ type: 'events', events: [msg(2, 3, 'b'), msg(3, 3, 'c')] });
    ws.recv({ type: 'event', event: msg(3, 3, 'c') });
    ws.recv({ type: 'event', event: msg(4, 3, 'd') });
    assert.deepEqual(t.seen.events.map((e) => e.seq), [1, 2, 3, 4]);
    assert.equal(t.client.lastSeq, 4);
  });

  it('handles a catch-up in events frames ending with catchup_done', () => {
    const t = setup();
    t.client.start();
    let ws = connectAndJoin(t, { events: [msg(1, 3, 'a')] });
    ws.drop(1001);
    t.clock.advance(1000);
    ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    ws.recv(joinedFrame(ws.last('join').id, { events: [], more: true, lastSeq: 900 }));
    assert.ok(t.client.catchingUp);
    ws.recv({ type: 'events', events: [msg(2, 3, 'b'), msg(3, 3, 'c')] });
    ws.recv({ type: 'events', events: [msg(4, 3, 'd')], catchup_done: true });
    assert.ok(!t.client.catchingUp);
    assert.deepEqual(t.seen.events.map((e) => e.seq), [1, 2, 3, 4]);
  });

  it('starts over when the session changed, holding old messages and asking history', () => {
    const t = setup();
    t.client.start();
    let ws = connectAndJoin(t, { session: 118, events: [msg(1, 3, 'a'), msg(2, 3, 'b')] });
    ws.drop(1006);
    t.client.say('written for the old session');
    t.client.react(2, 'heart');
    t.clock.advance(1000);
    ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    assert.equal(ws.last('join').after_seq, 2);
    let reset = null;
    t.client.on('joined', (d) => { reset = d.reset; });
    ws.recv(joinedFrame(ws.last('join').id, { session: 119, events: [msg(3, 4, 'new')], lastSeq: 3 }));
    assert.equal(reset, true);
    assert.deepEqual([...t.client.events.keys()], [3]);
    assert.equal(ws.ofType('say').length, 0, 'not posted into the new session without asking');
    assert.equal(ws.ofType('react').length, 0);
    const held = t.client.outbox;
    assert.equal(held.length, 1);
    assert.equal(held[0].held, 'session');
    const history = ws.last('history');
    assert.equal(history.before_seq, 3);
    t.client.sendHeld(held[0].cmid);
    assert.equal(ws.last('say').text, 'written for the old session');
  });

  it('waits retry_after_ms after rate_limited and store_unavailable, same client_msg_id', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    t.client.say('hello');
    const say = ws.last('say');
    ws.recv({ type: 'error', id: say.id, code: 'rate_limited', message: 'x', retry_after_ms: 300 });
    t.clock.advance(299);
    assert.equal(ws.ofType('say').length, 1);
    t.clock.advance(2);
    assert.equal(ws.ofType('say').length, 2);
    assert.equal(ws.last('say').client_msg_id, say.client_msg_id);
    ws.recv({ type: 'error', id: ws.last('say').id, code: 'store_unavailable', message: 'x', retry_after_ms: 2000 });
    t.clock.advance(2001);
    assert.equal(ws.ofType('say').length, 3);
    assert.equal(ws.last('say').client_msg_id, say.client_msg_id);
  });

  it('does not resend on the same connection while delivery is paused', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t, { store: 'paused' });
    assert.equal(t.client.storeState, 'paused');
    t.client.say('one');
    t.client.say('two');
    ws.recv({ type: 'status', store: 'ok' });
    assert.equal(t.client.storeState, 'ok');
    assert.equal(ws.ofType('say').length, 2);
  });

  it('holds a message after internal, and retries it with a new client_msg_id', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    t.client.say('hello');
    const say = ws.last('say');
    ws.recv({ type: 'error', id: say.id, code: 'internal', message: 'x' });
    assert.equal(t.client.outbox[0].held, 'failed');
    t.client.sendHeld(t.client.outbox[0].cmid);
    assert.notEqual(ws.last('say').client_msg_id, say.client_msg_id);
  });

  it('paces itself below the rate limit', () => {
    const t = setup();
    t.client.start();
    for (let i = 0; i < 40; i++) t.client.say(`m${i}`);
    const ws = connectAndJoin(t);
    const sent = ws.ofType('say').length;
    assert.ok(sent <= 18, `sent ${sent} at once`); // hello and join took two of the 20
    t.clock.advance(10000);
    assert.equal(ws.ofType('say').length, 40);
    assert.deepEqual(ws.ofType('say').map((f) => f.text), Array.from({ length: 40 }, (_, i) => `m${i}`));
  });

  it('pings after 30 s of silence and reconnects when no pong comes', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    t.clock.advance(29000);
    assert.equal(ws.ofType('ping').length, 0);
    t.clock.advance(4000);
    assert.equal(ws.ofType('ping').length, 1);
    t.clock.advance(12000);
    assert.ok(ws.closedWith !== null, 'the silent socket is closed');
    assert.equal(FakeWS.all.length, 2, 'and a new one is opened');
  });

  it('does not reconnect after 4404 or 1008', () => {
    const t = setup();
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'error', code: 'meeting_not_found', message: 'x' });
    assert.equal(t.seen.ended.reason, 'not_found');
    ws.drop(4404);
    t.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1);

    const t2 = setup();
    t2.client.start();
    t2.ws().open();
    t2.ws().drop(1008);
    assert.equal(t2.seen.ended.reason, 'refused');
    t2.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1);
  });

  it('waits a few seconds after a catch-up failed for want of the database', () => {
    const t = setup({ random: 0 });
    t.client.start();
    const ws = connectAndJoin(t);
    ws.recv({ type: 'error', code: 'store_unavailable', message: 'x' });
    ws.drop(1013);
    assert.ok(t.client.retryAt - t.clock.now() >= 3000);
  });

  it('comes back after the retry hint when another server serves the meeting (4503)', () => {
    const t = setup({ random: 1 });
    t.client.start();
    const ws = connectAndJoin(t);
    t.client.say('kept');
    const cmid = ws.last('say').client_msg_id;
    ws.recv({ type: 'error', code: 'moved', message: 'x', retry_after_ms: 1500 });
    ws.drop(4503);
    assert.equal(t.client.state, 'retrying');
    assert.equal(t.client.retryAt - t.clock.now(), 3000); // the hint plus (here) all its jitter
    t.clock.advance(3000);
    const ws2 = t.ws();
    ws2.open();
    const hello = ws2.last('hello');
    ws2.recv({ type: 'welcome', id: hello.id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    ws2.recv(joinedFrame(ws2.last('join').id));
    assert.equal(ws2.last('say').client_msg_id, cmid);
  });

  it('tracks presence and reactions', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t, { events: [msg(1, 3, 'a')] });
    ws.recv({ type: 'presence', action: 'join', member: { member: 11, name: 'River', role: 'visitor' } });
    assert.equal(t.client.members.get(11).role, 'visitor');
    ws.recv({ type: 'presence', action: 'leave', member: { member: 11, name: 'River', role: 'visitor' } });
    assert.ok(!t.client.members.has(11));
    assert.ok(t.client.react(1, 'hug').ok);
    assert.equal(t.client.react(1, 'hug').code, 'already', 'not the same reaction twice');
    const react = ws.last('react');
    assert.deepEqual({ seq: react.seq, reaction: react.reaction }, { seq: 1, reaction: 'hug' });
    ws.recv({ type: 'event', event: { seq: 2, ts: 1, kind: 'reaction', from: { member: 7, name: 'Sam' }, client_msg_id: react.client_msg_id, reaction: 'hug', target_seq: 1 } });
    ws.recv({ type: 'ack', id: react.id, client_msg_id: react.client_msg_id, seq: 2, duplicate: false });
    assert.ok(t.client.myReaction(1, 'hug'));
  });

  it('leave sends leave and never reconnects', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    t.client.leave();
    assert.equal(ws.ofType('leave').length, 1);
    assert.equal(ws.closedWith, 1000);
    t.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1);
  });

  it('fetches earlier messages with history before the lowest seq it has', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t, { events: [msg(201, 3, 'x'), msg(202, 3, 'y')] });
    assert.ok(t.client.hasEarlier);
    assert.ok(t.client.loadEarlier());
    assert.ok(!t.client.loadEarlier(), 'one request at a time');
    const h = ws.last('history');
    assert.equal(h.before_seq, 201);
    ws.recv({ type: 'history', id: h.id, events: [msg(200, 3, 'w'), msg(201, 3, 'x')], has_more: true });
    assert.deepEqual(t.seen.events.map((e) => e.seq), [201, 202, 200]);
    assert.equal(t.client.lastSeq, 202, 'history does not move the resume point');
    assert.ok(t.client.hasEarlier);
  });

  it('shows the waiting room, and then the meeting when let in', () => {
    const t = setup();
    const waits = [];
    t.client.on('waiting', (d) => waits.push(d));
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    ws.recv({ type: 'waiting', id: ws.last('join').id, meeting: { slug: 'tuesday-hope', name: 'T' }, you: { member: 7, name: 'Sam', role: 'attendee' }, phase: 'waiting' });
    assert.equal(t.client.state, 'waiting-room');
    assert.equal(waits.length, 1);
    t.client.say('typed in the waiting room');
    assert.equal(ws.ofType('say').length, 0, 'nothing is sent from the waiting room');
    ws.recv(joinedFrame(undefined, {}));
    assert.equal(t.client.state, 'joined');
    assert.equal(ws.ofType('say').length, 1);
  });

  it('ends on a join refusal such as a locked meeting', () => {
    const t = setup();
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    ws.recv({ type: 'error', id: ws.last('join').id, code: 'meeting_locked', message: 'x' });
    assert.equal(t.seen.ended.reason, 'meeting_locked');
    t.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1);
  });

  it('runs a session with command(): done and the server\'s error resolve it, a lost connection too', async () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    const started = t.client.command({ type: 'start' });
    const start = ws.last('start');
    assert.ok(Number.isInteger(start.id));
    ws.recv({ type: 'done', id: start.id, seq: 5 });
    assert.deepEqual(await started, { ok: true, seq: 5, delivered: null });
    const refused = t.client.command({ type: 'reading', action: 'skip' });
    ws.recv({ type: 'error', id: ws.last('reading').id, code: 'not_found', message: 'there is no reading after the last one' });
    assert.deepEqual(await refused, { ok: false, code: 'not_found', message: 'there is no reading after the last one', field: undefined });
    const lost = t.client.command({ type: 'call' });
    ws.drop(1006);
    const r = await lost;
    assert.equal(r.ok, false);
    assert.equal(r.code, 'connection');
    t.clock.advance(60000);
    assert.equal(t.ws().ofType('call').length, 0, 'a chairing request is never sent again by itself');
    assert.equal((await t.client.command({ type: 'start' })).code, 'not_connected');
  });

  it('keeps the live state, the waiting room and private frames; computes the rank', () => {
    const t = setup();
    const seen = { live: 0, waiting: null, private: null };
    t.client.on('live', () => { seen.live++; });
    t.client.on('waitingroom', (d) => { seen.waiting = d.members; });
    t.client.on('private', (d) => { seen.private = d.message; });
    t.client.start();
    const ws = connectAndJoin(t);
    const state = { phase: 'open', chair: 3, cochairs: [], queue: [], sharing: null, muted: [], settings: {}, reading: -1, readings: 0 };
    ws.recv({ type: 'state', state });
    assert.equal(t.client.live.phase, 'open');
    assert.equal(t.client.rank(), 'attendee');
    assert.equal(t.client.rankOf({ member: 3, role: 'chair' }), 'chair');
    ws.recv({ type: 'event', event: { seq: 1, ts: 5, kind: 'role_granted', from: { member: 3, name: 'Jo' }, target: { member: 7, name: 'Sam' }, role: 'co-chair' } });
    assert.equal(t.client.rank(), 'co-chair');
    ws.recv({ type: 'state', state: { ...state, chair: 7 } });
    assert.equal(t.client.rank(), 'chair');
    assert.equal(t.client.rankOf({ member: 3, role: 'chair' }), 'co-chair', 'a chair account that does not hold the chair');
    ws.recv({ type: 'waiting_room', members: [{ member: 12, name: 'River', role: 'attendee' }] });
    assert.deepEqual(seen.waiting.map((m) => m.member), [12]);
    ws.recv({ type: 'private', kind: 'help', from: { member: 12, name: 'River' }, text: '', ts: 9 });
    assert.equal(seen.private.kind, 'help');
    assert.ok(seen.live >= 2);
  });

  it('drops the text of a deleted message and tells the page', () => {
    const t = setup();
    const deleted = [];
    t.client.on('deleted', (d) => deleted.push(d));
    t.client.start();
    const ws = connectAndJoin(t, { events: [msg(1, 3, 'Something to remove')] });
    ws.recv({ type: 'event', event: { seq: 2, ts: 9, kind: 'message_deleted', from: { member: 3, name: 'Jo' }, target_seq: 1, by: 'chair' } });
    assert.deepEqual(deleted, [{ seq: 1, by: 'chair' }]);
    const ev = t.client.events.get(1);
    assert.equal(ev.text, undefined);
    assert.equal(ev.removed, 'chair');
  });

  it('sends off-the-record messages with off_record, and keeps the mark in the outbox', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    t.client.say('Not for the records', { offRecord: true });
    assert.equal(ws.last('say').off_record, true);
    assert.equal(t.store.load('outbox.tuesday-hope').items[0].offRecord, true);
    t.client.say('For the records');
    assert.equal(ws.last('say').off_record, undefined);
  });

  it('waits for the waiting room to open (not_open_yet) and joins again by itself', () => {
    const t = setup();
    const seen = [];
    t.client.on('notopen', (d) => seen.push(d));
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    const join = ws.last('join');
    ws.recv({ type: 'error', id: join.id, code: 'not_open_yet', message: 'x', retry_after_ms: 60000, opens_at: 5, starts_at: 9 });
    assert.equal(t.client.state, 'not-open');
    assert.deepEqual(seen, [{ opensAt: 5, startsAt: 9 }]);
    // The connection stays open meanwhile (the keepalive's pings are answered).
    const waitAndPong = (ms) => {
      for (let waited = 0; waited < ms; waited += 1000) {
        t.clock.advance(1000);
        const ping = ws.last('ping');
        if (ping && !ping.answered) {
          ping.answered = true;
          ws.recv({ type: 'pong', id: ping.id, server_time_ms: 1 });
        }
      }
    };
    waitAndPong(59000);
    assert.equal(ws.ofType('join').length, 1);
    waitAndPong(2000);
    assert.equal(FakeWS.all.length, 1, 'the same connection');
    assert.equal(ws.ofType('join').length, 2, 'joins again when the room opens');
  });

  it('a session that ends while waiting: the close 1000 is the end', () => {
    const t = setup();
    t.client.start();
    const ws = t.ws();
    ws.open();
    ws.recv({ type: 'welcome', id: ws.last('hello').id, token: TOKEN, name: 'Sam', limits: LIMITS, warnings: [] });
    ws.recv({ type: 'waiting', id: ws.last('join').id, meeting: { slug: 'tuesday-hope', name: 'T' }, you: { member: 4, name: 'Sam', role: 'attendee' }, phase: 'waiting', position: 1, waiting: 1, chair_present: true, auto_admit: false, starts_at: null });
    ws.recv({ type: 'waiting', meeting: { slug: 'tuesday-hope', name: 'T' }, you: { member: 4, name: 'Sam', role: 'attendee' }, phase: 'closed', position: 1, waiting: 1, chair_present: true, auto_admit: false, starts_at: null });
    ws.drop(1000);
    assert.equal(t.seen.ended.reason, 'session_ended');
  });

  it('does not come back after the chair ended the session', () => {
    const t = setup();
    t.client.start();
    const ws = connectAndJoin(t);
    ws.recv({ type: 'event', event: { seq: 3, ts: 9, kind: 'session_ended', from: { member: 3, name: 'Jo' } } });
    assert.equal(t.client.phase, 'closed');
    ws.drop(1000);
    assert.equal(t.seen.ended.reason, 'session_ended');
    t.clock.advance(60000);
    assert.equal(FakeWS.all.length, 1, 'no new connection');
  });

  it('builds the WebSocket URL from the page address', () => {
    assert.equal(wsUrl('x', { protocol: 'https:', host: 'meet.example.org' }), 'wss://meet.example.org/ws/x');
    assert.equal(wsUrl('x', { protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/ws/x');
  });
});

// --- names ------------------------------------------------------------------------------------

describe('names (the server\'s rules, src/auth.c)', () => {
  const cases = [
    ['Sam', null], ['  Sam R.  ', null], ['Mom of K', null], ['Jo', null], ['\u00e9lodie', null],
    ['', 'name_empty'], ['   \t ', 'name_empty'],
    ['Sam\u200bR', 'name_invalid_chars'], ['a\nb', 'name_invalid_chars'], ['x\u202ey', 'name_invalid_chars'],
    ['a'.repeat(32), null], ['a'.repeat(33), 'name_too_long'], ['\u00e9'.repeat(33), 'name_too_long'],
    ['Chair', 'name_reserved'], ['c.h.a.i.r', 'name_reserved'], ['Adm1n', 'name_reserved'],
    ['Co-Chair', 'name_reserved'], ['Sam the host', 'name_reserved'], ['\u0421hair', 'name_reserved'],
    ['HAVEN', 'name_reserved'], ['0fficial', 'name_reserved'], ['Mod', 'name_reserved'],
    ['Modest Mouse', null], ['Chairman', null],
  ];
  for (const [name, code] of cases) {
    it(`${JSON.stringify(name)} -> ${code}`, () => {
      assert.equal(checkName(name).code, code);
    });
  }
  it('trims ASCII white space and flags full names gently', () => {
    assert.equal(checkName('  Sam  ').name, 'Sam');
    assert.equal(checkName('Samantha Rivera').fullName, true);
    assert.equal(checkName('Sam R.').fullName, false);
    assert.equal(checkName('samantha rivera').fullName, false);
  });
  it('has a sentence for every name code', () => {
    for (const code of ['name_empty', 'name_too_long', 'name_invalid_chars', 'name_reserved', 'full_name']) {
      assert.ok(NAME_MESSAGES[code].length > 20);
    }
  });
});

describe('client ids', () => {
  it('are unique and made of A-Z a-z 0-9 _ -', () => {
    const seen = new Set();
    for (let i = 0; i < 1000; i++) {
      const id = newClientMsgId();
      assert.match(id, CLIENT_MSG_ID);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
  });
});

// --- time -------------------------------------------------------------------------------------

describe('time zones', () => {
  const iso = (ms) => new Date(ms).toISOString();
  it('turns local times into instants', () => {
    assert.equal(iso(zonedToInstant(2026, 11, 24, 19, 0, 'America/Chicago')), '2026-11-25T01:00:00.000Z');
    assert.equal(iso(zonedToInstant(2026, 7, 1, 19, 0, 'America/Chicago')), '2026-07-02T00:00:00.000Z');
    assert.equal(iso(zonedToInstant(2026, 3, 1, 10, 30, 'Asia/Kolkata')), '2026-03-01T05:00:00.000Z');
  });
  it('reads a time in a spring-forward gap with the offset from before it (RFC 5545)', () => {
    // 2026-03-08 02:30 does not exist in Chicago: it is 03:30 CDT = 08:30Z.
    assert.equal(iso(zonedToInstant(2026, 3, 8, 2, 30, 'America/Chicago')), '2026-03-08T08:30:00.000Z');
  });
  it('takes the first of a time that happens twice', () => {
    // 2026-11-01 01:30 happens twice in Chicago: first at CDT (06:30Z).
    assert.equal(iso(zonedToInstant(2026, 11, 1, 1, 30, 'America/Chicago')), '2026-11-01T06:30:00.000Z');
  });
  it('lists a weekly meeting\'s occurrences, the one in progress included', () => {
    const m = { days: [2, 4], start_time: '19:00', duration_minutes: 60, time_zone: 'America/Chicago' };
    const from = Date.parse('2026-11-24T01:30:00Z'); // Monday 19:30 Chicago
    const list = occurrences(m, from, from + 7 * 86400000);
    assert.deepEqual(list.map((o) => iso(o.start)), [
      '2026-11-25T01:00:00.000Z', '2026-11-27T01:00:00.000Z',
    ]);
    const during = occurrences(m, Date.parse('2026-11-25T01:30:00Z'), Date.parse('2026-11-26T00:00:00Z'));
    assert.equal(iso(during[0].start), '2026-11-25T01:00:00.000Z');
    assert.equal(zonedParts(during[0].start, 'America/Chicago').weekday, 2);
  });
});

describe('other pieces', () => {
  it('crisis entries keep only tel:, sms: and https: links', () => {
    const r = sanitizeResources({ entries: [{ name: 'X', actions: [
      { label: 'ok', href: 'tel:988' }, { label: 'bad', href: 'javascript:alert(1)' }, { label: 'web', href: 'https://x.example/' },
    ] }] });
    assert.deepEqual(r.entries[0].actions.map((a) => a.label), ['ok', 'web']);
    const d = sanitizeResources(DEFAULT_CRISIS_RESOURCES);
    assert.equal(d.source, 'default');
    assert.ok(d.entries.some((e) => e.actions.some((a) => a.href === 'tel:988')));
    assert.ok(d.entries.some((e) => e.actions.some((a) => a.href === 'tel:+18006624357')));
  });
  it('says what is recorded from the meeting\'s settings, or that the settings decide', () => {
    assert.match(recordsStatement(null).join(' '), /settings/);
    const kept = recordsStatement({ record_transcripts: true, retention_days: 30, transcript_readers: 'chairs' }).join(' ');
    assert.match(kept, /30 days/);
    assert.match(kept, /chairs/);
    assert.match(recordsStatement({ record_transcripts: false }).join(' '), /does not keep transcripts/);
  });
  it('routes', () => {
    assert.deepEqual(parse(''), { name: 'directory', params: {} });
    assert.deepEqual(parse('#/'), { name: 'directory', params: {} });
    assert.deepEqual(parse('#/login'), { name: 'login', params: {} });
    assert.deepEqual(parse('#/m/tuesday-hope'), { name: 'join', params: { slug: 'tuesday-hope' } });
    assert.deepEqual(parse('#/m/tuesday-hope/room'), { name: 'room', params: { slug: 'tuesday-hope' } });
    assert.equal(parse('#/m/Bad_Slug').name, 'notfound');
    assert.deepEqual(parse('#/transcripts'), { name: 'transcripts', params: {} });
    assert.deepEqual(parse('#/m/tuesday-hope/transcripts'), { name: 'meetingTranscripts', params: { slug: 'tuesday-hope' } });
    assert.deepEqual(parse('#/transcripts/42'), { name: 'transcript', params: { id: 42, from: null } });
    assert.deepEqual(parse('#/transcripts/42?from=7'), { name: 'transcript', params: { id: 42, from: 7 } });
    assert.deepEqual(parse('#/transcripts/search?q=hope%20now&meeting=tuesday-hope&offset=20'),
      { name: 'search', params: { q: 'hope now', meeting: 'tuesday-hope', offset: 20 } });
    assert.deepEqual(parse('#/transcripts/search?q=x&meeting=Bad_Slug&offset=-3').params, { q: 'x', meeting: '', offset: 0 });
    assert.equal(parse('#/transcripts/0').name, 'notfound');
    assert.equal(parse('#/m/-x').name, 'notfound');
  });
});

// --- the page's sources -----------------------------------------------------------------------

describe('the client\'s sources', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web-client');
  const files = [];
  (function walk(dir) {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  }(root));
  const read = (p) => readFileSync(p, 'utf8');

  it('never parse HTML from strings (user text goes in as text only)', () => {
    for (const f of files.filter((p) => p.endsWith('.js'))) {
      const src = read(f);
      for (const bad of [/\.innerHTML\b/, /\.outerHTML\s*=/, /insertAdjacentHTML/, /document\.write/,
        /\beval\s*\(/, /new Function\b/, /createContextualFragment/, /DOMParser/]) {
        assert.ok(!bad.test(src), `${path.relative(root, f)} uses ${bad}`);
      }
    }
  });

  it('have no inline script, style or handlers, and load nothing from elsewhere', () => {
    for (const f of files.filter((p) => p.endsWith('.html'))) {
      const html = read(f);
      for (const m of html.matchAll(/<script\b([^>]*)>/g)) assert.match(m[1], /\bsrc=/, `${f}: inline script`);
      assert.ok(!/<style\b/i.test(html), `${f}: <style>`);
      assert.ok(!/\sstyle=/i.test(html), `${f}: style attribute`);
      assert.ok(!/\son[a-z]+=/i.test(html), `${f}: inline handler`);
      assert.ok(!/(src|href)="(https?:)?\/\//i.test(html), `${f}: a resource from another site`);
    }
    for (const f of files.filter((p) => p.endsWith('.css'))) {
      assert.ok(!/@import|url\(\s*['"]?(https?:)?\/\//i.test(read(f)), `${f}: loads from elsewhere`);
    }
    for (const f of files.filter((p) => p.endsWith('.js'))) {
      assert.ok(!/import[^'"]*['"](https?:)?\/\//.test(read(f)), `${f}: imports from elsewhere`);
      assert.ok(!/\.style\.|setAttribute\(\s*['"]style/.test(read(f)), `${f}: sets inline styles`);
    }
  });
});
