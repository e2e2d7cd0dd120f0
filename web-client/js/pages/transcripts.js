// Transcripts (proto/API.md, "Transcripts"): the sessions a reader may see, one session's
// transcript page by page, full-text search with the matches highlighted, and the exports.
// The server decides who may read what; a session the reader may not see looks exactly like
// one that does not exist. The reader's token is a chair's login (account.js) or else the
// attendee token of this browser (for meetings whose transcripts attendees may read).
// Everything from the API goes into the page as text; highlights are <mark> elements holding
// text nodes, built from the API's `parts`.

import * as account from '../account.js';
import { getJSON, paths } from '../api.js';
import { setTitle } from '../chrome.js';
import { announce, clear, h } from '../dom.js';
import { focusHeading, go } from '../router.js';
import { slipDecisions } from '../slips.js';
import { localStore } from '../storage.js';

const SESSION_PAGE = 20;
const ENTRY_PAGE = 200;
const SEARCH_PAGE = 20;

function readerToken() {
  const a = account.current();
  if (a) return { token: a.token, kind: 'account' };
  const t = localStore.load('token', null);
  return typeof t === 'string' && /^[0-9a-f]{64}$/.test(t) ? { token: t, kind: 'attendee' } : { token: null, kind: 'anonymous' };
}

// GET with the reader's token. An attendee token the server no longer knows is not a reason to
// refuse a public read: ask again without it. A chair's login that ended is forgotten.
async function readerGet(path) {
  const who = readerToken();
  let r = await getJSON(path, { token: who.token });
  if (r.status === 401 && who.token) {
    if (who.kind === 'account') account.forget();
    r = await getJSON(path, {});
  }
  return r;
}

function trouble(r) {
  if (r.error === 'network') return 'The server could not be reached. Check the connection and try again.';
  if (r.error === 'store_unavailable') return 'The records are not available right now. Please try again in a little while.';
  if (r.status === 404) return 'There is no transcript here that you may read. It may not exist, it may have been deleted after its retention time, or it may be only for the meeting\'s chairs.';
  return `Something went wrong (${r.error || r.status}).`;
}

function durationText(secs) {
  if (secs === null || secs === undefined) return 'still going on';
  const m = Math.floor(secs / 60);
  const s = secs % 60;
  if (m >= 60) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return m ? `${m} min${s ? ` ${s} s` : ''}` : `${s} s`;
}

function localTime(iso) {
  // "2026-03-07T19:00:00-06:00" -> "19:00" (the meeting's own clock, as the API gives it).
  const m = /T(\d\d:\d\d)/.exec(iso || '');
  return m ? m[1] : '';
}

function sessionSummary(s) {
  const when = `${s.date}, ${localTime(s.started_local)}${s.ended_local ? `–${localTime(s.ended_local)}` : ''} (${s.time_zone})`;
  const facts = [
    s.in_progress ? 'in progress' : durationText(s.duration_secs),
    `${s.attendee_count} ${s.attendee_count === 1 ? 'person' : 'people'}`,
    `${s.message_count} message${s.message_count === 1 ? '' : 's'}`,
  ];
  if (!s.recorded) facts.push('no text was kept');
  if (s.purged) facts.push('deleted after its retention time');
  return { when, facts: facts.join(' · ') };
}

function sessionItem(s, meetingName) {
  const { when, facts } = sessionSummary(s);
  return h('li', { class: 'session-item', dataset: { session: String(s.id) } },
    h('a', { href: `#/transcripts/${s.id}`, class: 'session-link' },
      meetingName ? `${meetingName}: ` : '', when),
    h('span', { class: 'muted session-facts', text: ` · ${facts}` }));
}

function loginHint() {
  const who = readerToken();
  if (who.kind === 'account') return null;
  return h('p', { class: 'note' },
    'Most groups let only their chairs read transcripts. ',
    h('a', { href: '#/login', text: 'Log in as a chair' }),
    ' to see those. Without logging in you see what a meeting lets attendees or anyone read.');
}

