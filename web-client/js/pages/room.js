// The meeting room: the conversation, the people here, reactions, the connection's state and
// the composer. The protocol work (reconnecting, resuming, the outbox) is in connection.js; this
// file draws what it reports. User text goes into the page only as text (dom.js).

import * as account from '../account.js';
import { setTitle } from '../chrome.js';
import { MeetingClient, REACTIONS, charCount } from '../connection.js';
import { createChairPanel } from '../chair.js';
import { announce, clear, h } from '../dom.js';
import { clockText, describe, placeholder } from '../events.js';
import { getJSON, paths } from '../api.js';
import { recordsStatement } from '../meetings.js';
import { slipOffer } from '../slips.js';
import { NAME_MESSAGES } from '../names.js';
import { focusHeading, go } from '../router.js';
import { localStore, sessionStore } from '../storage.js';

export const REACTION_INFO = Object.freeze({
  thanks: { emoji: '🙏', label: 'Thanks' },
  heart: { emoji: '❤️', label: 'Heart' },
  hug: { emoji: '🤗', label: 'Hug' },
  strength: { emoji: '💪', label: 'Strength' },
  clap: { emoji: '👏', label: 'Clap' },
});

const ROLE_LABELS = {
  chair: 'Chair', 'co-chair': 'Co-chair', greeter: 'Greeter', admin: 'Admin', visitor: 'Visitor',
};
const ROLE_ORDER = { chair: 0, 'co-chair': 1, greeter: 2, admin: 3, attendee: 4, visitor: 5 };

const PAUSED_TEXT =
  "Delivery paused: your messages will be sent when the connection to the meeting's records is back.";

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

// Why the server would not let this connection into the meeting (chairing codes).
const ENDINGS = {
  meeting_locked: ['This meeting is locked', 'The chair has locked this meeting against new arrivals. You can try again later.'],
  banned: ['You cannot join this meeting', 'The meeting\'s chairs have asked that you not join this meeting.'],
  closed_meeting: ['This is a closed meeting', 'Closed meetings are for people who have, or think they may have, a drug problem, so visitors cannot join. If it is for you, join again without the visitor option; otherwise look for an open meeting.'],
  session_closed: ['This session has ended', 'The chair has closed this session of the meeting. Thank you for coming.'],
};

function roleOf(member) {
  const r = member && member.role;
  return Object.prototype.hasOwnProperty.call(ROLE_ORDER, r) ? r : 'attendee';
}

function roleBadge(role) {
  const label = ROLE_LABELS[role];
  return label ? h('span', { class: `role-badge role-${role}`, text: label }) : null;
}

function secondsText(ms) {
  const s = Math.max(1, Math.round(ms / 1000));
  return `${s} second${s === 1 ? '' : 's'}`;
}

