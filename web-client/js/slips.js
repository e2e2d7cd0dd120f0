// Attendance slips (proto/API.md, "Attendance slips"): an attendee asks for their own signed
// slip after a session of a meeting with the type POA; the meeting's chairs withhold or confirm
// slips of members. The slip itself is shown by the server's own printable page
// (/verify/{slip_id}.html), which anyone given the id can open to check it. Text only (dom.js).

import { getJSON, postJSON } from './api.js';
import { clear, h } from './dom.js';

const SLIP_ERRORS = {
  not_offered: 'This meeting does not offer attendance slips.',
  withheld: 'A chair of this meeting has withheld attendance slips for you in this session. If you think this is a mistake, ask the chair.',
  not_present: 'There is no slip for you: you were not in this session for a whole minute between its start and its end.',
  session_in_progress: 'Slips are given once the session has ended.',
  not_found: 'There is no slip for you for this session: you were not in it with this browser, or its records have been deleted after their retention time.',
  unauthenticated: 'There is no slip for you for this session: this browser has no attendance record.',
  store_unavailable: 'Slips cannot be made right now. Please try again in a little while.',
  network: 'The server could not be reached. Check the connection and try again.',
};

export function slipError(code) {
  return SLIP_ERRORS[code] || `The slip could not be made (${code}).`;
}

// A button "Get my attendance slip" for session `sessionId`, asked with `token()`; draws the
// answer under it: links to the printable slip and to the signed file, or why there is none.
export function slipOffer({ sessionId, token, idPrefix = 'slip' }) {
  const result = h('div', { class: 'slip-result', id: `${idPrefix}-result`, role: 'status' });
  const button = h('button', {
    type: 'button', class: 'button small', id: `${idPrefix}-get`, text: 'Get my attendance slip',
    on: {
      click: async () => {
        button.disabled = true;
        clear(result);
        result.append(h('p', { text: 'Asking for your slip…' }));
        const r = await postJSON(`/api/sessions/${sessionId}/slip`, {}, { token: token() });
        button.disabled = false;
        clear(result);
        if (!r.ok || !r.data || typeof r.data.slip_id !== 'string' || !/^[0-9a-f]{32}$/.test(r.data.slip_id)) {
          result.append(h('p', { class: 'is-error', text: slipError(r.error || 'internal') }));
          return;
        }
        const slip = r.data;
        const file = new Blob([`${JSON.stringify(slip, null, 2)}\n`], { type: 'application/json' });
        const url = URL.createObjectURL(file);
        result.append(
          h('p', { text: `Your slip for ${slip.meeting_name} on ${slip.date}: ${slip.minutes_present} of ${slip.session_minutes} minutes, as ${slip.name}. It names nobody else.` }),
          h('p', { class: 'form-actions' },
            h('a', { class: 'button small', href: `/verify/${slip.slip_id}.html`, target: '_blank', rel: 'noopener noreferrer', text: 'Open the printable slip' }),
            h('a', { class: 'button small secondary', href: url, download: `attendance-slip-${slip.slip_id}.json`, text: 'Save the signed slip (.json)' })),
          h('p', { class: 'hint', text: 'Whoever you give it to can check it at the address printed on it. This server keeps no record of who asked for a slip.' }));
      },
    },
  });
  return h('div', { class: 'slip-offer' }, button, result);
}

// For the meeting's chairs: who gets a slip for session `sessionId`, with withhold and confirm.
// Resolves to null when the reader may not decide (or the meeting offers no slips).
export async function slipDecisions({ sessionId, token }) {
  const r = await getJSON(`/api/sessions/${sessionId}/slips`, { token });
  if (!r.ok || !r.data || !r.data.offered || !Array.isArray(r.data.members)) return null;
  const status = h('p', { class: 'form-status', role: 'status', id: 'slips-status' });
  const list = h('ul', { class: 'panel-list slip-members', id: 'slip-members' });
  const section = h('section', { class: 'slips', 'aria-labelledby': 'slips-title' },
    h('h2', { id: 'slips-title', text: 'Attendance slips' }),
    h('p', { class: 'hint', text: 'Everyone present for at least a minute may ask for a slip, except people a chair removed (unless you confirm them) and people whose slips you withhold. Decide before they ask: a slip already given stays valid.' }),
    list, status);

  function draw(members) {
    clear(list);
    for (const m of members) {
      const withheld = m.slips === 'withheld';
      const action = withheld ? 'confirm' : 'withhold';
      const label = withheld ? `Give ${m.name} slips` : `Withhold ${m.name}'s slips`;
      list.append(h('li', { class: 'slip-member', dataset: { member: String(m.member) } },
        h('span', { class: 'person-name', text: `${m.name}${m.removed ? ' (removed)' : ''}: ` }),
        h('span', { class: withheld ? 'is-error' : '', text: withheld ? 'no slip' : 'may get a slip' }), ' ',
        h('button', {
          type: 'button', class: 'button small secondary', text: label,
          on: {
            click: async () => {
              const path = `/api/sessions/${sessionId}/slips/${action}`;
              const res = await postJSON(path, { member: m.member }, { token });
              if (!res.ok) {
                status.textContent = `Not changed: ${(res.data && res.data.message) || res.error}`;
                return;
              }
              m.slips = res.data.slips;
              m.decision = res.data.decision;
              status.textContent = m.slips === 'withheld' ? `${m.name} gets no slip.` : `${m.name} may get a slip.`;
              draw(members);
              const again = list.querySelector(`li[data-member="${m.member}"] button`);
              if (again) again.focus();
            },
          },
        })));
    }
    if (!members.length) list.append(h('li', { class: 'muted', text: 'Nobody took part.' }));
  }
  draw(r.data.members);
  return section;
}
