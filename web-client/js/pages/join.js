// The join page of a meeting: what the meeting is, what is recorded and who may read it, and a
// display name (a pseudonym) checked by the same rules as the server's. The room (room.js)
// connects; if the server refuses the name after all, it sends the person back here with the
// server's code, which wins.

import * as account from '../account.js';
import { getJSON, paths } from '../api.js';
import { setTitle } from '../chrome.js';
import { append, clear, field, h } from '../dom.js';
import { isClosed, languageName, loadTypeNames, recordsStatement, typeName } from '../meetings.js';
import { NAME_MAX_CHARS, NAME_MESSAGES, checkName } from '../names.js';
import { focusHeading, go } from '../router.js';
import { localStore, sessionStore } from '../storage.js';
import { zoneCity } from './directory.js';

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit',
});
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

function scheduleLine(m) {
  const next = m && m.next_occurrence;
  if (!next) return null;
  const start = Date.parse(next.start_utc);
  const end = Date.parse(next.end_utc);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  const local = new Intl.DateTimeFormat(undefined, {
    hour: 'numeric', minute: '2-digit', timeZone: next.time_zone || m.time_zone,
  }).format(new Date(start));
  const zone = next.time_zone || m.time_zone;
  if (next.in_progress) {
    return h('p', { class: 'schedule' },
      h('span', { class: 'state state-now', text: 'In progress now' }),
      ` until ${timeFmt.format(new Date(end))} your time.`);
  }
  return h('p', { class: 'schedule' },
    'Next: ',
    h('time', { datetime: new Date(start).toISOString(), text: dateTimeFmt.format(new Date(start)) }),
    ` your time (${local} in ${zoneCity(zone)}, ${zone}).`);
}

