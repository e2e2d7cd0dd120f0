// The parts of the page around every view: the title, the skip link, the site navigation.

import * as account from './account.js';

export function setTitle(text) {
  document.title = text ? `${text} · Haven` : 'Haven';
}

function markCurrent(route) {
  const links = {
    directory: document.getElementById('nav-meetings'),
    login: document.getElementById('nav-login'),
    transcripts: document.getElementById('nav-transcripts'),
  };
  const section = route && ['meetingTranscripts', 'transcript', 'search'].includes(route.name) ? 'transcripts' : route && route.name;
  for (const [name, el] of Object.entries(links)) {
    if (!el) continue;
    if (section === name && route.name === name) el.setAttribute('aria-current', 'page');
    else if (section === name) el.setAttribute('aria-current', 'true');
    else el.removeAttribute('aria-current');
  }
}

function showAccount(a) {
  const link = document.getElementById('nav-login');
  if (!link) return;
  link.textContent = a ? `Chair: ${a.username}` : 'Chair login';
}

export function initChrome() {
  // The skip link moves the focus to the main region without touching the route (#/...).
  const skip = document.getElementById('skip-link');
  const main = document.getElementById('main');
  if (skip && main) {
    skip.addEventListener('click', (e) => {
      e.preventDefault();
      main.focus();
    });
  }
  document.addEventListener('haven:route', (e) => markCurrent(e.detail));
  showAccount(account.current());
  account.onChange(showAccount);
  // Another tab logged in or out.
  window.addEventListener('storage', (e) => {
    if (e.key === 'haven.account') showAccount(account.current());
  });
}