function searchForm({ q = '', meeting = '', meetings = [] } = {}) {
  const input = h('input', { type: 'search', id: 'search-q', name: 'q', value: q, maxlength: 200, required: true, autocomplete: 'off' });
  const within = h('select', { id: 'search-meeting' },
    h('option', { value: '', text: 'All meetings you may read' }),
    meetings.map((m) => h('option', { value: m.slug, text: m.name, selected: m.slug === meeting })));
  if (meeting && !meetings.some((m) => m.slug === meeting)) within.append(h('option', { value: meeting, text: meeting, selected: true }));
  const form = h('form', {
    class: 'search-form', role: 'search', 'aria-label': 'Search the transcripts',
    on: {
      submit: (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) {
          input.focus();
          return;
        }
        const params = new URLSearchParams({ q: text });
        if (within.value) params.set('meeting', within.value);
        go(`/transcripts/search?${params}`);
      },
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'search-q', text: 'Search for words' }),
    h('p', { class: 'hint', id: 'search-q-hint', text: 'Finds words in the messages you may read. "A phrase" in quotes, or, and -word work as in web search.' }),
    input),
  h('div', { class: 'field' }, h('label', { for: 'search-meeting', text: 'In' }), within),
  h('p', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', text: 'Search' })));
  input.setAttribute('aria-describedby', 'search-q-hint');
  return form;
}

// The meetings whose sessions this reader might see: a chair's own meetings (all of them for an
// admin), else the directory's recorded meetings.
async function readableMeetings() {
  const who = readerToken();
  const dir = await getJSON(paths.meetings('limit=500'));
  const all = dir.ok && dir.data && Array.isArray(dir.data.meetings) ? dir.data.meetings : [];
  if (who.kind === 'account') {
    const me = await account.me();
    if (me && me.admin) return { ok: dir.ok, list: all, r: dir };
    const mine = new Set(me && Array.isArray(me.roles) ? me.roles.filter((x) => x.role !== 'greeter').map((x) => x.meeting) : []);
    const list = all.filter((m) => mine.has(m.slug) || (m.record_transcripts && m.transcript_readers !== 'chairs'));
    return { ok: dir.ok, list, r: dir };
  }
  return { ok: dir.ok, list: all.filter((m) => m.record_transcripts && m.transcript_readers !== 'chairs'), r: dir };
}

// #/transcripts: every meeting's recent sessions the reader may see, and the search.
export function transcriptsPage(container) {
  setTitle('Transcripts');
  const status = h('p', { class: 'list-status', role: 'status', id: 'transcripts-status', text: 'Loading the sessions you may read…' });
  const list = h('div', { class: 'transcript-meetings', id: 'transcript-meetings' });
  const formSlot = h('div', {}, searchForm());
  container.append(h('div', { class: 'page page-transcripts' },
    h('h1', { text: 'Transcripts' }),
    h('p', { class: 'lead', text: 'What meetings chose to keep, for the people the group lets read it. Please keep what you read private.' }),
    loginHint(),
    formSlot,
    h('h2', { text: 'Sessions you may read' }),
    status, list));
  focusHeading(container);
  let gone = false;

  (async () => {
    const { ok, list: meetings, r } = await readableMeetings();
    if (gone) return;
    if (!ok) {
      status.textContent = trouble(r);
      return;
    }
    clear(formSlot);
    formSlot.append(searchForm({ meetings }));
    const found = await Promise.all(meetings.slice(0, 60).map(async (m) => {
      const s = await readerGet(`/api/meetings/${m.slug}/sessions?limit=5`);
      return { m, s };
    }));
    if (gone) return;
    let shown = 0;
    for (const { m, s } of found) {
      if (!s.ok || !s.data || !Array.isArray(s.data.sessions) || !s.data.sessions.length) continue;
      shown++;
      const titleId = `tm-${m.slug}`;
      list.append(h('section', { class: 'transcript-meeting', 'aria-labelledby': titleId },
        h('h3', { id: titleId, text: m.name }),
        h('ul', { class: 'session-list' }, s.data.sessions.map((x) => sessionItem(x))),
        h('p', {}, h('a', { href: `#/m/${m.slug}/transcripts` }, 'All sessions',
          h('span', { class: 'visually-hidden', text: ` of ${m.name}` })))));
    }
    status.textContent = shown
      ? `${shown} meeting${shown === 1 ? '' : 's'} with sessions you may read.`
      : 'There are no sessions you may read yet.';
  })();
  return () => { gone = true; };
}

