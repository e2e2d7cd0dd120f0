// Identifiers made in the browser. No DOM here.

// A client_msg_id: 32 characters of [A-Za-z0-9_-] (PROTOCOL.md 6, Idempotency). From
// crypto.randomUUID where the page is a secure context, else from crypto.getRandomValues (which
// plain-http pages on a local network also have).
export function newClientMsgId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') {
    return c.randomUUID().replaceAll('-', '');
  }
  const bytes = new Uint8Array(24);
  c.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
}

export const CLIENT_MSG_ID = /^[A-Za-z0-9_-]{1,64}$/;
