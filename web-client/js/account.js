// A chair's login: the token of POST /api/login, kept in localStorage (proto/API.md). A hello
// with it gets the account's role in the meeting (PROTOCOL.md 16).

import { getJSON, paths, postJSON } from './api.js';
import { localStore } from './storage.js';

const KEY = 'account';
const listeners = new Set();

export function current() {
  const a = localStore.load(KEY, null);
  if (!a || typeof a.token !== 'string' || typeof a.username !== 'string') return null;
  // expires_at: ms since the epoch (an ISO string is read too).
  const expires = typeof a.expires_at === 'number' ? a.expires_at : Date.parse(a.expires_at || '');
  if (Number.isFinite(expires) && expires < Date.now()) {
    localStore.remove(KEY);
    return null;
  }
  return a;
}

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed() {
  for (const fn of listeners) fn(current());
}

export function forget() {
  localStore.remove(KEY);
  changed();
}

export async function login(username, password) {
  const r = await postJSON(paths.login(), { username, password });
  if (r.ok && r.data && typeof r.data.token === 'string') {
    localStore.save(KEY, {
      token: r.data.token,
      username: String(r.data.username || username),
      admin: !!r.data.admin,
      expires_at: r.data.expires_at || null,
    });
    changed();
  }
  return r;
}

// Log out: the server revokes the token. The token is forgotten here whatever the answer
// (a token the server no longer knows is as good as gone), except when the server could not be
// reached, so that the person can try again.
export async function logout() {
  const a = current();
  if (!a) return { ok: true };
  const r = await postJSON(paths.logout(), {}, { token: a.token });
  if (r.ok || r.status === 401) {
    forget();
    return { ok: true };
  }
  return r;
}

export async function me() {
  const a = current();
  if (!a) return null;
  const r = await getJSON(paths.me(), { token: a.token });
  if (r.status === 401) {
    forget();
    return null;
  }
  return r.ok ? r.data : { unknown: true };
}

// For the meeting client: the token to say hello with, and what to do when it stopped working.
export const helloAccount = {
  token: () => {
    const a = current();
    return a ? a.token : null;
  },
  expired: () => forget(),
};
