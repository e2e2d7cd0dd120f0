// The chair panel: running a session from the room (PROTOCOL.md 3.8 to 3.25, 16 and 17). Shown
// to greeters and above; each control is offered only to the ranks the permission table allows,
// and the server checks every request anyway: a refusal shows the server's own words next to
// the control. Everything it draws comes from the MeetingClient (state, waiting_room, private
// frames, events); user text goes in only as text (dom.js).

import { announce, clear, h } from './dom.js';
import { clockText } from './events.js';

const RANK = { visitor: 0, attendee: 1, greeter: 2, 'co-chair': 3, chair: 4, admin: 4 };
const ROLE_WORDS = { chair: 'chair', 'co-chair': 'co-chair', greeter: 'greeter', admin: 'admin', visitor: 'visitor', attendee: 'attendee' };

const SESSION_TOGGLES = [
  ['auto_admit', 'Let arrivals in at once (auto-admit)'],
  ['locked', 'Lock the meeting: no new arrivals'],
];
const SHARE_TOGGLES = [
  ['end_share_at_limit', 'End a share when its time is up'],
  ['auto_call', 'Call the next raised hand by itself'],
];
const CHAT_TOGGLES = [
  ['chat_locked', 'Pause the chat (only chairs can write)'],
  ['crosstalk', 'Allow crosstalk during shares'],
  ['hide_members', 'Hide the member list from attendees'],
  ['dms', 'Allow direct messages between attendees'],
  ['visitors_may_post', 'Let visitors write and share'],
];

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export function createChairPanel(client, { jumpTo } = {}) {
  const cleanups = [];
  const toggleInputs = new Map(); // setting -> checkbox
  const inbox = [];
  let unread = 0;
  let shareTimer = null;

  const title = h('h2', { id: 'chair-panel-title', text: 'Chair panel' });
  const inboxCount = h('span', { class: 'inbox-badge', id: 'chair-inbox-badge', hidden: true });
  const toggle = h('button', {
    type: 'button', class: 'button small secondary', id: 'chair-panel-toggle',
    'aria-expanded': 'true', 'aria-controls': 'chair-panel-body', text: 'Hide',
    on: {
      click: () => {
        const open = body.hidden;
        body.hidden = !open;
        toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
        toggle.textContent = open ? 'Hide' : 'Show';
      },
    },
  });
  const body = h('div', { class: 'chair-body', id: 'chair-panel-body' });
  const el = h('section', { class: 'chair-panel', id: 'chair-panel', 'aria-labelledby': 'chair-panel-title', hidden: true },
    h('div', { class: 'chair-head' }, title, inboxCount, toggle),
    body);

  // --- helpers ------------------------------------------------------------------------------

  function card(id, heading) {
    const status = h('p', { class: 'panel-status', id: `${id}-status`, role: 'status' });
    const content = h('div', { class: 'card-content' });
    const section = h('section', { class: 'panel-card', id, 'aria-labelledby': `${id}-title` },
      h('h3', { id: `${id}-title`, text: heading }), content, status);
    return { section, content, status, title: section.querySelector('h3') };
  }

  function say(c, text, isError) {
    c.status.textContent = text;
    c.status.classList.toggle('is-error', !!isError);
  }

  // Send a request; report the server's answer next to the control.
  async function run(c, frame, okText) {
    say(c, 'Sending…', false);
    const r = await client.command(frame);
    if (r.ok) {
      say(c, typeof okText === 'function' ? okText(r) : okText, false);
    } else {
      say(c, `Refused: ${r.message}`, true);
    }
    return r;
  }

  function button(text, onClick, extra = {}) {
    return h('button', { type: 'button', class: ['button', 'small', extra.secondary === false ? null : 'secondary', extra.class], text, on: { click: onClick }, ...(extra.props || {}) });
  }

  // Redraw a list without losing the keyboard focus: the element with the same data-key gets it
  // back (or the list itself when that element is gone).
  function redraw(container, build) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.dataset.key : null;
    clear(container);
    build();
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
      else {
        container.setAttribute('tabindex', '-1');
        container.focus();
      }
    }
  }

  // A private word to one member (a greeter's welcome, a chair's note); never stored.
  // Kept across redraws of the lists, so that an open form and its text survive them.
  let privateSerial = 0;
  const privateForms = new Map();
  function privateForm(c, m, key) {
    if (privateForms.has(key)) return privateForms.get(key);
    if (privateForms.size > 300) privateForms.clear();
    const id = `chair-private-${m.member}-${++privateSerial}`;
    const text = h('textarea', { id, rows: 2, maxlength: 4000, dataset: { key: `${key}-text` } });
    const form = h('form', {
      class: 'private-form',
      on: {
        submit: async (e) => {
          e.preventDefault();
          if (!/[^ \t\r\n]/.test(text.value)) return;
          const r = await run(c, { type: 'private', to: m.member, text: text.value }, (res) => (res.delivered ? `Sent to ${m.name}.` : `${m.name} is not connected right now; nobody got it.`));
          if (r.ok) text.value = '';
        },
      },
    }, h('label', { for: id, text: `Private message to ${m.name} (never stored)` }), text,
    h('p', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button small secondary', text: 'Send', dataset: { key: `${key}-send` } })));
    const details = h('details', { class: 'private-to' }, h('summary', { text: `Write to ${m.name}`, dataset: { key: `${key}-write` } }), form);
    privateForms.set(key, details);
    return details;
  }

  function toggles(c, list) {
    const box = h('div', { class: 'toggles' });
    for (const [key, label] of list) {
      const id = `chair-set-${key}`;
      const input = h('input', {
        type: 'checkbox', id,
        on: {
          change: async () => {
            const want = input.checked;
            const r = await run(c, { type: 'settings', settings: { [key]: want } }, `${label}: ${want ? 'on' : 'off'}.`);
            if (!r.ok) input.checked = !want;
          },
        },
      });
      toggleInputs.set(key, input);
      box.append(h('div', { class: 'check' }, input, h('label', { for: id, text: label })));
    }
    c.content.append(box);
  }

  function numberSetting(c, key, label, { min, max, hint }) {
    const id = `chair-set-${key}`;
    const input = h('input', { type: 'number', id, min, max, step: 1, inputmode: 'numeric', class: 'short' });
    const form = h('form', {
      class: 'inline-form',
      on: {
        submit: (e) => {
          e.preventDefault();
          const n = Number(input.value);
          if (!Number.isInteger(n) || n < min || n > max) {
            say(c, `${label}: a whole number from ${min} to ${max}.`, true);
            return;
          }
          run(c, { type: 'settings', settings: { [key]: n } }, `${label}: ${n}.`);
        },
      },
    },
    h('label', { for: id, text: label }),
    hint ? h('span', { class: 'hint', id: `${id}-hint`, text: hint }) : null,
    h('span', { class: 'inline-row' }, input, h('button', { type: 'submit', class: 'button small secondary', text: 'Set' })));
    if (hint) input.setAttribute('aria-describedby', `${id}-hint`);
    toggleInputs.set(key, input);
    c.content.append(form);
  }

  function sharerLine(sharing) {
    const left = (sharing.started_at + sharing.limit_secs * 1000 - client.serverNow()) / 1000;
    return left > 0
      ? `${sharing.member.name} is sharing: ${clockText(left)} left of ${clockText(sharing.limit_secs)}.`
      : `${sharing.member.name} is sharing: time is up (over by ${clockText(-left)}).`;
  }

  // --- the cards ------------------------------------------------------------------------------

  // Session: phase, start and end, who may come in.
  const session = card('chair-session', 'Session');
  const phaseText = h('p', { class: 'phase-text', id: 'chair-phase' });
  const startButton = button('Start the meeting', () => run(session, { type: 'start' }, 'The meeting is open.'), { secondary: false, props: { id: 'chair-start' } });
  const endArea = h('div', { class: 'end-area' });
  const endButton = button('End the meeting…', () => {
    clear(endArea);
    const yes = button('End it now for everyone', () => run(session, { type: 'end' }, 'The meeting has ended.'), { secondary: false, class: 'danger', props: { id: 'chair-end-confirm' } });
    endArea.append(h('p', { text: 'Everyone will be disconnected and this session closes for good.' }),
      h('p', { class: 'form-actions' }, yes, ' ', button('Keep going', () => { clear(endArea); endButton.focus(); })));
    yes.focus();
  }, { props: { id: 'chair-end' } });
  session.content.append(phaseText, h('p', { class: 'form-actions' }, startButton, ' ', endButton), endArea);
  toggles(session, SESSION_TOGGLES);

  // The waiting room.
  const waiting = card('chair-waiting', 'Waiting room');
  const waitingList = h('ul', { class: 'panel-list', id: 'chair-waiting-list' });
  const admitAll = button('Admit everyone', () => run(waiting, { type: 'admit', all: true }, 'Everyone waiting was let in.'), { props: { id: 'chair-admit-all' } });
  const greeterNote = h('p', { class: 'hint', text: 'A co-chair or the chair lets people in.', hidden: true });
  waiting.content.append(waitingList, h('p', { class: 'form-actions' }, admitAll), greeterNote);

  // Shares: the timer, the queue, calling.
  const shares = card('chair-shares', 'Shares');
  const shareNow = h('p', { class: 'share-now', id: 'chair-share-now' });
  const endShare = button('End this share', () => run(shares, { type: 'end_share' }, 'The share has ended.'), { props: { id: 'chair-end-share' } });
  const callNext = button('Call the next hand', () => run(shares, { type: 'call' }, 'Called.'), { secondary: false, props: { id: 'chair-call-next' } });
  const queueList = h('ol', { class: 'panel-list', id: 'chair-queue' });
  const queueEmpty = h('p', { class: 'muted', text: 'No hands raised.' });
  const callSelect = h('select', { id: 'chair-call-member' });
  const callForm = h('form', {
    class: 'inline-form',
    on: {
      submit: (e) => {
        e.preventDefault();
        const n = Number(callSelect.value);
        if (n) run(shares, { type: 'call', member: n }, 'Called.');
      },
    },
  }, h('label', { for: 'chair-call-member', text: 'Call someone else' }),
  h('span', { class: 'inline-row' }, callSelect, h('button', { type: 'submit', class: 'button small secondary', text: 'Call' })));
  shares.content.append(shareNow, h('p', { class: 'form-actions' }, callNext, ' ', endShare),
    h('p', { class: 'list-label', id: 'chair-queue-label', text: 'Raised hands, first raised first:' }), queueList, queueEmpty, callForm);
  queueList.setAttribute('aria-labelledby', 'chair-queue-label');
  numberSetting(shares, 'share_limit_secs', 'Share time limit (seconds)', { min: 2, max: 3600, hint: 'The same for everyone; it applies to the share under way too.' });
  toggles(shares, SHARE_TOGGLES);

  // The format and the topic.
  const format = card('chair-format', 'Format and topic');
  const readingText = h('p', { id: 'chair-reading' });
  const topicInput = h('input', { type: 'text', id: 'chair-topic', maxlength: 200 });
  format.content.append(readingText,
    h('p', { class: 'form-actions' },
      button('Previous reading', () => run(format, { type: 'reading', action: 'previous' }, 'Posted the previous reading again.'), { props: { id: 'chair-reading-previous' } }), ' ',
      button('Next reading', () => run(format, { type: 'reading', action: 'next' }, 'Posted the next reading.'), { secondary: false, props: { id: 'chair-reading-next' } }), ' ',
      button('Skip the next reading', () => run(format, { type: 'reading', action: 'skip' }, 'Skipped.'), { props: { id: 'chair-reading-skip' } })),
    h('form', {
      class: 'inline-form',
      on: { submit: (e) => { e.preventDefault(); run(format, { type: 'topic', text: topicInput.value.trim() }, topicInput.value.trim() ? 'The topic is set.' : 'The topic is cleared.'); } },
    }, h('label', { for: 'chair-topic', text: 'Topic (empty clears it)' }),
    h('span', { class: 'inline-row' }, topicInput, h('button', { type: 'submit', class: 'button small secondary', text: 'Set topic' }))));

  // The chat's rules.
  const chat = card('chair-chat', 'Chat');
  toggles(chat, CHAT_TOGGLES);
  numberSetting(chat, 'slow_mode_secs', 'Slow mode (seconds between messages, 0 is off)', { min: 0, max: 3600 });

  // People: mute, send to the waiting room, remove, roles, the chair.
  const people = card('chair-people', 'People');
  const peopleList = h('ul', { class: 'panel-list people', id: 'chair-people-list' });
  people.content.append(h('p', { class: 'hint', text: 'Open a name for what you can do. Only people of a lower rank than yours can be muted or removed.' }), peopleList);

  // Private words to the chairs, reports and calls for help (never stored).
  const inboxCard = card('chair-inbox', 'Reports and messages');
  const inboxList = h('ol', { class: 'panel-list inbox', id: 'chair-inbox-list' });
  const inboxEmpty = h('p', { class: 'muted', text: 'Nothing yet. Calls for help, reports and messages to the chairs appear here; they are never stored, so they are gone when you leave.' });
  inboxCard.content.append(inboxEmpty, inboxList);

  // A group-conscience vote.
  const voteCard = card('chair-vote', 'Group conscience vote');
  const voteNow = h('div', { class: 'vote-now' });
  const voteQuestion = h('input', { type: 'text', id: 'chair-vote-question', maxlength: 300 });
  const voteOptions = h('textarea', { id: 'chair-vote-options', rows: 3 });
  voteOptions.value = 'Yes\nNo';
  const voteForm = h('form', {
    class: 'vote-form',
    on: {
      submit: (e) => {
        e.preventDefault();
        const options = voteOptions.value.split('\n').map((o) => o.trim()).filter(Boolean);
        if (!voteQuestion.value.trim() || options.length < 2 || options.length > 6) {
          say(voteCard, 'A question and 2 to 6 options, one a line.', true);
          return;
        }
        run(voteCard, { type: 'vote_open', question: voteQuestion.value.trim(), options }, 'The vote is open.');
      },
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'chair-vote-question', text: 'Question' }), voteQuestion),
  h('div', { class: 'field' }, h('label', { for: 'chair-vote-options', text: 'Options, one a line (2 to 6)' }), voteOptions),
  h('p', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button small secondary', text: 'Open the vote' })));
  voteCard.content.append(voteNow, voteForm);

  body.append(session.section, waiting.section, shares.section, format.section, chat.section, people.section, inboxCard.section, voteCard.section);

  // --- drawing --------------------------------------------------------------------------------

  function myRank() {
    return RANK[client.rank()] ?? 1;
  }

  function personActions(m, rank) {
    const mine = myRank();
    const live = client.live || {};
    const muted = Array.isArray(live.muted) && live.muted.includes(m.member);
    const key = `p${m.member}`;
    const c = people;
    const actions = [];
    const name = m.name;
    if (RANK[rank] < mine) {
      actions.push(button(muted ? `Unmute ${name}` : `Mute ${name}`, () => run(c, { type: 'mute', member: m.member, muted: !muted }, muted ? `${name} can write again.` : `${name} is muted.`), { props: { dataset: { key: `${key}-mute` } } }));
      actions.push(button(`Send ${name} to the waiting room`, () => run(c, { type: 'send_to_waiting', member: m.member }, `${name} is in the waiting room.`), { props: { dataset: { key: `${key}-wait` } } }));
      const banId = `chair-ban-${m.member}`;
      const ban = h('select', { id: banId },
        h('option', { value: 'none', text: 'may come back' }),
        h('option', { value: 'session', text: 'banned for this session' }),
        h('option', { value: 'forever', text: 'banned for good' }));
      actions.push(h('form', {
        class: 'inline-form remove-form',
        on: { submit: (e) => { e.preventDefault(); run(c, { type: 'remove', member: m.member, ban: ban.value }, `${name} was removed.`); } },
      }, h('label', { for: banId, text: `Remove ${name}:` }),
      h('span', { class: 'inline-row' }, ban, h('button', { type: 'submit', class: 'button small danger', text: 'Remove', dataset: { key: `${key}-remove` } }))));
    }
    if ((client.rank() === 'chair' || client.rank() === 'admin') && RANK[rank] < mine) {
      if (rank !== 'co-chair') actions.push(button(`Make ${name} a co-chair`, () => run(c, { type: 'grant', member: m.member, role: 'co-chair' }, `${name} is a co-chair for this session.`), { props: { dataset: { key: `${key}-cochair` } } }));
      if (rank !== 'greeter') actions.push(button(`Make ${name} a greeter`, () => run(c, { type: 'grant', member: m.member, role: 'greeter' }, `${name} is a greeter for this session.`), { props: { dataset: { key: `${key}-greeter` } } }));
      if (rank === 'co-chair' || rank === 'greeter') actions.push(button(`Make ${name} an attendee`, () => run(c, { type: 'grant', member: m.member, role: 'attendee' }, `${name} is an attendee for this session.`), { props: { dataset: { key: `${key}-attendee` } } }));
    }
    actions.push(privateForm(c, m, key));
    if ((client.rank() === 'chair' || client.rank() === 'admin') && rank !== 'visitor') {
      actions.push(button(`Hand the chair to ${name}`, () => run(c, { type: 'hand_over', member: m.member }, `${name} holds the chair now.`), { props: { dataset: { key: `${key}-handover` } } }));
    }
    return actions;
  }

  function drawPeople() {
    const me = client.you ? client.you.member : null;
    const list = [...client.members.values()].filter((m) => m.member !== me);
    redraw(peopleList, () => {
      if (!list.length) peopleList.append(h('li', { class: 'muted', text: 'Nobody else is here yet.' }));
      for (const m of list) {
        const rank = client.rankOf(m);
        const muted = client.live && Array.isArray(client.live.muted) && client.live.muted.includes(m.member);
        const actions = personActions(m, rank);
        const label = `${m.name}${rank !== 'attendee' ? ` (${ROLE_WORDS[rank]})` : ''}${muted ? ', muted' : ''}`;
        if (!actions.length) {
          peopleList.append(h('li', { class: 'person', text: label }));
          continue;
        }
        const details = h('details', { class: 'person-details', dataset: { member: String(m.member) } },
          h('summary', { text: label, dataset: { key: `p${m.member}-summary` } }),
          h('div', { class: 'person-actions' }, actions));
        if (openPeople.has(m.member)) details.open = true;
        details.addEventListener('toggle', () => {
          if (details.open) openPeople.add(m.member);
          else openPeople.delete(m.member);
        });
        peopleList.append(h('li', { class: 'person' }, details));
      }
    });
  }
  const openPeople = new Set();

  function drawWaiting() {
    const mayAdmit = myRank() >= RANK['co-chair'];
    const list = client.waitingRoom;
    waiting.title.textContent = `Waiting room (${list.length})`;
    admitAll.hidden = !mayAdmit;
    admitAll.disabled = !list.length;
    greeterNote.hidden = mayAdmit;
    redraw(waitingList, () => {
      if (!list.length) waitingList.append(h('li', { class: 'muted', text: 'Nobody is waiting.' }));
      for (const m of list) {
        const role = m.role === 'visitor' ? ' (visitor)' : '';
        waitingList.append(h('li', { class: 'waiting-person' },
          h('span', { class: 'person-name', text: `${m.name}${role}` }),
          mayAdmit ? h('span', { class: 'row-actions' },
            button(`Admit ${m.name}`, () => run(waiting, { type: 'admit', member: m.member }, `${m.name} was let in.`), { secondary: false, props: { dataset: { key: `w${m.member}-admit` } } }),
            ' ',
            button(`Remove ${m.name}`, () => run(waiting, { type: 'remove', member: m.member, ban: 'none' }, `${m.name} was removed.`), { props: { dataset: { key: `w${m.member}-remove` } } })) : null,
          privateForm(waiting, m, `w${m.member}`)));
      }
    });
  }

  function drawShares(live) {
    const sharing = live.sharing;
    if (sharing && sharing.member) {
      shareNow.textContent = sharerLine(sharing);
      if (!shareTimer) {
        shareTimer = setInterval(() => {
          const s = client.live && client.live.sharing;
          if (s && s.member) shareNow.textContent = sharerLine(s);
        }, 1000);
      }
    } else {
      clearInterval(shareTimer);
      shareTimer = null;
      shareNow.textContent = live.phase === 'open' ? 'Nobody is sharing.' : 'Shares can be called once the meeting is started.';
    }
    endShare.disabled = !sharing;
    const queue = Array.isArray(live.queue) ? live.queue : [];
    callNext.disabled = !queue.length || live.phase !== 'open';
    queueEmpty.hidden = queue.length > 0;
    queueList.hidden = !queue.length;
    redraw(queueList, () => {

      for (const q of queue) {
        queueList.append(h('li', {},
          h('span', { class: 'person-name', text: q.name }), ' ',
          button(`Call ${q.name}`, () => run(shares, { type: 'call', member: q.member }, `${q.name} is sharing.`), { props: { dataset: { key: `q${q.member}` } } })));
      }
    });
    // Rebuilt only when the people change, so that a choice being made is not disturbed.
    const signature = [...client.members.values()].map((m) => `${m.member}:${m.name}`).join('|');
    if (callSelect.dataset.people !== signature) {
      const chosen = callSelect.value;
      clear(callSelect);
      for (const m of client.members.values()) {
        callSelect.append(h('option', { value: String(m.member), text: m.name }));
      }
      if (chosen) callSelect.value = chosen;
      callSelect.dataset.people = signature;
    }
  }

  function drawFormat(live) {
    const titles = (client.meeting && Array.isArray(client.meeting.format_titles)) ? client.meeting.format_titles : [];
    const n = live.readings ?? titles.length;
    if (!n) readingText.textContent = 'This meeting has no readings in its format.';
    else if (live.reading < 0) readingText.textContent = `No reading yet. Next: ${titles[0] || 'reading 1'} (1 of ${n}).`;
    else {
      const next = live.reading + 1 < n ? ` Next: ${titles[live.reading + 1] || `reading ${live.reading + 2}`}.` : ' That was the last one.';
      readingText.textContent = `Last reading: ${titles[live.reading] || `reading ${live.reading + 1}`} (${live.reading + 1} of ${n}).${next}`;
    }
    if (document.activeElement !== topicInput) topicInput.value = client.topic || '';
  }

  function drawSettings(live) {
    const settings = live.settings || {};
    for (const [key, input] of toggleInputs) {
      if (!(key in settings)) continue;
      if (input.type === 'checkbox') input.checked = !!settings[key];
      else if (document.activeElement !== input) input.value = String(settings[key]);
    }
  }

  function drawVote(live) {
    const vote = live.vote;
    clear(voteNow);
    voteForm.hidden = !!vote;
    if (vote) {
      voteNow.append(
        h('p', {}, 'Open: ', h('strong', { text: vote.question })),
        h('p', { text: `Options: ${vote.options.join(', ')}. ${vote.votes_cast} voted so far.` }),
        h('p', { class: 'form-actions' }, button('Close the vote and show the result', () => run(voteCard, { type: 'vote_close', vote: vote.id }, 'The vote is closed; the result is in the conversation.'), { props: { id: 'chair-vote-close' } })));
    }
  }

  function drawInbox() {
    inboxEmpty.hidden = inbox.length > 0;
    inboxCount.hidden = !unread;
    inboxCount.textContent = unread ? `${unread} new` : '';
    redraw(inboxList, () => {
      for (const m of inbox) {
        const kind = { help: 'Needs help', report: 'Report', to_chairs: 'Message to the chairs' }[m.kind] || 'Message';
        const when = timeFmt.format(new Date(m.ts || Date.now()));
        const item = h('li', { class: ['inbox-item', `inbox-${m.kind}`] },
          h('p', { class: 'inbox-meta' }, h('strong', { text: `${kind}: ` }), h('span', { text: m.from ? m.from.name : 'Someone' }), ' · ', h('time', { text: when })),
          m.text ? h('p', { class: 'inbox-text', text: m.text }) : null);
        if (m.kind === 'report' && Number.isInteger(m.seq)) {
          item.append(h('p', { class: 'form-actions' },
            button('Show the message', () => {
              if (!jumpTo || !jumpTo(m.seq)) say(inboxCard, 'That message is not on this page.', true);
            }, { props: { dataset: { key: `r${m.ts}-show` } } }), ' ',
            button('Delete the message', () => run(inboxCard, { type: 'delete', seq: m.seq }, 'The message was deleted.'), { class: 'danger', props: { dataset: { key: `r${m.ts}-delete` } } })));
        }
        if (m.kind === 'help') item.append(h('p', { class: 'hint', text: `Consider writing to ${m.from ? m.from.name : 'them'} privately or asking a co-chair to; the Crisis help button lists services to share.` }));
        inboxList.append(item);
      }
    });
  }

  function draw() {
    const rank = myRank();
    const show = rank >= RANK.greeter && client.state === 'joined';
    el.hidden = !show;
    if (!show) return;
    const live = client.live;
    if (!live) return;
    const coChair = rank >= RANK['co-chair'];
    const chair = rank >= RANK.chair;
    // What each rank may do (PROTOCOL.md 17): greeters see the waiting room only.
    for (const c of [session, shares, format, chat, people, inboxCard, voteCard]) c.section.hidden = !coChair;
    startButton.hidden = !chair || live.phase !== 'waiting';
    endButton.hidden = !chair;
    const phase = { waiting: 'Not started: people wait in the waiting room.', open: 'Open.', closed: 'Ended.' }[live.phase] || '';
    phaseText.textContent = `The meeting is ${phase ? phase.charAt(0).toLowerCase() + phase.slice(1) : 'in an unknown state.'}`;
    title.textContent = rank >= RANK.chair ? 'Chair panel' : rank >= RANK['co-chair'] ? 'Co-chair panel' : 'Greeter panel';
    drawWaiting();
    if (!coChair) return;
    drawSettings(live);
    drawShares(live);
    drawFormat(live);
    drawPeople();
    drawVote(live);
    drawInbox();
  }

  cleanups.push(
    client.on('live', draw),
    client.on('state', draw),
    client.on('members', () => { if (!el.hidden) draw(); }),
    client.on('waitingroom', () => { if (!el.hidden) drawWaiting(); }),
    client.on('topic', () => { if (!el.hidden && client.live) drawFormat(client.live); }),
    client.on('private', ({ message }) => {
      if (!message || !['help', 'report', 'to_chairs'].includes(message.kind)) return;
      inbox.unshift(message);
      if (inbox.length > 100) inbox.pop();
      unread++;
      drawInbox();
      const who = message.from ? message.from.name : 'Someone';
      if (message.kind === 'help') announce(`${who} needs help. See the chair panel.`);
      else if (message.kind === 'report') announce(`${who} reported a message.`);
      else announce(`${who} wrote to the chairs.`);
    }),
  );
  // Reading the inbox clears the "new" count.
  inboxCard.section.addEventListener('focusin', () => {
    if (unread) {
      unread = 0;
      inboxCount.hidden = true;
    }
  });

  return {
    el,
    destroy() {
      clearInterval(shareTimer);
      for (const off of cleanups) off();
    },
  };
}