export function roomPage(container, { slug }) {
  const joinInfo = sessionStore.load(`join.${slug}`, null);
  if (!joinInfo || typeof joinInfo.name !== 'string') {
    go(`/m/${slug}`, { replace: true });
    return undefined;
  }
  setTitle(joinInfo.meetingName || 'Meeting');

  const client = new MeetingClient({
    slug,
    name: joinInfo.name,
    visitor: !!joinInfo.visitor,
    store: localStore,
    account: account.helloAccount,
    fullNameConfirmed: !!joinInfo.fullNameConfirmed,
  });

  // --- the page's parts -------------------------------------------------------------------
  const heading = h('h1', { text: joinInfo.meetingName || 'Meeting' });
  const topic = h('p', { class: 'topic', hidden: true });
  const connState = h('p', { class: 'conn-state', role: 'status', id: 'conn-state', text: 'Connecting…' });
  const leaveButton = h('button', { type: 'button', class: 'button secondary leave', text: 'Leave meeting' });
  const helpStatus = h('p', { class: 'form-status help-status', id: 'help-status', role: 'status' });
  const helpButton = h('button', {
    type: 'button', class: 'button help-signal', id: 'help-button', text: 'I need help',
    'aria-describedby': 'help-status',
    on: { click: () => sendHelp() },
  });

  const retryIn = h('span', { class: 'retry-in' });
  const offlineBanner = h('div', { class: 'banner banner-offline', id: 'banner-offline', hidden: true },
    h('p', {},
      h('strong', { text: 'The connection to the meeting was lost. ' }),
      'What you write is kept and will be sent when it is back. ', retryIn),
    h('p', {}, h('button', {
      type: 'button', class: 'button secondary', text: 'Reconnect now',
      on: { click: () => client.retryNow() },
    })));
  const pausedBanner = h('div', { class: 'banner banner-paused', id: 'banner-paused', hidden: true },
    h('p', { text: PAUSED_TEXT }));
  const endedBanner = h('div', { class: 'banner banner-paused', id: 'banner-ended', hidden: true },
    h('p', { text: 'The chair has ended this session. Thank you for being here.' }));
  const notices = h('div', { class: 'notices', id: 'room-notices' });
  const waitingText = h('p', { id: 'waiting-text' });
  const waitingPanel = h('section', { class: 'waiting-room notice', id: 'waiting-room', 'aria-labelledby': 'waiting-title', hidden: true },
    h('h2', { id: 'waiting-title', text: 'You are in the waiting room' }),
    waitingText,
    h('p', { id: 'waiting-place', hidden: true }),
    h('p', { class: 'muted', text: 'You can keep this page open. If you need help while you wait, the Crisis help button is always at the top.' }));
  const recordsBody = h('div', { class: 'records-body' });
  const recordsBox = h('details', { class: 'records-details', id: 'room-records', hidden: true },
    h('summary', { text: 'What is recorded in this meeting' }), recordsBody);

  const earlierButton = h('button', {
    type: 'button', class: 'button secondary earlier', text: 'Show earlier messages', hidden: true,
    on: { click: () => { if (client.loadEarlier()) earlierButton.disabled = true; } },
  });
  const messages = h('ol', { class: 'messages', id: 'messages', 'aria-labelledby': 'conversation-title' });
  const pending = h('ol', { class: 'messages pending', id: 'pending', 'aria-label': 'Your messages not yet delivered' });
  const empty = h('p', { class: 'empty muted', id: 'conversation-empty', text: 'No messages yet in this session.' });
  const newBelow = h('button', {
    type: 'button', class: 'new-below', hidden: true, text: 'New messages below',
    on: { click: () => scrollToEnd(true) },
  });

  const membersTitle = h('span', { text: 'People here' });
  const membersList = h('ul', { class: 'member-list', id: 'member-list' });
  const membersDetails = h('details', { class: 'members-details', open: window.matchMedia('(min-width: 60em)').matches },
    h('summary', { id: 'members-title' }, membersTitle),
    membersList);

  const textarea = h('textarea', {
    id: 'composer-text', rows: 2, enterkeyhint: 'send', autocapitalize: 'sentences',
    value: sessionStore.load(`draft.${slug}`, '') || '',
  });
  const composerHint = h('p', { class: 'hint', id: 'composer-hint', text: 'Enter sends; Shift+Enter starts a new line.' });
  const composerError = h('p', { class: 'field-error', id: 'composer-error', hidden: true });
  const counter = h('p', { class: 'counter muted', id: 'composer-counter', hidden: true });
  textarea.setAttribute('aria-describedby', 'composer-hint composer-counter composer-error');
  const offRecord = h('input', { type: 'checkbox', id: 'composer-off-record' });
  const composer = h('form', { class: 'composer', id: 'composer', 'aria-label': 'Write a message', on: { submit: onSend } },
    h('label', { for: 'composer-text', text: 'Your message' }),
    h('div', { class: 'composer-row' },
      textarea,
      h('button', { type: 'submit', class: 'button primary send', text: 'Send' })),
    h('div', { class: 'check composer-check' }, offRecord,
      h('label', { for: 'composer-off-record', text: 'Off the record (said live, never stored)' })),
    composerHint, counter, composerError);
  const visitorNote = h('p', { class: 'note visitor-note', id: 'visitor-note', hidden: true,
    text: 'You are here as a visitor: you can read and react, but not write in the meeting.' });

  // The share: who shares and the time left (the server's timer), the queue, the hand.
  const shareStatus = h('p', { class: 'share-status', id: 'share-status' });
  const queueLine = h('p', { class: 'queue-line muted', id: 'queue-line' });
  const handButton = h('button', {
    type: 'button', class: 'button secondary small', id: 'hand-button', 'aria-pressed': 'false', text: 'Raise hand',
    on: { click: () => toggleHand() },
  });
  const doneButton = h('button', {
    type: 'button', class: 'button small', id: 'share-done', hidden: true, text: 'I am done sharing',
    on: { click: () => endOwnShare() },
  });
  const shareError = h('p', { class: 'field-error', id: 'share-error', role: 'alert', hidden: true });
  const shareBar = h('section', { class: 'share-bar', id: 'share-bar', 'aria-label': 'Shares', hidden: true },
    h('div', { class: 'share-row' }, shareStatus, h('div', { class: 'share-actions' }, doneButton, handButton)),
    queueLine, shareError);

  // A group-conscience vote (state.vote), for everyone who may vote.
  const voteCard = h('section', { class: 'vote-card notice', id: 'vote-card', 'aria-labelledby': 'vote-title', hidden: true });

  // Private words to the chairs (never stored) and direct messages received.
  const privateText = h('textarea', { id: 'to-chairs-text', rows: 2, maxlength: 4000 });
  const privateStatus = h('p', { class: 'form-status', id: 'to-chairs-status', role: 'status' });
  const privateForm = h('form', { class: 'to-chairs', id: 'to-chairs', on: { submit: (e) => { e.preventDefault(); sendToChairs(); } } },
    h('label', { for: 'to-chairs-text', text: 'Message to the chairs' }),
    h('p', { class: 'hint', id: 'to-chairs-hint', text: 'Only the chair and co-chairs see it. It is never stored.' }),
    privateText,
    h('p', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button small secondary', text: 'Send to the chairs' })),
    privateStatus);
  privateText.setAttribute('aria-describedby', 'to-chairs-hint to-chairs-status');
  const privateBox = h('details', { class: 'private-details', id: 'private-details' },
    h('summary', { text: 'Write to the chairs privately' }), privateForm);

  const page = h('div', { class: 'page page-room' },
    h('div', { class: 'room-head' },
      h('div', { class: 'room-title' }, heading, topic, connState),
      h('div', { class: 'room-actions' }, helpButton, leaveButton)),
    helpStatus,
    notices, recordsBox, waitingPanel, voteCard,
    h('div', { class: 'room-layout', id: 'room-layout' },
      h('section', { class: 'conversation', 'aria-labelledby': 'conversation-title' },
        h('h2', { id: 'conversation-title', class: 'visually-hidden', text: 'Conversation' }),
        h('p', { class: 'earlier-wrap' }, earlierButton),
        messages, pending, empty, newBelow),
      h('aside', { class: 'members', 'aria-labelledby': 'members-title' }, membersDetails, privateBox)),
    // The connection's banners sit with the composer, which stays in view.
    h('div', { class: 'composer-wrap' }, offlineBanner, pausedBanner, endedBanner, shareBar, composer, visitorNote));
  // The chair panel, for greeters and above (PROTOCOL.md 17); it draws itself from the client.
  const chairPanel = createChairPanel(client, {
    jumpTo: (seq) => {
      const li = nodes.get(seq);
      if (!li) return false;
      li.setAttribute('tabindex', '-1');
      li.focus();
      return true;
    },
  });
  page.insertBefore(chairPanel.el, page.querySelector('#room-layout'));
  container.append(page);
  focusHeading(container);

  // --- reactions --------------------------------------------------------------------------
  const reactions = new Map(); // target seq -> Map(reaction -> {count, mine})
  const nodes = new Map(); // seq -> <li> of a message

  function addReaction(ev) {
    if (!reactions.has(ev.target_seq)) reactions.set(ev.target_seq, new Map());
    const m = reactions.get(ev.target_seq);
    const r = m.get(ev.reaction) || { count: 0, mine: false };
    r.count++;
    if (client.you && ev.from && ev.from.member === client.you.member) r.mine = true;
    m.set(ev.reaction, r);
  }

  function drawReactions(seq) {
    const li = nodes.get(seq);
    if (!li) return;
    const summary = li.querySelector('.reaction-summary');
    const counts = reactions.get(seq) || new Map();
    clear(summary);
    for (const name of REACTIONS) {
      const r = counts.get(name);
      if (!r || !r.count) continue;
      summary.append(h('li', { class: ['reaction-count', r.mine && 'mine'] },
        h('span', { 'aria-hidden': 'true', text: `${REACTION_INFO[name].emoji} ${REACTION_INFO[name].label} ${r.count}` }),
        h('span', { class: 'visually-hidden', text: `${REACTION_INFO[name].label}: ${r.count}${r.mine ? ', including yours' : ''}` })));
    }
    summary.hidden = !summary.firstChild;
    for (const button of li.querySelectorAll('.react-menu button')) {
      const name = button.dataset.reaction;
      const given = client.myReaction(seq, name);
      button.setAttribute('aria-pressed', given ? 'true' : 'false');
      button.disabled = given;
    }
  }

  function toggleMenu(li, open) {
    const menu = li.querySelector('.react-menu');
    const toggle = li.querySelector('.react-toggle');
    const show = open === undefined ? menu.hidden : open;
    menu.hidden = !show;
    toggle.setAttribute('aria-expanded', show ? 'true' : 'false');
    if (show) {
      const first = menu.querySelector('button:not([disabled])');
      if (first) first.focus();
    }
  }

  // --- messages ---------------------------------------------------------------------------
  function isMine(ev) {
    return !!(client.you && ev.from && ev.from.member === client.you.member);
  }

  function authorRole(ev) {
    const m = ev.from && client.members.get(ev.from.member);
    return m ? roleOf(m) : 'attendee';
  }

  function messageNode(ev) {
    const mine = isMine(ev);
    const seq = ev.seq;
    const menuId = `react-${seq}`;
    const author = ev.from && typeof ev.from.name === 'string' ? ev.from.name : 'Someone';
    const li = h('li', { class: ['msg', mine && 'own'], id: `msg-${seq}`, dataset: { seq: String(seq), cmid: ev.client_msg_id } },
      h('p', { class: 'msg-meta' },
        h('span', { class: 'msg-author', text: mine ? `${author} (you)` : author }),
        ' ', roleBadge(authorRole(ev) === 'attendee' ? null : authorRole(ev)), ' ',
        h('time', { class: 'msg-time', datetime: new Date(ev.ts).toISOString(), text: timeFmt.format(new Date(ev.ts)) })),
      typeof ev.text === 'string'
        ? h('p', { class: 'msg-text', text: ev.text })
        : h('p', { class: 'msg-removed muted', text: placeholder(ev) }),
      ev.off_record && typeof ev.text === 'string'
        ? h('p', { class: 'msg-flag muted', text: 'Off the record: not stored.' }) : null,
      h('div', { class: 'msg-foot' },
        h('ul', { class: 'reaction-summary', 'aria-label': 'Reactions', hidden: true }),
        h('button', {
          type: 'button', class: 'react-toggle', 'aria-expanded': 'false', 'aria-controls': menuId,
          on: { click: () => toggleMenu(li) },
        }, 'React', h('span', { class: 'visually-hidden', text: ` to ${mine ? 'your' : `${author}'s`} message` })),
        typeof ev.text === 'string' ? h('button', {
          type: 'button', class: ['msg-action', 'msg-delete', !mine && 'moderator-only'],
          on: { click: () => confirmDelete(li, seq, mine) },
        }, 'Delete', h('span', { class: 'visually-hidden', text: ` ${mine ? 'your' : `${author}'s`} message` })) : null,
        mine ? null : h('button', {
          type: 'button', class: 'msg-action msg-report',
          on: { click: () => reportForm(li, seq) },
        }, 'Report', h('span', { class: 'visually-hidden', text: ` ${author}'s message to the chairs` })),
        mine ? h('span', { class: 'delivery', text: client.deliveryOf(ev.client_msg_id) === 'sending' ? 'Sending…' : 'Delivered' }) : null),
      h('div', { class: 'msg-inline', hidden: true }),
      h('div', {
        class: 'react-menu', id: menuId, role: 'group', 'aria-label': `Reactions to ${mine ? 'your' : `${author}'s`} message`, hidden: true,
        on: { keydown: (e) => { if (e.key === 'Escape') { toggleMenu(li, false); li.querySelector('.react-toggle').focus(); } } },
      },
      REACTIONS.map((name) => h('button', {
        type: 'button', class: 'reaction', dataset: { reaction: name }, 'aria-pressed': 'false',
        on: {
          click: () => {
            const r = client.react(seq, name);
            if (r.ok) {
              drawReactions(seq);
              toggleMenu(li, false);
              li.querySelector('.react-toggle').focus();
            }
          },
        },
      }, h('span', { 'aria-hidden': 'true', text: REACTION_INFO[name].emoji }), ` ${REACTION_INFO[name].label}`))));
    if (typeof ev.text !== 'string') {
      for (const el of li.querySelectorAll('.react-toggle, .react-menu')) el.remove();
    }
    return li;
  }

  // A line for an event that runs the session: shares, readings, the topic, chair actions.
  function systemNode(ev) {
    const line = describe(ev);
    if (!line) return null;
    const li = h('li', { class: ['sys', `sys-${ev.kind}`], id: `msg-${ev.seq}`, dataset: { seq: String(ev.seq), kind: ev.kind } });
    if (ev.kind === 'reading') {
      li.append(h('h3', { class: 'reading-title', text: ev.title || 'Reading' }));
      if (typeof ev.text === 'string') li.append(h('p', { class: 'reading-text', text: ev.text }));
      else li.append(h('p', { class: 'muted', text: '(not recorded)' }));
      return li;
    }
    li.append(h('p', { class: 'sys-text', text: line }));
    if (ev.kind === 'vote_closed' && Array.isArray(ev.options) && Array.isArray(ev.counts)) {
      li.append(h('ul', { class: 'vote-results' }, ev.options.map((o, i) =>
        h('li', { text: `${o}: ${ev.counts[i] ?? 0}` }))),
      h('p', { class: 'muted', text: `${ev.votes ?? 0} voted.` }));
    }
    return li;
  }

  function inlineArea(li) {
    const area = li.querySelector('.msg-inline');
    clear(area);
    area.hidden = false;
    return area;
  }

  function closeInline(li, focusSel) {
    const area = li.querySelector('.msg-inline');
    clear(area);
    area.hidden = true;
    const back = li.querySelector(focusSel);
    if (back) back.focus();
  }

  function confirmDelete(li, seq, mine) {
    const area = inlineArea(li);
    const status = h('p', { class: 'form-status', role: 'status' });
    const yes = h('button', {
      type: 'button', class: 'button small danger', text: 'Delete for everyone',
      on: {
        click: async () => {
          yes.disabled = true;
          const r = await client.command({ type: 'delete', seq });
          if (!r.ok) {
            yes.disabled = false;
            status.textContent = `Not deleted: ${r.message}`;
            status.classList.add('is-error');
          }
        },
      },
    });
    area.append(
      h('p', { text: mine ? 'Delete your message for everyone?' : 'Delete this message for everyone? It is removed from every screen and from the records.' }),
      h('p', { class: 'form-actions' }, yes, ' ',
        h('button', { type: 'button', class: 'button small secondary', text: 'Keep it', on: { click: () => closeInline(li, '.msg-delete') } })),
      status);
    yes.focus();
  }

  let reportSerial = 0;
  function reportForm(li, seq) {
    const area = inlineArea(li);
    const id = `report-reason-${seq}-${++reportSerial}`;
    const reason = h('input', { type: 'text', id, maxlength: 500 });
    const status = h('p', { class: 'form-status', role: 'status' });
    area.append(h('form', {
      class: 'report-form',
      on: {
        submit: async (e) => {
          e.preventDefault();
          const r = await client.command({ type: 'report', seq, reason: reason.value });
          if (!r.ok) {
            status.textContent = `Not sent: ${r.message}`;
            status.classList.add('is-error');
            return;
          }
          closeInline(li, '.msg-report');
          announce(r.delivered ? 'Your report was sent to the chairs.' : 'No chair is here right now, so the report reached nobody.');
        },
      },
    },
    h('label', { for: id, text: 'Why are you reporting this? (optional, only the chairs see it)' }),
    reason,
    h('p', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button small', text: 'Send report' }), ' ',
      h('button', { type: 'button', class: 'button small secondary', text: 'Cancel', on: { click: () => closeInline(li, '.msg-report') } })),
    status));
    reason.focus();
  }

  function markDeleted(seq, by) {
    const li = nodes.get(seq);
    if (!li || !li.classList.contains('msg')) return;
    for (const el of li.querySelectorAll('.msg-text, .msg-flag, .react-toggle, .react-menu, .msg-delete, .msg-report')) el.remove();
    const area = li.querySelector('.msg-inline');
    if (area) {
      clear(area);
      area.hidden = true;
    }
    if (!li.querySelector('.msg-removed')) {
      li.querySelector('.msg-meta').after(h('p', { class: 'msg-removed muted', text: placeholder({ removed: by }) }));
    }
    li.classList.add('removed');
  }

  function insertMessage(li, seq) {
    const last = messages.lastElementChild;
    if (!last || Number(last.dataset.seq) < seq) {
      messages.append(li);
      return;
    }
    for (const child of messages.children) {
      if (Number(child.dataset.seq) > seq) {
        messages.insertBefore(li, child);
        return;
      }
    }
    messages.append(li);
  }

  function nearEnd() {
    const doc = document.documentElement;
    return window.innerHeight + window.scrollY >= doc.scrollHeight - 160;
  }

  function scrollToEnd(focusLast) {
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior: reduce ? 'auto' : 'smooth' });
    newBelow.hidden = true;
    if (focusLast) {
      const last = pending.lastElementChild || messages.lastElementChild;
      if (last) {
        last.setAttribute('tabindex', '-1');
        last.focus({ preventScroll: true });
      }
    }
  }

  function addEvents(list, source) {
    const stick = nearEnd();
    const touched = new Set();
    const fromOthers = [];
    for (const ev of list) {
      if (ev.kind === 'message') {
        if (nodes.has(ev.seq)) continue;
        const li = messageNode(ev);
        nodes.set(ev.seq, li);
        insertMessage(li, ev.seq);
        touched.add(ev.seq);
        if (isMine(ev)) {
          const bubble = pending.querySelector(`li[data-cmid="${CSS.escape(ev.client_msg_id)}"]`);
          if (bubble) {
            // The ack may already have come (during a catch-up): keep "Delivered".
            if (bubble.dataset.delivered === 'true') li.querySelector('.delivery').textContent = 'Delivered';
            bubble.remove();
          }
        } else {
          if (typeof ev.text === 'string') fromOthers.push(ev);
        }
      } else if (ev.kind === 'reaction' && Number.isInteger(ev.target_seq)) {
        addReaction(ev);
        touched.add(ev.target_seq);
      } else {
        const li = systemNode(ev);
        if (li && !nodes.has(ev.seq)) {
          nodes.set(ev.seq, li);
          insertMessage(li, ev.seq);
          if (source === 'live' && ['share_started', 'share_time_warning', 'share_time_up', 'share_ended', 'reading', 'topic', 'session_started', 'vote_opened', 'vote_closed'].includes(ev.kind)) {
            announce(describe(ev));
          }
        }
      }
    }
    for (const seq of touched) drawReactions(seq);
    empty.hidden = nodes.size > 0 || pending.children.length > 0;
    drawShare();
    if (source === 'history') return;
    if (source === 'live' && fromOthers.length) {
      if (fromOthers.length <= 3) {
        for (const ev of fromOthers) announce(`${ev.from.name}: ${String(ev.text).slice(0, 400)}`);
      } else {
        announce(`${fromOthers.length} new messages.`);
      }
    } else if ((source === 'join' || source === 'catchup') && reconnected && fromOthers.length) {
      announce(`${fromOthers.length} new message${fromOthers.length === 1 ? '' : 's'} while you were away.`);
    }
    if (stick) scrollToEnd(false);
    else if (fromOthers.length) newBelow.hidden = false;
  }

  // Own messages not shown as events yet (written offline, sending, or held).
  function drawPending() {
    const items = client.pendingMessages();
    const keep = new Set(items.map((it) => it.cmid));
    for (const li of [...pending.children]) {
      if (!keep.has(li.dataset.cmid) && li.dataset.delivered !== 'true') li.remove();
    }
    for (const it of items) {
      // Already shown as an event: its "Sending…" mark is on the message itself.
      const shown = [...nodes.values()].some((li) => li.dataset.cmid === it.cmid && li.classList.contains('own'));
      let li = pending.querySelector(`li[data-cmid="${CSS.escape(it.cmid)}"]`);
      if (shown) {
        if (li) li.remove();
        continue;
      }
      if (!li) {
        li = h('li', { class: 'msg own pending-msg', dataset: { cmid: it.cmid } },
          h('p', { class: 'msg-meta' }, h('span', { class: 'msg-author', text: `${client.you ? client.you.name : joinInfo.name} (you)` })),
          h('p', { class: 'msg-text', text: it.text }),
          h('div', { class: 'msg-foot' }, h('span', { class: 'delivery' })),
          h('div', { class: 'held-actions' }));
        pending.append(li);
      }
      drawPendingState(li, it);
    }
    empty.hidden = nodes.size > 0 || pending.children.length > 0;
  }

  function drawPendingState(li, it) {
    const delivery = li.querySelector('.delivery');
    const actions = li.querySelector('.held-actions');
    clear(actions);
    li.classList.toggle('held', !!it.held);
    if (it.held) {
      const why = {
        session: 'Not sent: you wrote this during an earlier session of this meeting.',
        too_long: `Not sent: it is longer than this meeting allows (${client.limits.max_text_chars} characters).`,
        forbidden: 'Not sent: visitors can read and react, but not write.',
        failed: 'Not sent: something went wrong while storing it.',
        muted: 'Not sent: the chair has muted you for now.',
        chat_locked: 'Not sent: the chair has paused the chat for now.',
        no_crosstalk: 'Not sent: this meeting asks people not to reply to a share while it goes on.',
        waiting_room: 'Not sent: you are in the waiting room.',
      }[it.held] || 'Not sent.';
      delivery.textContent = why;
      if (it.held === 'session') actions.append(actionButton('Send it now', () => client.sendHeld(it.cmid)));
      if (['failed', 'muted', 'chat_locked', 'no_crosstalk', 'waiting_room'].includes(it.held)) {
        actions.append(actionButton('Try again', () => client.sendHeld(it.cmid)));
      }
      if (it.held === 'too_long') {
        actions.append(actionButton('Edit it', () => {
          textarea.value = it.text;
          client.discard(it.cmid);
          textarea.focus();
          updateCounter();
        }));
      }
      actions.append(actionButton('Discard', () => client.discard(it.cmid)));
      return;
    }
    if (client.state !== 'joined') delivery.textContent = 'Waiting for the connection…';
    else if (client.storeState === 'paused') delivery.textContent = 'Waiting: delivery paused';
    else delivery.textContent = 'Sending…';
  }

  function actionButton(text, fn) {
    return h('button', { type: 'button', class: 'button small secondary', text, on: { click: fn } });
  }

  // --- members ----------------------------------------------------------------------------
  function drawMembers() {
    const list = [...client.members.values()].sort((a, b) =>
      ROLE_ORDER[roleOf(a)] - ROLE_ORDER[roleOf(b)] || a.name.localeCompare(b.name));
    clear(membersList);
    for (const m of list) {
      const you = client.you && m.member === client.you.member;
      membersList.append(h('li', { class: ['member', you && 'you'] },
        h('span', { class: 'member-name', text: m.name }),
        you ? h('span', { class: 'muted', text: ' (you)' }) : null,
        ' ', roleBadge(roleOf(m) === 'attendee' ? null : roleOf(m))));
    }
    membersTitle.textContent = `People here (${list.length})`;
  }

  // What is kept, as the server told it in joined or waiting (meeting.records).
  function drawRecords(meeting) {
    const r = meeting && meeting.records;
    if (!r || typeof r.kept !== 'boolean') return;
    clear(recordsBody);
    const sentences = recordsStatement({
      record_transcripts: r.kept, retention_days: r.retention_days, transcript_readers: r.readers,
    });
    for (const sentence of sentences.slice(0, -1)) recordsBody.append(h('p', { text: sentence }));
    recordsBox.hidden = false;
  }

  function showWaitingRoom(waiting) {
    waitingPanel.hidden = !waiting;
    page.querySelector('#room-layout').hidden = waiting;
    drawComposer();
    drawShare();
    drawVote();
  }

  // --- state ------------------------------------------------------------------------------
  let reconnected = false;
  let everJoined = false;
  let countdown = null;
  let lastConnText = '';

  function setConn(text) {
    if (text !== lastConnText) {
      lastConnText = text;
      connState.textContent = text;
    }
  }

  function tickCountdown() {
    clearInterval(countdown);
    countdown = null;
    const draw = () => {
      if (client.state !== 'retrying' || !client.retryAt) {
        retryIn.textContent = '';
        return;
      }
      retryIn.textContent = `Trying again in ${secondsText(client.retryAt - Date.now())}.`;
    };
    draw();
    countdown = setInterval(draw, 1000);
  }

  function drawComposer() {
    const visitor = client.you ? client.you.role === 'visitor' : !!joinInfo.visitor;
    const waiting = !waitingPanel.hidden;
    composer.hidden = visitor || waiting;
    visitorNote.hidden = !visitor || waiting;
  }

  client.on('state', ({ state }) => {
    offlineBanner.hidden = state !== 'retrying';
    if (state === 'connecting') setConn(everJoined ? 'Reconnecting…' : 'Connecting…');
    else if (state === 'hello' || state === 'joining') setConn(everJoined ? 'Reconnecting…' : 'Joining…');
    else if (state === 'joined') setConn('Connected');
    else if (state === 'retrying') setConn('Connection lost. Reconnecting automatically.');
    else if (state === 'confirm-name') setConn('Waiting for you to confirm your name');
    else if (state === 'waiting-room') setConn('In the waiting room');
    else if (state === 'not-open') setConn('Waiting for the waiting room to open');
    drawShare();
    if (state === 'retrying') tickCountdown();
    else {
      clearInterval(countdown);
      countdown = null;
    }
    drawPending();
  });

  client.on('fullname', ({ message }) => {
    const note = h('div', { class: 'banner banner-gentle', id: 'banner-fullname' },
      h('p', { text: message || NAME_MESSAGES.full_name }),
      h('p', {},
        actionButton('Choose another name', () => {
          client.leave();
          sessionStore.remove(`join.${slug}`);
          go(`/m/${slug}`);
        }),
        ' ',
        actionButton('Keep this name', () => {
          note.remove();
          joinInfo.fullNameConfirmed = true;
          sessionStore.save(`join.${slug}`, joinInfo);
          client.confirmName();
        })));
    notices.append(note);
    note.querySelector('p').setAttribute('tabindex', '-1');
    note.querySelector('p').focus();
  });

  client.on('waiting', ({ phase, meeting, position, waiting, chairPresent, autoAdmit, startsAt }) => {
    if (meeting && meeting.name) {
      heading.textContent = meeting.name;
      setTitle(meeting.name);
    }
    drawRecords(meeting);
    waitingPanel.querySelector('h2').textContent = 'You are in the waiting room';
    if (phase === 'closed') waitingText.textContent = 'This session has ended. Thank you for coming.';
    else if (phase === 'open') waitingText.textContent = 'The meeting has started. A chair or greeter will let you in shortly.';
    else {
      const at = Number.isInteger(startsAt) ? ` It is due to start at ${timeFmt.format(new Date(startsAt))}.` : '';
      waitingText.textContent = `The meeting has not started yet.${at} ${autoAdmit ? 'Everyone waiting comes in when the chair opens it.' : 'You will be let in when the chair opens it.'}`;
    }
    const place = waitingPanel.querySelector('#waiting-place');
    const parts = [];
    if (position && waiting) parts.push(waiting === 1 ? 'You are the only one waiting.' : `You are number ${position} of ${waiting} waiting.`);
    if (chairPresent === false && phase !== 'closed') parts.push('Nobody who can let people in is here yet.');
    place.textContent = parts.join(' ');
    place.hidden = !parts.length;
    const wasHidden = waitingPanel.hidden;
    showWaitingRoom(true);
    if (wasHidden) announce(`You are in the waiting room. ${waitingText.textContent}`);
  });

  // Too early: the waiting room of a scheduled meeting opens later; the client joins by itself then.
  client.on('notopen', ({ opensAt, startsAt }) => {
    const opens = Number.isInteger(opensAt) ? timeFmt.format(new Date(opensAt)) : null;
    const starts = Number.isInteger(startsAt) ? timeFmt.format(new Date(startsAt)) : null;
    waitingPanel.querySelector('h2').textContent = 'The waiting room is not open yet';
    waitingText.textContent = `${opens ? `It opens at ${opens}` : 'It opens a little before the meeting'}${starts ? `, and the meeting starts at ${starts}` : ''} (your time). Keep this page open: it goes in by itself when the room opens.`;
    waitingPanel.querySelector('#waiting-place').hidden = true;
    const wasHidden = waitingPanel.hidden;
    showWaitingRoom(true);
    if (wasHidden) announce(`The waiting room is not open yet. ${waitingText.textContent}`);
  });

  client.on('joined', ({ reset, first, meeting, you }) => {
    showWaitingRoom(false);
    drawRecords(meeting);
    if (meeting && meeting.name) {
      heading.textContent = meeting.name;
      setTitle(meeting.name);
      if (joinInfo.meetingName !== meeting.name) {
        joinInfo.meetingName = meeting.name;
        sessionStore.save(`join.${slug}`, joinInfo);
      }
    }
    topic.hidden = !client.topic;
    topic.textContent = client.topic ? `Topic: ${client.topic}` : '';
    if (reset) {
      clear(messages);
      nodes.clear();
      reactions.clear();
      announce('A new session of this meeting has begun.');
    }
    reconnected = everJoined && !first;
    if (!everJoined) {
      const n = client.members.size;
      announce(`You are in the meeting as ${you ? you.name : joinInfo.name}. ${n} ${n === 1 ? 'person is' : 'people are'} here.`);
    }
    everJoined = true;
    earlierButton.hidden = !client.hasEarlier;
    earlierButton.disabled = false;
    drawComposer();
  });

  client.on('events', ({ events, source }) => addEvents(events, source));
  client.on('history', ({ events }) => addEvents(events, 'history'));
  client.on('earlier', ({ hasEarlier }) => {
    earlierButton.hidden = !hasEarlier;
    earlierButton.disabled = false;
  });
  client.on('members', drawMembers);
  client.on('phase', ({ phase }) => {
    const ended = phase === 'closed';
    if (ended && endedBanner.hidden) announce('The chair has ended this session.');
    endedBanner.hidden = !ended;
  });
  client.on('outbox', drawPending);
  client.on('store', ({ store }) => {
    pausedBanner.hidden = store !== 'paused';
    if (store === 'paused') announce(PAUSED_TEXT);
    else announce('Delivery has resumed.');
    drawPending();
  });
  client.on('ack', ({ cmid }) => {
    for (const li of nodes.values()) {
      if (li.dataset.cmid === cmid && li.classList.contains('own')) {
        li.querySelector('.delivery').textContent = 'Delivered';
        return;
      }
    }
    // Acknowledged before its event arrived (a catch-up is under way): mark the bubble.
    const bubble = pending.querySelector(`li[data-cmid="${CSS.escape(cmid)}"]`);
    if (bubble) {
      bubble.dataset.delivered = 'true';
      bubble.classList.remove('held');
      bubble.querySelector('.delivery').textContent = 'Delivered';
    }
  });
  client.on('notice', ({ code, kind }) => {
    if (kind === 'react') announce('That reaction could not be sent.');
    else if (code === 'too_long') announce('A message was not sent because it is too long.');
    else announce('A message could not be sent. You can try again.');
  });
  client.on('account', () => {
    notices.append(h('div', { class: 'banner banner-gentle', id: 'banner-account' },
      h('p', {}, 'Your chair login has ended, so you are here as an attendee. ',
        h('a', { href: '#/login', text: 'Log in again' }), ' to take up your role.')));
  });
  client.on('ended', ({ reason, code }) => {
    clearInterval(countdown);
    if (reason === 'name') {
      sessionStore.save(`joinError.${slug}`, { code });
      go(`/m/${slug}`, { replace: true });
      return;
    }
    if (reason === 'left') return;
    if (reason === 'session_ended') {
      // The conversation stays on the page to read; nothing more can be sent.
      endedBanner.hidden = false;
      composer.hidden = true;
      shareBar.hidden = true;
      setConn('The meeting has ended');
      if (!waitingPanel.hidden) waitingText.textContent = 'This session has ended. Thank you for coming.';
      privateBox.hidden = true;
      voteCard.hidden = true;
      offerSlip();
      return;
    }
    clear(container);
    if (reason === 'not_found') {
      setTitle('No such meeting');
      container.append(h('div', { class: 'page' },
        h('h1', { text: 'There is no meeting at this address' }),
        h('p', { text: 'The link may be mistyped, or the meeting may have been removed.' }),
        h('p', {}, h('a', { href: '#/', text: 'See the list of meetings' }))));
    } else if (ENDINGS[reason]) {
      const [title, text] = ENDINGS[reason];
      setTitle(title);
      container.append(h('div', { class: 'page' },
        h('h1', { text: title }),
        h('p', { text }),
        h('p', {}, h('a', { href: `#/m/${slug}`, text: 'Back to the meeting page' }), ' · ',
          h('a', { href: '#/', text: 'See the list of meetings' }))));
    } else {
      setTitle('Connection refused');
      container.append(h('div', { class: 'page' },
        h('h1', { text: 'The meeting refused this connection' }),
        h('p', { text: 'Please reload the page to try again. What you wrote is kept on this device.' }),
        h('p', {}, h('a', { href: '#/', text: 'See the list of meetings' }))));
    }
    focusHeading(container);
  });

  // --- shares, hands, votes, private words ----------------------------------------------
  let shareTimer = null;

  function mayPost() {
    const live = client.live;
    if (!client.you) return false;
    if (client.you.role !== 'visitor') return true;
    return !!(live && live.settings && live.settings.visitors_may_post);
  }

  function shareLine(sharing, me) {
    const who = sharing.member && sharing.member.member === me ? 'You are' : `${sharing.member.name} is`;
    const left = (sharing.started_at + sharing.limit_secs * 1000 - client.serverNow()) / 1000;
    if (left > 0) return `${who} sharing · ${clockText(left)} left of ${clockText(sharing.limit_secs)}`;
    return `${who} sharing · time is up (over by ${clockText(-left)})`;
  }

  function drawShare() {
    const live = client.live;
    const joined = client.state === 'joined' && waitingPanel.hidden;
    shareBar.hidden = !live || !joined || live.phase === 'closed';
    if (shareBar.hidden) {
      clearInterval(shareTimer);
      shareTimer = null;
      return;
    }
    const me = client.you ? client.you.member : null;
    const sharing = live.sharing;
    const queue = Array.isArray(live.queue) ? live.queue : [];
    if (sharing && sharing.member) {
      shareStatus.textContent = shareLine(sharing, me);
      if (!shareTimer) shareTimer = setInterval(() => {
        if (client.live && client.live.sharing) shareStatus.textContent = shareLine(client.live.sharing, me);
      }, 1000);
    } else {
      clearInterval(shareTimer);
      shareTimer = null;
      shareStatus.textContent = live.phase === 'waiting' ? 'The meeting has not started yet.' : 'Nobody is sharing right now.';
    }
    shareBar.classList.toggle('is-sharing', !!(sharing && sharing.member));
    doneButton.hidden = !(sharing && sharing.member && sharing.member.member === me);
    const mine = queue.findIndex((q) => q.member === me);
    handButton.hidden = !mayPost() || !!(sharing && sharing.member && sharing.member.member === me);
    handButton.textContent = mine >= 0 ? 'Lower hand' : 'Raise hand';
    handButton.setAttribute('aria-pressed', mine >= 0 ? 'true' : 'false');
    queueLine.hidden = !queue.length;
    if (!queue.length) queueLine.textContent = '';
    else {
      queueLine.textContent = `Hands raised, in order: ${queue.map((q) => (q.member === me ? `${q.name} (you)` : q.name)).join(', ')}.`;
    }
  }

  function showShareError(text) {
    shareError.textContent = text || '';
    shareError.hidden = !text;
  }

  async function toggleHand() {
    const raised = handButton.getAttribute('aria-pressed') !== 'true';
    const r = await client.command({ type: 'hand', raised });
    showShareError(r.ok ? '' : `Your hand could not be ${raised ? 'raised' : 'lowered'}: ${r.message}`);
    if (r.ok) announce(raised ? 'Your hand is raised.' : 'Your hand is lowered.');
  }

  async function endOwnShare() {
    const r = await client.command({ type: 'end_share' });
    showShareError(r.ok ? '' : `The share could not be ended: ${r.message}`);
  }

  async function sendHelp() {
    helpButton.disabled = true;
    const r = await client.command({ type: 'help' });
    helpButton.disabled = false;
    if (!r.ok) helpStatus.textContent = `Your call for help could not be sent (${r.message}). The Crisis help button at the top lists people you can call now.`;
    else if (r.delivered) helpStatus.textContent = 'The chairs know you need help; only they were told. The Crisis help button at the top lists people you can call now.';
    else helpStatus.textContent = 'No chair is here right now. The Crisis help button at the top lists people you can call now.';
  }

  async function sendToChairs() {
    const text = privateText.value;
    if (!/[^ \t\r\n]/.test(text)) {
      privateStatus.textContent = 'Write something first.';
      return;
    }
    const r = await client.command({ type: 'private', to: 'chairs', text });
    if (!r.ok) {
      privateStatus.textContent = `Not sent: ${r.message}`;
      return;
    }
    privateText.value = '';
    privateStatus.textContent = r.delivered ? 'Sent to the chairs.' : 'No chair is here right now, so nobody got it.';
  }

  const votedOn = new Set();
  function drawVote() {
    const vote = client.live && client.live.vote;
    const joined = client.state === 'joined' && waitingPanel.hidden;
    voteCard.hidden = !vote || !joined;
    if (voteCard.hidden) return;
    if (voteCard.dataset.vote === String(vote.id) && voteCard.dataset.cast === String(vote.votes_cast)) return;
    const hadFocus = voteCard.contains(document.activeElement);
    voteCard.dataset.vote = String(vote.id);
    voteCard.dataset.cast = String(vote.votes_cast);
    const status = h('p', { class: 'form-status', role: 'status', id: 'vote-status' });
    const canVote = client.you && client.you.role !== 'visitor' && !votedOn.has(vote.id);
    clear(voteCard);
    voteCard.append(
      h('h2', { id: 'vote-title', text: 'Group conscience vote' }),
      h('p', { class: 'vote-question', text: vote.question }),
      canVote
        ? h('div', { class: 'vote-options', role: 'group', 'aria-labelledby': 'vote-title' }, vote.options.map((o, i) => h('button', {
          type: 'button', class: 'button small secondary', text: o,
          on: {
            click: async () => {
              const r = await client.command({ type: 'vote', vote: vote.id, option: i });
              if (r.ok || r.code === 'already_voted') {
                votedOn.add(vote.id);
                voteCard.dataset.cast = '';
                drawVote();
                announce('Your vote is in. Nobody sees who voted for what.');
              } else status.textContent = `Your vote was not counted: ${r.message}`;
            },
          },
        })))
        : h('p', { class: 'muted', text: votedOn.has(vote.id) ? 'Your vote is in. Nobody sees who voted for what.' : 'Visitors do not vote.' }),
      h('p', { class: 'muted', text: `${vote.votes_cast} ${vote.votes_cast === 1 ? 'person has' : 'people have'} voted so far.` }),
      status);
    if (hadFocus) voteCard.querySelector('h2').focus();
  }

  // A direct message (when the chair allows them) or, for greeters, a word from a chair.
  let directSerial = 0;
  function showDirect(m) {
    const id = `reply-${++directSerial}`;
    const reply = h('input', { type: 'text', id, maxlength: 4000 });
    const status = h('p', { class: 'form-status', role: 'status' });
    const note = h('div', { class: 'banner banner-gentle direct-message', role: 'region', 'aria-label': `Private message from ${m.from.name}` },
      h('p', {}, h('strong', { text: `Private message from ${m.from.name}: ` }), h('span', { class: 'direct-text', text: m.text })),
      h('form', {
        class: 'reply-form',
        on: {
          submit: async (e) => {
            e.preventDefault();
            if (!/[^ \t\r\n]/.test(reply.value)) return;
            const r = await client.command({ type: 'private', to: m.from.member, text: reply.value });
            status.textContent = r.ok ? (r.delivered ? `Sent to ${m.from.name}.` : `${m.from.name} is not here any more.`) : `Not sent: ${r.message}`;
            if (r.ok) reply.value = '';
          },
        },
      }, h('label', { for: id, text: `Reply privately to ${m.from.name}` }),
      h('span', { class: 'inline-row' }, reply, h('button', { type: 'submit', class: 'button small secondary', text: 'Send' }))),
      status,
      h('p', {}, actionButton('Dismiss', () => note.remove())));
    notices.append(note);
    announce(`Private message from ${m.from.name}: ${String(m.text).slice(0, 300)}`);
  }

  client.on('live', () => {
    drawShare();
    drawVote();
    page.classList.toggle('can-moderate', ['co-chair', 'chair', 'admin'].includes(client.rank()));
  });
  client.on('deleted', ({ seq, by }) => {
    markDeleted(seq, by);
    announce(by === 'chair' ? 'A chair removed a message.' : 'A message was taken back by its author.');
  });
  client.on('topic', ({ topic: t }) => {
    topic.hidden = !t;
    topic.textContent = t ? `Topic: ${t}` : '';
  });
  client.on('private', ({ message }) => {
    if (message && message.kind === 'direct' && message.from) showDirect(message);
  });

  // After the session: an attendance slip, where the meeting offers them (type POA).
  async function offerSlip() {
    const sessionId = client.sessionId;
    if (!sessionId || endedBanner.querySelector('.slip-offer')) return;
    const r = await getJSON(paths.meeting(slug));
    if (!r.ok || !r.data || !Array.isArray(r.data.types) || !r.data.types.includes('POA')) return;
    endedBanner.append(
      h('p', { text: 'This meeting gives attendance slips, for those who need proof that they attended.' }),
      slipOffer({
        sessionId,
        token: () => (client.usedAccount ? account.helloAccount.token() : localStore.load('token', null)),
        idPrefix: 'room-slip',
      }));
  }

  // --- composer ---------------------------------------------------------------------------
  let draftTimer = null;
  function saveDraft() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => {
      if (textarea.value) sessionStore.save(`draft.${slug}`, textarea.value);
      else sessionStore.remove(`draft.${slug}`);
    }, 300);
  }

  function updateCounter() {
    const limit = client.limits.max_text_chars;
    const n = charCount(textarea.value);
    counter.hidden = n < limit * 0.8;
    counter.textContent = `${n} of ${limit} characters`;
  }

  function showComposerError(text) {
    composerError.textContent = text || '';
    composerError.hidden = !text;
    if (text) textarea.setAttribute('aria-invalid', 'true');
    else textarea.removeAttribute('aria-invalid');
  }

  function onSend(e) {
    e.preventDefault();
    const text = textarea.value;
    const r = client.say(text, { offRecord: offRecord.checked });
    if (!r.ok) {
      if (r.code === 'empty') showComposerError('Write something first.');
      else if (r.code === 'too_long') {
        showComposerError(`This message is ${r.chars} characters long; the limit is ${r.limit}. Please shorten it or send it in two parts.`);
      }
      textarea.focus();
      return;
    }
    showComposerError('');
    offRecord.checked = false;
    textarea.value = '';
    sessionStore.remove(`draft.${slug}`);
    updateCounter();
    textarea.focus();
    scrollToEnd(false);
  }

  textarea.addEventListener('input', () => {
    saveDraft();
    updateCounter();
    if (!composerError.hidden) showComposerError('');
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  leaveButton.addEventListener('click', () => {
    const unsent = client.pendingMessages().length;
    client.leave();
    sessionStore.remove(`join.${slug}`);
    clear(container);
    setTitle('You have left the meeting');
    container.append(h('div', { class: 'page page-left' },
      h('h1', { text: 'You have left the meeting' }),
      h('p', { text: 'Thank you for being there. Keep coming back.' }),
      unsent
        ? h('p', { class: 'note', text: `${unsent} message${unsent === 1 ? ' was' : 's were'} not sent yet. ${unsent === 1 ? 'It is' : 'They are'} kept on this device and will be sent if you join again.` })
        : null,
      h('p', { class: 'form-actions' },
        h('a', { class: 'button', href: `#/m/${slug}`, text: 'Join again' }), ' ',
        h('a', { class: 'button secondary', href: '#/', text: 'All meetings' }))));
    focusHeading(container);
  });

  const onOnline = () => client.retryNow();
  window.addEventListener('online', onOnline);
  const onScroll = () => { if (nearEnd()) newBelow.hidden = true; };
  window.addEventListener('scroll', onScroll, { passive: true });

  drawComposer();
  drawPending();
  updateCounter();
  client.start();

  return () => {
    clearInterval(countdown);
    clearInterval(shareTimer);
    chairPanel.destroy();
    clearTimeout(draftTimer);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('scroll', onScroll);
    client.leave();
  };
}
