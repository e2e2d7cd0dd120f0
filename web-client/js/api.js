// The HTTP API (proto/API.md). Every call resolves, never rejects: {ok, status, data, error}
// where error is the API's stable code ("not_found", "store_unavailable", ...) or "network" when
// the server could not be reached at all. Pages turn these into calm sentences.

const TIMEOUT_MS = 15000;

async function call(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), TIMEOUT_MS) : null;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: controller ? controller.signal : undefined,
    });
  } catch {
    return { ok: false, status: 0, data: null, error: 'network' };
  } finally {
    if (timer) clearTimeout(timer);
  }
  let data = null;
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  const error = response.ok ? null : (data && typeof data.error === 'string' ? data.error : `http_${response.status}`);
  return {
    ok: response.ok,
    status: response.status,
    data,
    error,
    retryAfter: Number(response.headers.get('retry-after')) || null,
  };
}

export const getJSON = (path, opts) => call('GET', path, opts);
export const postJSON = (path, body, opts = {}) => call('POST', path, { ...opts, body });

// Paths of the directory endpoints; slugs are checked before they get here.
export const paths = {
  meetings: (query = '') => `/api/meetings${query ? `?${query}` : ''}`,
  meeting: (slug) => `/api/meetings/${slug}`,
  ics: (slug) => `/api/meetings/${slug}.ics`,
  meetingTypes: () => '/api/meeting-types',
  login: () => '/api/login',
  logout: () => '/api/logout',
  me: () => '/api/me',
};
