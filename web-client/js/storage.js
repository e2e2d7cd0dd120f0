// Small, failure-proof wrappers around localStorage and sessionStorage. Private browsing, a full
// quota or storage switched off must never break a meeting: reads then give the fallback and
// writes are skipped. Values are JSON. No DOM here.
//
// Storage is per origin, so every key below is already per Haven server. What is kept:
//   local   haven.token            the attendee token from welcome (a bearer secret; PROTOCOL.md 15)
//   local   haven.account          {token, username, admin, expires_at} of a logged-in chair
//   local   haven.name             the last display name used, to fill in the join form
//   local   haven.outbox.<slug>    messages not yet acknowledged, kept across reloads
//   session haven.join.<slug>      {name, visitor} while in a meeting's room (survives reload)
//   session haven.draft.<slug>     the text being typed in the room

const PREFIX = 'haven.';

function area(kind) {
  try {
    const s = kind === 'session' ? globalThis.sessionStorage : globalThis.localStorage;
    return s || null;
  } catch {
    return null;
  }
}

export function load(key, fallback = null, kind = 'local') {
  const s = area(kind);
  if (!s) return fallback;
  try {
    const raw = s.getItem(PREFIX + key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function save(key, value, kind = 'local') {
  const s = area(kind);
  if (!s) return false;
  try {
    s.setItem(PREFIX + key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function remove(key, kind = 'local') {
  const s = area(kind);
  if (!s) return;
  try {
    s.removeItem(PREFIX + key);
  } catch {
    // nothing to do
  }
}

// An in-memory stand-in with the same interface (tests, and pages without storage).
export function memoryStore() {
  const m = new Map();
  return {
    load: (key, fallback = null) => (m.has(key) ? JSON.parse(m.get(key)) : fallback),
    save: (key, value) => {
      m.set(key, JSON.stringify(value));
      return true;
    },
    remove: (key) => m.delete(key),
  };
}

export const localStore = {
  load: (key, fallback) => load(key, fallback, 'local'),
  save: (key, value) => save(key, value, 'local'),
  remove: (key) => remove(key, 'local'),
};

export const sessionStore = {
  load: (key, fallback) => load(key, fallback, 'session'),
  save: (key, value) => save(key, value, 'session'),
  remove: (key) => remove(key, 'session'),
};
