// The crisis-help panel: always one tap away (the header's "Crisis help" button, on every page).
//
// Where the list comes from: for now the clearly marked default below. When the server offers
// its configured list through the API, loadCrisisResources() fetches it and falls back to this
// default; everything else (checking, drawing) stays as it is.

import { getJSON } from './api.js';
import { clear, h } from './dom.js';

export const DEFAULT_CRISIS_RESOURCES = Object.freeze({
  source: 'default',
  region: 'United States',
  entries: [
    {
      name: '988 Suicide & Crisis Lifeline',
      description:
        'For anyone in emotional distress, a suicidal crisis or a substance use crisis. ' +
        'Free and confidential, 24 hours a day, in English and Spanish.',
      actions: [
        { label: 'Call 988', href: 'tel:988' },
        { label: 'Text 988', href: 'sms:988' },
        { label: 'Chat online', href: 'https://988lifeline.org/chat/' },
      ],
    },
    {
      name: 'SAMHSA National Helpline',
      description:
        'Treatment referral and information about substance use and mental health. ' +
        'Free and confidential, 24 hours a day, every day of the year, in English and Spanish.',
      actions: [{ label: 'Call 1-800-662-4357', href: 'tel:+18006624357' }],
    },
  ],
});

const SAFE_HREF = /^(tel:\+?[0-9*#-]{2,20}|sms:\+?[0-9*#-]{2,20}|https:\/\/[^\s]+)$/;

// Keep only well-formed entries with links people can safely follow (tel:, sms:, https:).
export function sanitizeResources(list) {
  if (!list || !Array.isArray(list.entries)) return null;
  const entries = list.entries
    .filter((e) => e && typeof e.name === 'string' && e.name.trim())
    .map((e) => ({
      name: e.name.trim().slice(0, 200),
      description: typeof e.description === 'string' ? e.description.slice(0, 1000) : '',
      actions: (Array.isArray(e.actions) ? e.actions : [])
        .filter((a) => a && typeof a.label === 'string' && typeof a.href === 'string' && SAFE_HREF.test(a.href))
        .map((a) => ({ label: a.label.slice(0, 100), href: a.href })),
    }));
  if (!entries.length) return null;
  return {
    source: list.source === 'server' ? 'server' : 'default',
    region: typeof list.region === 'string' ? list.region.slice(0, 100) : '',
    entries,
  };
}

// The server's configured list (GET /api/crisis-help), or the built-in default when it
// cannot be had: help must show even when the server is struggling.
export async function loadCrisisResources() {
  try {
    const r = await getJSON('/api/crisis-help');
    if (r && r.ok) {
      // The server's built-in list is Haven's default; a configured one is the operator's.
      const list = sanitizeResources({ ...r.data, source: r.data && r.data.default ? 'default' : 'server' });
      if (list) return list;
    }
  } catch (e) {
    // fall through to the default
  }
  return sanitizeResources(DEFAULT_CRISIS_RESOURCES);
}

function render(resources) {
  const list = document.getElementById('crisis-list');
  const source = document.getElementById('crisis-source');
  if (!list) return;
  clear(list);
  const ul = h('ul', { class: 'crisis-entries' });
  for (const e of resources.entries) {
    ul.append(
      h('li', { class: 'crisis-entry' },
        h('h3', { text: e.name }),
        e.description ? h('p', { text: e.description }) : null,
        e.actions.length
          ? h('p', { class: 'crisis-actions' },
            e.actions.map((a) => h('a', {
              class: 'button',
              href: a.href,
              text: a.label,
              rel: a.href.startsWith('https:') ? 'noopener noreferrer' : undefined,
              target: a.href.startsWith('https:') ? '_blank' : undefined,
            })))
          : null),
    );
  }
  list.append(ul);
  if (source) {
    source.textContent = resources.source === 'default'
      ? `This is Haven's default list${resources.region ? ` for the ${resources.region}` : ''}. ` +
        'Outside it, please use your local crisis line or emergency number.'
      : '';
  }
}

export function initCrisisPanel() {
  const button = document.getElementById('crisis-button');
  const dialog = document.getElementById('crisis-dialog');
  if (!button || !dialog) return;
  render(sanitizeResources(DEFAULT_CRISIS_RESOURCES));
  loadCrisisResources().then((r) => r && render(r));
  button.addEventListener('click', () => {
    if (typeof dialog.showModal === 'function') {
      if (!dialog.open) dialog.showModal();
    } else {
      dialog.setAttribute('open', '');
    }
    const first = dialog.querySelector('h2');
    if (first) {
      first.setAttribute('tabindex', '-1');
      first.focus();
    }
  });
  // A click on the backdrop (outside the panel) closes it too.
  dialog.addEventListener('click', (ev) => {
    if (ev.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => button.focus());
}
