// Hash routes, because the server serves index.html only at "/":
//   #/                 the directory (also "/" with no hash)
//   #/m/{slug}         the join page of a meeting
//   #/m/{slug}/room    the meeting room
//   #/login            chair login and logout
//   #/transcripts      the sessions the reader may read, and the search
//   #/transcripts/search?q=..&meeting=..&offset=..   search results
//   #/transcripts/{id}[?from=seq]                    one session's transcript
//   #/m/{slug}/transcripts                           one meeting's sessions
// A page is a function (container, params) that draws into container and may return a cleanup
// function, called before the next page is drawn.

import { SLUG } from './connection.js';

export function parse(hash) {
  const full = (hash || '').replace(/^#/, '') || '/';
  const qAt = full.indexOf('?');
  const path = qAt >= 0 ? full.slice(0, qAt) : full;
  const query = new URLSearchParams(qAt >= 0 ? full.slice(qAt + 1) : '');
  if (path === '/' || path === '') return { name: 'directory', params: {} };
  if (path === '/login') return { name: 'login', params: {} };
  if (path === '/transcripts' || path === '/transcripts/') return { name: 'transcripts', params: {} };
  if (path === '/transcripts/search') {
    const offset = Number(query.get('offset') || 0);
    const meeting = query.get('meeting') || '';
    return {
      name: 'search',
      params: {
        q: (query.get('q') || '').slice(0, 200),
        meeting: SLUG.test(meeting) ? meeting : '',
        offset: Number.isInteger(offset) && offset >= 0 && offset <= 1000 ? offset : 0,
      },
    };
  }
  let m = /^\/transcripts\/([1-9][0-9]{0,15})$/.exec(path);
  if (m) {
    const from = Number(query.get('from'));
    return { name: 'transcript', params: { id: Number(m[1]), from: Number.isInteger(from) && from > 0 ? from : null } };
  }
  m = /^\/m\/([^/]+)\/transcripts$/.exec(path);
  if (m && SLUG.test(m[1])) return { name: 'meetingTranscripts', params: { slug: m[1] } };
  m = /^\/m\/([^/]+)\/room$/.exec(path);
  if (m && SLUG.test(m[1])) return { name: 'room', params: { slug: m[1] } };
  m = /^\/m\/([^/]+)\/?$/.exec(path);
  if (m && SLUG.test(m[1])) return { name: 'join', params: { slug: m[1] } };
  return { name: 'notfound', params: { path } };
}

export function go(path, { replace = false } = {}) {
  const hash = `#${path}`;
  // Redraw after the current page has finished drawing (a page may send people on while it
  // is being drawn).
  const redraw = () => setTimeout(() => window.dispatchEvent(new HashChangeEvent('hashchange')), 0);
  if (replace) {
    history.replaceState(null, '', hash);
    redraw();
  } else if (location.hash === hash) {
    redraw();
  } else {
    location.hash = hash;
  }
}

export function startRouter(pages, container) {
  let cleanup = null;
  let current = null;

  function show() {
    const hash = location.hash;
    // In-page anchors such as the skip link's "#main" are not routes.
    if (hash && !hash.startsWith('#/')) return;
    const route = parse(hash);
    if (cleanup) {
      try {
        cleanup();
      } catch (e) {
        console.error(e);
      }
      cleanup = null;
    }
    current = route;
    container.replaceChildren();
    const page = pages[route.name] || pages.notfound;
    const result = page(container, route.params);
    cleanup = typeof result === 'function' ? result : null;
    document.dispatchEvent(new CustomEvent('haven:route', { detail: route }));
    firstPage = false;
  }

  // The join links of the directory API are {public_url}/m/{slug}: if the server sends this
  // page for such a path, show that meeting.
  const m = /^\/m\/([a-z0-9-]+)\/?$/.exec(location.pathname);
  if (m && SLUG.test(m[1]) && !location.hash.startsWith('#/')) {
    history.replaceState(null, '', `/#/m/${m[1]}`);
  }

  window.addEventListener('hashchange', show);
  show();
  return () => current;
}

// After a new page is drawn: put the keyboard and screen reader focus on its main heading.
let firstPage = true;
export function focusHeading(container) {
  // Not on the first page of a visit: there the browser's own start (the top) is right.
  if (firstPage) return;
  const h1 = container.querySelector('h1');
  if (!h1) return;
  h1.setAttribute('tabindex', '-1');
  h1.focus({ preventScroll: false });
}