// #/m/{slug}/transcripts: one meeting's sessions, newest first, page by page.
export function meetingTranscriptsPage(container, { slug }) {
  setTitle('Transcripts');
  const heading = h('h1', { text: 'Transcripts' });
  const status = h('p', { class: 'list-status', role: 'status', id: 'sessions-status', text: 'Loading…' });
  const list = h('ul', { class: 'session-list', id: 'session-list' });
  const more = h('button', { type: 'button', class: 'button secondary', id: 'sessions-more', text: 'Older sessions', hidden: true });
  const formSlot = h('div', {});
  container.append(h('div', { class: 'page page-transcripts' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/transcripts', text: 'All transcripts' }), ' · ', h('a', { href: `#/m/${slug}`, text: 'The meeting' })),
    heading, loginHint(), formSlot,
    h('h2', { text: 'Sessions' }),
    status, list, h('p', {}, more)));
  focusHeading(container);
  let gone = false;
  let before = null;

  async function load() {
    more.disabled = true;
    const q = new URLSearchParams({ limit: String(SESSION_PAGE) });
    if (before !== null) q.set('before', String(before));
    const r = await readerGet(`/api/meetings/${slug}/sessions?${q}`);
    if (gone) return;
    more.disabled = false;
    if (!r.ok || !r.data) {
      status.textContent = r.status === 404 ? 'There is no meeting at this address.' : trouble(r);
      return;
    }
    const m = r.data.meeting || { name: slug, slug };
    heading.textContent = `Transcripts: ${m.name}`;
    setTitle(`Transcripts: ${m.name}`);
    if (!formSlot.firstChild) formSlot.append(searchForm({ meeting: slug, meetings: [m] }));
    const first = list.children.length === 0;
    for (const s of r.data.sessions || []) list.append(sessionItem(s));
    before = r.data.next_before ?? null;
    more.hidden = before === null;
    const n = list.children.length;
    status.textContent = n
      ? `${n} session${n === 1 ? '' : 's'} you may read${before !== null ? ' so far' : ''}.`
      : (m.record_transcripts === false ? 'This meeting keeps no transcripts.' : 'There are no sessions of this meeting that you may read.');
    if (!first) {
      const next = list.children[n - (r.data.sessions || []).length];
      if (next) next.querySelector('a').focus();
    }
  }
  more.addEventListener('click', load);
  load();
  return () => { gone = true; };
}

// One entry of a transcript as a list item: time, who, and the entry's sentence or text.
function entryNode(e, mark) {
  const li = h('li', { class: ['entry', `entry-${e.kind}`, e.status && `status-${e.status}`, mark && 'entry-found'], id: `entry-${e.seq}`, dataset: { seq: String(e.seq) } });
  li.append(h('span', { class: 'entry-time', text: e.time || '' }), ' ');
  if (e.kind === 'message') {
    li.append(h('span', { class: 'entry-from', text: e.from ? `${e.from.name}: ` : '' }));
    if (e.status === 'kept' && typeof e.text === 'string') li.append(h('span', { class: 'transcript-text', text: e.text }));
    else li.append(h('span', { class: 'entry-status', text: e.display }));
    return li;
  }
  if (e.kind === 'reading') {
    li.append(h('span', { class: 'entry-what', text: e.display }));
    if (typeof e.text === 'string') li.append(h('p', { class: 'transcript-text reading-text', text: e.text }));
    return li;
  }
  li.append(h('span', { class: 'entry-what', text: `* ${e.display}` }));
  return li;
}

function filenameOf(response, fallback) {
  const cd = response.headers.get('content-disposition') || '';
  const m = /filename="([^"]+)"/.exec(cd);
  return m ? m[1] : fallback;
}