export function joinPage(container, { slug }) {
  setTitle('Join a meeting');
  let disposed = false;
  let meeting = null;
  let fullNameConfirmedFor = null;

  const heading = h('h1', { text: 'Join a meeting' });
  const about = h('div', { class: 'about' }, h('p', { class: 'muted', text: 'Loading the meeting…' }));
  const records = h('section', { class: 'records', 'aria-labelledby': 'records-title' });
  const options = h('div', { class: 'join-options' });
  const gentle = h('div', { class: 'gentle', id: 'full-name-note', hidden: true });

  const saved = sessionStore.load(`join.${slug}`, null) || {};
  const nameInput = h('input', {
    type: 'text',
    name: 'name',
    autocomplete: 'nickname',
    autocapitalize: 'words',
    spellcheck: 'false',
    maxlength: 64,
    value: saved.name || localStore.load('name', '') || '',
  });
  const name = field({
    id: 'join-name',
    label: 'Your name in this meeting',
    input: nameInput,
    hint: `A first name or a nickname (up to ${NAME_MAX_CHARS} characters). Please no last names: meetings are anonymous.`,
  });

  const visitor = h('input', { type: 'checkbox', id: 'join-visitor', checked: !!saved.visitor });
  const closedOk = h('input', { type: 'checkbox', id: 'join-closed' });
  const closedError = h('p', { class: 'field-error', id: 'join-closed-error', hidden: true });
  closedOk.setAttribute('aria-describedby', 'join-closed-error');

  const chair = account.current();
  const form = h('form', { class: 'join-form', noValidate: true, on: { submit: onSubmit } },
    name.wrap,
    gentle,
    options,
    chair
      ? h('p', { class: 'note', id: 'join-chair-note' },
        `You are logged in as ${chair.username}: if you have a role in this meeting, you join with it. `,
        h('a', { href: '#/login', text: 'Log out or change' }))
      : null,
    h('p', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary', text: 'Join the meeting' })));

  container.append(h('div', { class: 'page page-join' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/', text: 'All meetings' })),
    heading,
    about,
    records,
    h('section', { class: 'join', 'aria-labelledby': 'join-title' },
      h('h2', { id: 'join-title', text: 'Join' }),
      form)));

  function drawOptions() {
    clear(options);
    if (isClosed(meeting)) {
      options.append(h('div', { class: 'field field-check closed-check' },
        h('p', { class: 'closed-explain', id: 'join-closed-explain' },
          'This is a closed meeting: it is for people who have, or think they may have, a drug problem and want to stop. ',
          'Family members and friends are welcome at open meetings.'),
        h('div', { class: 'check' }, closedOk, h('label', { for: 'join-closed', text: 'This meeting is for me' })),
        closedError));
      closedOk.setAttribute('aria-describedby', 'join-closed-explain join-closed-error');
    } else {
      options.append(h('div', { class: 'field field-check' },
        h('div', { class: 'check' }, visitor,
          h('label', { for: 'join-visitor', text: 'Join as a visitor (to listen and react, without writing)' })),
        h('p', { class: 'hint', id: 'join-visitor-hint', text: 'For family members, friends and others who come to listen.' })));
      visitor.setAttribute('aria-describedby', 'join-visitor-hint');
    }
  }

  function drawAbout(r) {
    clear(about);
    clear(records);
    records.append(h('h2', { id: 'records-title', text: 'What is recorded' }));
    if (r.ok && r.data && r.data.slug === slug) {
      meeting = r.data;
      heading.textContent = meeting.name;
      heading.lang = meeting.language || '';
      setTitle(meeting.name);
      const types = (meeting.types || []).map((c) => h('li', { class: 'tag', text: typeName(c) }));
      if (meeting.language) types.push(h('li', { class: 'tag tag-lang', text: languageName(meeting.language) }));
      const who = [meeting.group, meeting.region].filter(Boolean).join(' · ');
      append(about, [
        scheduleLine(meeting),
        types.length ? h('ul', { class: 'tags', 'aria-label': 'Meeting type' }, types) : null,
        who ? h('p', { class: 'muted', text: who }) : null,
        meeting.description ? h('p', { class: 'description', lang: meeting.language || undefined, text: meeting.description }) : null,
        meeting.notes ? h('p', { class: 'notes', lang: meeting.language || undefined, text: meeting.notes }) : null,
        Array.isArray(meeting.days) && meeting.days.length
          ? h('p', {}, h('a', { class: 'calendar-link', href: paths.ics(slug), download: `${slug}.ics` },
            'Add to calendar', h('span', { class: 'visually-hidden', text: `: ${meeting.name}` })))
          : null,
      ]);
    } else {
      meeting = null;
      heading.textContent = slug;
      about.append(h('p', {
        class: 'muted',
        text: r.status === 404
          ? 'This meeting is not in the directory. You can still join it if you were given this link.'
          : 'The details of this meeting could not be loaded just now. You can still join it.',
      }));
    }
    for (const sentence of recordsStatement(meeting)) records.append(h('p', { text: sentence }));
    if (meeting && meeting.record_transcripts) {
      records.append(h('p', {}, h('a', { href: `#/m/${slug}/transcripts`, id: 'join-transcripts' },
        'Transcripts of this meeting', h('span', { class: 'visually-hidden', text: ` (${meeting.name})` }))));
    }
    drawOptions();
  }

  function showServerError() {
    const err = sessionStore.load(`joinError.${slug}`, null);
    if (!err) return false;
    sessionStore.remove(`joinError.${slug}`);
    if (err.code && NAME_MESSAGES[err.code]) {
      name.setError(NAME_MESSAGES[err.code]);
      nameInput.focus();
      return true;
    }
    return false;
  }

  function hideGentle() {
    gentle.hidden = true;
    clear(gentle);
  }

  function askAboutFullName(trimmed) {
    clear(gentle);
    gentle.append(
      h('p', { text: NAME_MESSAGES.full_name }),
      h('p', { class: 'gentle-actions' },
        h('button', {
          type: 'button', class: 'button secondary', text: 'Change the name',
          on: { click: () => { hideGentle(); nameInput.focus(); nameInput.select(); } },
        }),
        ' ',
        h('button', {
          type: 'button', class: 'button', text: 'Keep this name',
          on: { click: () => { fullNameConfirmedFor = trimmed; hideGentle(); enter(trimmed); } },
        })));
    gentle.hidden = false;
    gentle.querySelector('p').setAttribute('tabindex', '-1');
    gentle.querySelector('p').focus();
  }

  function enter(trimmed) {
    const asVisitor = !isClosed(meeting) && visitor.checked;
    sessionStore.save(`join.${slug}`, {
      name: trimmed,
      visitor: asVisitor,
      fullNameConfirmed: fullNameConfirmedFor === trimmed,
      meetingName: meeting ? meeting.name : null,
    });
    localStore.save('name', trimmed);
    go(`/m/${slug}/room`);
  }

  function onSubmit(e) {
    e.preventDefault();
    const result = checkName(nameInput.value);
    name.setError(result.code ? NAME_MESSAGES[result.code] : '');
    if (result.code) {
      nameInput.focus();
      return;
    }
    if (isClosed(meeting) && !closedOk.checked) {
      closedError.textContent = 'Please confirm that this closed meeting is for you, or look for an open meeting.';
      closedError.hidden = false;
      closedOk.setAttribute('aria-invalid', 'true');
      closedOk.focus();
      return;
    }
    closedError.hidden = true;
    closedOk.removeAttribute('aria-invalid');
    if (result.fullName && fullNameConfirmedFor !== result.name) {
      askAboutFullName(result.name);
      return;
    }
    enter(result.name);
  }

  nameInput.addEventListener('input', () => {
    if (!gentle.hidden) hideGentle();
  });

  drawOptions();
  focusHeading(container);
  Promise.all([getJSON(paths.meeting(slug)), loadTypeNames()]).then(([r]) => {
    if (disposed) return;
    drawAbout(r);
    if (!showServerError() && document.activeElement === heading) focusHeading(container);
  });
  if (saved.fullNameConfirmed && saved.name) fullNameConfirmedFor = saved.name;

  return () => {
    disposed = true;
  };
}
