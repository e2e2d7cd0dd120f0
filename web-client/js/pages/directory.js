// The directory: the coming week's meetings in the viewer's own time zone, from GET /api/meetings
// (proto/API.md). The page filters in the browser, by the viewer's own days, because a meeting's
// weekday in its own zone is not always the viewer's. When the API is not there (or not yet), the
// page says so calmly and still lets people open a meeting they have a link to.

import { getJSON, paths } from '../api.js';
import { SLUG } from '../connection.js';
import { clear, h } from '../dom.js';
import { focusHeading, go } from '../router.js';
import { dayKey, isValidZone, occurrences, viewerZone, zonedParts } from '../time.js';
import { setTitle } from '../chrome.js';
import { languageName, typeName, loadTypeNames } from '../meetings.js';

const WEEK_MS = 7 * 86400000;
const SOON_MS = 60 * 60000;
const REFRESH_MS = 60000;

// Filters survive going into a meeting and coming back (not a reload).
const filters = { day: '', type: '', language: '', soon: false };

function viewerZoneOrUtc() {
  const z = viewerZone();
  return z && isValidZone(z) ? z : 'UTC';
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long' });

function zoneTimeFmt(zone) {
  return new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', timeZone: zone });
}

// "America/Chicago" -> "Chicago"; "America/Argentina/Buenos_Aires" -> "Buenos Aires".
export function zoneCity(zone) {
  const last = String(zone).split('/').pop() || zone;
  return last.replaceAll('_', ' ');
}

function minutesText(ms) {
  const min = Math.max(1, Math.round(ms / 60000));
  if (min < 60) return `${min} minute${min === 1 ? '' : 's'}`;
  const hours = Math.floor(min / 60);
  const rest = min % 60;
  return `${hours} hour${hours === 1 ? '' : 's'}${rest ? ` ${rest} minute${rest === 1 ? '' : 's'}` : ''}`;
}

// Every occurrence of every meeting in the coming week, soonest first.
export function upcoming(meetings, now) {
  const out = [];
  for (const m of meetings) {
    const list = occurrences(m, now, now + WEEK_MS);
    // The server's own next occurrence is authoritative where it is the same one.
    const next = m.next_occurrence;
    if (next && list.length) {
      const start = Date.parse(next.start_utc);
      const end = Date.parse(next.end_utc);
      const i = list.findIndex((o) => Math.abs(o.start - start) < 3 * 3600000);
      if (i >= 0 && Number.isFinite(start) && Number.isFinite(end)) list[i] = { ...list[i], start, end };
    }
    for (const o of list) out.push({ meeting: m, ...o });
  }
  out.sort((a, b) => a.start - b.start || a.meeting.name.localeCompare(b.meeting.name));
  return out;
}

function matches(occ, f, now, zone) {
  const m = occ.meeting;
  if (f.day && dayKey(occ.start, zone) !== f.day) return false;
  if (f.type && !(m.types || []).includes(f.type)) return false;
  if (f.language && String(m.language || '').split('-')[0] !== f.language) return false;
  if (f.soon && !(occ.start - now <= SOON_MS && occ.end > now)) return false;
  return true;
}

function dayHeading(ms, zone, now) {
  const today = dayKey(now, zone);
  const tomorrow = dayKey(now + 86400000, zone);
  const key = dayKey(ms, zone);
  const label = dayFmt.format(new Date(ms));
  if (key === today) return `Today, ${label}`;
  if (key === tomorrow) return `Tomorrow, ${label}`;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

function meetingCard(occ, now, zone) {
  const m = occ.meeting;
  const inProgress = occ.start <= now && occ.end > now;
  const soon = !inProgress && occ.start - now <= SOON_MS;
  const lang = m.language || undefined;
  const localStart = zoneTimeFmt(m.time_zone).format(new Date(occ.start));
  const sameZone = zonedParts(occ.start, m.time_zone).hour === zonedParts(occ.start, zone).hour &&
    zonedParts(occ.start, m.time_zone).minute === zonedParts(occ.start, zone).minute;
  const titleId = `meeting-${m.slug}-${occ.start}`;
  const types = (m.types || []).map((code) => h('li', { class: 'tag', text: typeName(code) }));
  if (m.language) types.push(h('li', { class: 'tag tag-lang', text: languageName(m.language) }));
  return h('li', { class: 'meeting-card', 'aria-labelledby': titleId },
    h('h3', { id: titleId, lang },
      h('a', { href: `#/m/${m.slug}`, text: m.name, dataset: { fk: `${titleId}-name` } })),
    h('p', { class: 'when' },
      h('time', { datetime: new Date(occ.start).toISOString(), text: timeFmt.format(new Date(occ.start)) }),
      ' to ',
      h('time', { datetime: new Date(occ.end).toISOString(), text: timeFmt.format(new Date(occ.end)) }),
      h('span', { class: 'muted', text: ' your time' })),
    h('p', { class: 'zone muted' },
      sameZone
        ? `Meets at ${localStart} in ${zoneCity(m.time_zone)} time (${m.time_zone}), the same as yours.`
        : `Meets at ${localStart} in ${zoneCity(m.time_zone)} time (${m.time_zone}).`),
    inProgress
      ? h('p', { class: 'state state-now', text: 'In progress now' })
      : soon ? h('p', { class: 'state state-soon', text: `Starts in ${minutesText(occ.start - now)}` }) : null,
    types.length ? h('ul', { class: 'tags', 'aria-label': 'Meeting type' }, types) : null,
    m.description ? h('p', { class: 'description', lang, text: m.description }) : null,
    h('p', { class: 'card-actions' },
      h('a', { class: 'button', href: `#/m/${m.slug}`, dataset: { fk: `${titleId}-join` } },
        inProgress ? 'Join' : 'Details and join',
        h('span', { class: 'visually-hidden', text: `: ${m.name}` })),
      ' ',
      h('a', {
        class: 'calendar-link', href: paths.ics(m.slug), download: `${m.slug}.ics`, dataset: { fk: `${titleId}-ics` },
      },
        'Add to calendar',
        h('span', { class: 'visually-hidden', text: `: ${m.name}` })),
      m.record_transcripts ? ' ' : null,
      m.record_transcripts ? h('a', {
        class: 'transcripts-link', href: `#/m/${m.slug}/transcripts`, dataset: { fk: `${titleId}-transcripts` },
      },
        'Transcripts',
        h('span', { class: 'visually-hidden', text: `: ${m.name}` })) : null));
}

function select(id, label, options, value, onChange) {
  const el = h('select', { id, on: { change: (e) => onChange(e.target.value) } },
    options.map(([v, text]) => h('option', { value: v, text, selected: v === value })));
  return h('div', { class: 'filter' }, h('label', { for: id, text: label }), el);
}

// A calm way in when the list is away: paste a meeting link or type its short name.
function goToMeetingForm() {
  const input = h('input', {
    type: 'text', id: 'goto-meeting', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
  });
  const error = h('p', { class: 'field-error', id: 'goto-meeting-error', hidden: true });
  input.setAttribute('aria-describedby', 'goto-meeting-hint goto-meeting-error');
  return h('form', {
    class: 'goto-form',
    on: {
      submit: (e) => {
        e.preventDefault();
        const raw = input.value.trim();
        const m = /(?:#\/m\/|\/m\/|^)([a-z0-9][a-z0-9-]{0,62}[a-z0-9]|[a-z0-9])\/?$/.exec(raw.toLowerCase());
        if (!m || !SLUG.test(m[1])) {
          error.textContent = 'Please paste the meeting link you were given, or its short name, such as tuesday-hope.';
          error.hidden = false;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        go(`/m/${m[1]}`);
      },
    },
  },
  h('div', { class: 'field' },
    h('label', { for: 'goto-meeting', text: 'Meeting link or short name' }),
    h('p', { class: 'hint', id: 'goto-meeting-hint', text: 'For example tuesday-hope, or the whole link.' }),
    input, error),
  h('button', { type: 'submit', class: 'button', text: 'Go to the meeting' }));
}

export function directoryPage(container) {
  setTitle('Meetings');
  const zone = viewerZoneOrUtc();
  let meetings = null;
  let disposed = false;
  let refreshTimer = null;

  const status = h('p', { class: 'list-status', role: 'status', id: 'directory-status' });
  const filtersBox = h('div', { class: 'filters-box' });
  const results = h('div', { class: 'results', id: 'directory-results' });

  container.append(
    h('div', { class: 'page page-directory' },
      h('h1', { text: 'Meetings' }),
      h('p', { class: 'lead' },
        'Online recovery meetings you can join from here, with no account and no real name. ',
        'Times are shown in your time zone',
        h('span', { class: 'nowrap', text: ` (${zone}).` })),
      filtersBox,
      status,
      results));
  focusHeading(container);

  function draw() {
    if (disposed || !meetings) return;
    const now = Date.now();
    const all = upcoming(meetings, now);
    const shown = all.filter((o) => matches(o, filters, now, zone));
    // Redrawing must not lose the keyboard focus: put it back on the same link afterwards.
    const active = document.activeElement;
    const focusKey = active && results.contains(active) ? active.dataset.fk : null;
    clear(results);

    if (!meetings.length) {
      setStatus('');
      results.append(h('p', { class: 'empty', text: 'There are no meetings in the directory yet.' }));
      return;
    }
    const count = shown.length;
    const anyFilter = filters.day || filters.type || filters.language || filters.soon;
    setStatus(count
      ? `${count} meeting time${count === 1 ? '' : 's'} in the coming week${anyFilter ? ' match your filters' : ''}.`
      : anyFilter
        ? 'No meetings match these filters. Try another day or type.'
        : 'No meetings are scheduled in the coming week.');

    let group = null;
    let groupKey = null;
    for (const occ of shown) {
      const key = dayKey(occ.start, zone);
      if (key !== groupKey) {
        groupKey = key;
        const headingId = `day-${key}`;
        group = h('ul', { class: 'meeting-list' });
        results.append(h('section', { class: 'day', 'aria-labelledby': headingId },
          h('h2', { id: headingId, text: dayHeading(occ.start, zone, now) }), group));
      }
      group.append(meetingCard(occ, now, zone));
    }

    const unscheduled = meetings.filter((m) => !Array.isArray(m.days) || !m.days.length)
      .filter((m) => !filters.day && !filters.soon && (!filters.type || (m.types || []).includes(filters.type)));
    if (unscheduled.length) {
      results.append(h('section', { class: 'day', 'aria-labelledby': 'day-unscheduled' },
        h('h2', { id: 'day-unscheduled', text: 'Without a fixed time' }),
        h('ul', { class: 'meeting-list' }, unscheduled.map((m) => h('li', { class: 'meeting-card' },
          h('h3', { lang: m.language || undefined }, h('a', { href: `#/m/${m.slug}`, text: m.name })),
          m.description ? h('p', { class: 'description', text: m.description }) : null)))));
    }
    if (focusKey) {
      const again = [...results.querySelectorAll('[data-fk]')].find((el) => el.dataset.fk === focusKey);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // The status line is a live region: change it only when what it says changes.
  function setStatus(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  let filtersKey = null;
  function drawFilters() {
    if (!meetings || !meetings.length) {
      clear(filtersBox);
      filtersKey = null;
      return;
    }
    const now = Date.now();
    const days = [['', 'Any day']];
    for (let i = 0; i < 7; i++) {
      const t = now + i * 86400000;
      const name = weekdayFmt.format(new Date(t));
      days.push([dayKey(t, zone), i === 0 ? `Today (${name})` : i === 1 ? `Tomorrow (${name})` : name]);
    }
    const typeCodes = [...new Set(meetings.flatMap((m) => m.types || []))]
      .sort((a, b) => typeName(a).localeCompare(typeName(b)));
    const langs = [...new Set(meetings.map((m) => String(m.language || '').split('-')[0]).filter(Boolean))]
      .sort((a, b) => languageName(a).localeCompare(languageName(b)));
    const key = JSON.stringify([days, typeCodes, langs]);
    if (key === filtersKey) return; // the same choices: keep the form (and the focus in it)
    filtersKey = key;
    clear(filtersBox);
    const soon = h('input', {
      type: 'checkbox', id: 'filter-soon', checked: filters.soon,
      on: { change: (e) => { filters.soon = e.target.checked; draw(); } },
    });
    filtersBox.append(h('form', {
      class: 'filters', role: 'search', 'aria-label': 'Filter meetings',
      on: { submit: (e) => e.preventDefault() },
    },
    select('filter-day', 'Day', days, filters.day, (v) => { filters.day = v; draw(); }),
    select('filter-type', 'Type', [['', 'Any type'], ...typeCodes.map((c) => [c, typeName(c)])], filters.type,
      (v) => { filters.type = v; draw(); }),
    select('filter-language', 'Language', [['', 'Any language'], ...langs.map((l) => [l, languageName(l)])],
      filters.language, (v) => { filters.language = v; draw(); }),
    h('div', { class: 'filter filter-check' }, soon,
      h('label', { for: 'filter-soon', text: 'Starting within the hour, or in progress' }))));
  }

  let manualRetry = false;
  function unavailable(r) {
    const again = manualRetry;
    manualRetry = false;
    if (!again && document.getElementById('directory-unavailable')) return; // already said
    clear(filtersBox);
    filtersKey = null;
    clear(results);
    setStatus('');
    let sentence;
    if (r.error === 'network') {
      sentence = 'The meeting list cannot be reached right now. Please check your connection; this page will try again in a minute.';
    } else if (r.error === 'store_unavailable' || r.status >= 500) {
      sentence = 'The meeting list cannot be loaded just now. Please try again in a minute.';
    } else {
      sentence = 'This server does not offer a meeting list yet.';
    }
    results.append(
      h('div', { class: 'notice notice-calm', id: 'directory-unavailable' },
        h('h2', { text: 'The meeting list is not available' }),
        h('p', { text: sentence }),
        h('p', { text: 'If you have a link to a meeting, you can still open it:' }),
        goToMeetingForm(),
        h('p', {},
          h('button', {
            type: 'button', class: 'button secondary', text: 'Try again',
            on: { click: () => { manualRetry = true; load(); } },
          }))));
    if (again) {
      const heading = results.querySelector('h2');
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }

  async function load() {
    if (!meetings) setStatus('Loading meetings…');
    const [r] = await Promise.all([getJSON(paths.meetings('limit=500')), loadTypeNames()]);
    if (disposed) return;
    if (r.ok && r.data && Array.isArray(r.data.meetings)) {
      meetings = r.data.meetings.filter((m) => m && typeof m.slug === 'string' && SLUG.test(m.slug) &&
        typeof m.name === 'string');
      drawFilters();
      draw();
    } else {
      meetings = null;
      unavailable(r);
    }
  }

  load();
  // Keep "starts in" and "in progress" true while the page stays open; reload the list now and
  // then (or retry when it was away).
  let ticks = 0;
  refreshTimer = setInterval(() => {
    ticks++;
    if (!meetings || ticks % 10 === 0) load();
    else draw();
  }, REFRESH_MS);

  return () => {
    disposed = true;
    clearInterval(refreshTimer);
  };
}