// #/transcripts/{id}[?from=seq]: one session, page by page, with the exports.
export function transcriptPage(container, { id, from }) {
  setTitle('Transcript');
  const heading = h('h1', { text: 'Transcript' });
  const facts = h('p', { class: 'lead', id: 'transcript-facts' });
  const status = h('p', { class: 'list-status', role: 'status', id: 'transcript-status', text: 'Loading…' });
  const body = h('div', { class: 'transcript', id: 'transcript' });
  const more = h('button', { type: 'button', class: 'button secondary', id: 'transcript-more', text: 'Show more', hidden: true });
  const exportStatus = h('p', { class: 'form-status', role: 'status', id: 'export-status' });
  const exportButtons = [['txt', 'Plain text (.txt)'], ['md', 'Markdown (.md)'], ['json', 'JSON (.json)']].map(([ext, label]) =>
    h('button', { type: 'button', class: 'button small secondary', id: `export-${ext}`, text: label, on: { click: () => download(ext) } }));
  const exports = h('section', { class: 'exports', 'aria-labelledby': 'exports-title', hidden: true },
    h('h2', { id: 'exports-title', text: 'Download the whole session' }),
    h('p', { class: 'hint', text: 'For the group\'s records. These are the words of people in recovery: keep them private.' }),
    h('p', { class: 'form-actions' }, exportButtons), exportStatus);
  const fromStart = Number.isInteger(from) && from > 1
    ? h('p', { class: 'note' }, `Showing from the message you found. `, h('a', { href: `#/transcripts/${id}`, text: 'Show from the beginning' }))
    : null;
  const breadcrumb = h('p', { class: 'breadcrumb' }, h('a', { href: '#/transcripts', text: 'All transcripts' }));
  const searchSlot = h('div', { class: 'transcript-search' });
  container.append(h('div', { class: 'page page-transcript' },
    breadcrumb, heading, facts, exports, searchSlot, fromStart, status, body, h('p', {}, more)));
  focusHeading(container);
  let gone = false;
  let afterSeq = Number.isInteger(from) && from > 1 ? from - 1 : 0;
  let lastBlock = null;
  let meetingSlug = null;

  async function download(ext) {
    const who = readerToken();
    exportStatus.textContent = 'Preparing the download…';
    let response;
    try {
      response = await fetch(`/api/sessions/${id}/export.${ext}`, {
        headers: who.token ? { Authorization: `Bearer ${who.token}` } : {},
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      exportStatus.textContent = 'The server could not be reached. Try again.';
      return;
    }
    if (!response.ok) {
      exportStatus.textContent = response.status === 404 ? 'This session cannot be downloaded (any more).' : `The download failed (${response.status}).`;
      return;
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filenameOf(response, `session-${id}.${ext}`), class: 'visually-hidden', text: 'download' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    exportStatus.textContent = `Downloaded ${filenameOf(response, `session-${id}.${ext}`)}.`;
  }

  function drawBlocks(blocks) {
    for (const b of blocks) {
      if (b.type === 'share') {
        const sharer = b.sharer ? b.sharer.name : 'Someone';
        const span = b.ended_time ? `${b.started_time} to ${b.ended_time}` : `from ${b.started_time}`;
        const why = { done: '', chair: ', ended by a chair', next: ', the next person was called', time: ', ended at the time limit' }[b.end_reason] || '';
        const titleId = `share-${id}-${b.entries.length ? b.entries[0].seq : Math.random().toString(36).slice(2)}`;
        const section = h('section', { class: 'transcript-share', 'aria-labelledby': titleId },
          h('h2', { id: titleId, class: 'share-title' },
            `${sharer} shares, ${span}`,
            b.duration_secs !== null ? ` (${durationText(b.duration_secs)}${why})` : '',
            b.continued ? ' (continued)' : ''),
          h('ol', { class: 'entries' }, b.entries.map((e) => entryNode(e, e.seq === from))));
        body.append(section);
        lastBlock = section;
      } else {
        let ol;
        if (lastBlock && lastBlock.classList.contains('transcript-chat')) ol = lastBlock.querySelector('ol');
        else {
          lastBlock = h('div', { class: 'transcript-chat' }, h('ol', { class: 'entries' }));
          body.append(lastBlock);
          ol = lastBlock.querySelector('ol');
        }
        for (const e of b.entries) ol.append(entryNode(e, e.seq === from));
      }
    }
  }

  async function load() {
    more.disabled = true;
    const firstEntry = body.querySelectorAll('.entry').length;
    const r = await readerGet(`/api/sessions/${id}/transcript?after_seq=${afterSeq}&limit=${ENTRY_PAGE}`);
    if (gone) return;
    more.disabled = false;
    if (!r.ok || !r.data) {
      status.textContent = trouble(r);
      return;
    }
    const { meeting, session } = r.data;
    if (meeting && !meetingSlug) {
      meetingSlug = meeting.slug;
      heading.textContent = `${meeting.name}, ${session.date}`;
      setTitle(`Transcript: ${meeting.name}, ${session.date}`);
      const { when, facts: f } = sessionSummary(session);
      facts.textContent = `${when} · ${f}`;
      breadcrumb.append(' · ', h('a', { href: `#/m/${meeting.slug}/transcripts`, text: `All sessions of ${meeting.name}` }));
      exports.hidden = false;
      if (readerToken().kind === 'account') {
        slipDecisions({ sessionId: id, token: readerToken().token }).then((section) => {
          if (section && !gone) exports.after(section);
        });
      }
      searchSlot.append(h('details', { class: 'search-details' },
        h('summary', { text: 'Search the transcripts' }),
        searchForm({ meeting: meeting.slug, meetings: [meeting] })));
    }
    drawBlocks(r.data.blocks || []);
    afterSeq = r.data.next_after_seq ?? afterSeq;
    more.hidden = !r.data.has_more;
    const n = body.querySelectorAll('.entry').length;
    status.textContent = n ? (r.data.has_more ? `Showing ${n} entries; there are more.` : `Showing all ${n} entries${fromStart ? ' from the one you found' : ''}.`) : 'Nothing was kept of this session.';
    if (firstEntry) {
      const next = body.querySelectorAll('.entry')[firstEntry];
      if (next) {
        next.setAttribute('tabindex', '-1');
        next.focus();
      }
    }
  }
  more.addEventListener('click', load);
  load();
  return () => { gone = true; };
}

// #/transcripts/search?q=...&meeting=...&offset=...: search results, matches highlighted.
export function searchPage(container, { q = '', meeting = '', offset = 0 }) {
  setTitle(q ? `Search: ${q}` : 'Search the transcripts');
  const status = h('p', { class: 'list-status', role: 'status', id: 'search-status', text: q ? 'Searching…' : '' });
  const results = h('ol', { class: 'search-results', id: 'search-results', start: offset + 1 });
  const pager = h('p', { class: 'form-actions' });
  container.append(h('div', { class: 'page page-search' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/transcripts', text: 'All transcripts' })),
    h('h1', { text: 'Search the transcripts' }),
    loginHint(),
    searchForm({ q, meeting, meetings: [] }),
    h('h2', { id: 'results-title', text: 'Results' }),
    status, results, pager));
  results.setAttribute('aria-labelledby', 'results-title');
  focusHeading(container);
  let gone = false;
  if (!q) {
    status.textContent = 'Write what to look for above.';
    return () => { gone = true; };
  }

  (async () => {
    const params = new URLSearchParams({ q, limit: String(SEARCH_PAGE), offset: String(offset) });
    if (meeting) params.set('meeting', meeting);
    const r = await readerGet(`/api/search?${params}`);
    if (gone) return;
    if (!r.ok || !r.data) {
      status.textContent = r.status === 400 && r.data && r.data.message ? `The search was not understood: ${r.data.message}` : trouble(r);
      return;
    }
    const list = Array.isArray(r.data.results) ? r.data.results : [];
    for (const res of list) {
      const excerpt = h('p', { class: 'search-excerpt' });
      const parts = Array.isArray(res.parts) ? res.parts : [{ text: String(res.snippet || ''), match: false }];
      for (const part of parts) {
        const text = document.createTextNode(String(part.text));
        excerpt.append(part.match ? h('mark', {}, text) : text);
      }
      const when = res.at_local ? `${res.at_local.slice(0, 10)} ${localTime(res.at_local)}` : '';
      results.append(h('li', { class: 'search-result' },
        h('p', { class: 'search-meta' },
          h('strong', { text: res.meeting ? res.meeting.name : '' }), ` · ${when}`,
          res.from ? ` · ${res.from.name}` : ''),
        excerpt,
        h('p', {}, h('a', { href: `#/transcripts/${res.session}?from=${res.seq}` }, 'Read it in the transcript',
          h('span', { class: 'visually-hidden', text: ` (${res.meeting ? res.meeting.name : ''}, ${when})` })))));
    }
    const from = offset + 1;
    status.textContent = list.length
      ? `Results ${from} to ${offset + list.length}${r.data.has_more ? ', more below' : ''}.`
      : (offset ? 'No more results.' : 'Nothing found in the transcripts you may read.');
    announce(status.textContent);
    const link = (off, text) => {
      const p = new URLSearchParams({ q });
      if (meeting) p.set('meeting', meeting);
      if (off) p.set('offset', String(off));
      return h('a', { class: 'button secondary', href: `#/transcripts/search?${p}`, text });
    };
    if (offset > 0) pager.append(link(Math.max(0, offset - SEARCH_PAGE), 'Previous results'));
    if (r.data.has_more) pager.append(link(offset + SEARCH_PAGE, 'More results'));
  })();
  return () => { gone = true; };
}
