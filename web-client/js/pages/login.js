// Chair login and logout (POST /api/login, /api/logout; proto/API.md). The token is kept in
// localStorage; a logged-in chair's hello uses it and gets the chair's role in the meeting.

import * as account from '../account.js';
import { setTitle } from '../chrome.js';
import { clear, field, h } from '../dom.js';
import { focusHeading } from '../router.js';

const ROLE_NAMES = { chair: 'chair', 'co-chair': 'co-chair', greeter: 'greeter' };

function errorSentence(r) {
  if (r.error === 'invalid_credentials') return 'That user name and password do not match. Please try again.';
  if (r.error === 'rate_limited') {
    const s = r.retryAfter || (r.data && r.data.retry_after_s) || 60;
    const minutes = Math.ceil(s / 60);
    return `Too many attempts. Please wait ${s < 120 ? `${s} seconds` : `${minutes} minutes`} and try again.`;
  }
  if (r.error === 'store_unavailable') return 'Logins cannot be checked just now. Please try again in a minute.';
  if (r.error === 'network') return 'The server cannot be reached. Please check your connection and try again.';
  if (r.error === 'bad_field') return 'Please enter a user name and a password.';
  return 'Logging in did not work just now. Please try again.';
}

export function loginPage(container) {
  setTitle('Chair login');
  let disposed = false;
  const body = h('div', { class: 'page page-login' });
  container.append(body);

  function drawLoggedIn(a, me, { refresh = false } = {}) {
    const hadFocus = refresh && document.activeElement && body.contains(document.activeElement)
      ? document.activeElement.id : null;
    clear(body);
    setTitle('Chair account');
    const roles = me && Array.isArray(me.roles) ? me.roles : [];
    const status = h('p', { class: 'form-status', role: 'status', id: 'logout-status' });
    body.append(
      h('h1', { text: 'Chair account' }),
      h('p', {}, 'You are logged in as ', h('strong', { text: a.username }), a.admin ? ' (an administrator).' : '.'),
      roles.length
        ? h('div', {},
          h('p', { text: 'Your roles:' }),
          h('ul', {}, roles.map((r) => h('li', {},
            h('a', { href: `#/m/${r.meeting}`, text: r.meeting }),
            `: ${ROLE_NAMES[r.role] || r.role}`))))
        : h('p', { class: 'muted', text: 'You have no chair role in any meeting yet.' }),
      h('p', { text: 'When you join a meeting from this browser, you join with your role in it.' }),
      h('p', { class: 'form-actions' },
        h('button', {
          type: 'button', class: 'button primary', id: 'logout-button', text: 'Log out',
          on: {
            click: async (e) => {
              e.target.disabled = true;
              status.textContent = 'Logging out…';
              const r = await account.logout();
              if (disposed) return;
              if (r.ok) {
                drawForm('You are logged out.');
              } else {
                e.target.disabled = false;
                status.textContent = r.error === 'network'
                  ? 'The server cannot be reached, so you are still logged in. Please try again.'
                  : 'Logging out did not work just now. Please try again.';
              }
            },
          },
        })),
      status);
    if (!refresh) focusHeading(container);
    else if (hadFocus && document.getElementById(hadFocus)) document.getElementById(hadFocus).focus();
    else if (!body.contains(document.activeElement)) focusHeading(container);
  }

  function drawForm(message) {
    clear(body);
    setTitle('Chair login');
    const user = field({
      id: 'login-username', label: 'User name',
      input: h('input', { type: 'text', name: 'username', autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false', required: true }),
    });
    const pass = field({
      id: 'login-password', label: 'Password',
      input: h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }),
    });
    const status = h('p', { class: 'form-status', role: 'status', id: 'login-status', text: message || '' });
    const errorBox = h('p', { class: 'form-error', id: 'login-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'button primary', text: 'Log in' });
    const form = h('form', {
      class: 'login-form', noValidate: true,
      on: {
        submit: async (e) => {
          e.preventDefault();
          errorBox.hidden = true;
          user.setError('');
          pass.setError('');
          const username = user.input.value.trim();
          const password = pass.input.value;
          if (!username) {
            user.setError('Please enter your user name.');
            user.input.focus();
            return;
          }
          if (!password) {
            pass.setError('Please enter your password.');
            pass.input.focus();
            return;
          }
          submit.disabled = true;
          status.textContent = 'Logging in…';
          const r = await account.login(username, password);
          if (disposed) return;
          submit.disabled = false;
          status.textContent = '';
          if (r.ok) {
            const a = account.current();
            drawLoggedIn(a, await account.me());
            return;
          }
          errorBox.textContent = errorSentence(r);
          errorBox.hidden = false;
          pass.input.value = '';
          pass.input.focus();
        },
      },
    }, user.wrap, pass.wrap, errorBox, h('p', { class: 'form-actions' }, submit), status);
    body.append(
      h('h1', { text: 'Chair login' }),
      h('p', { class: 'lead', text: 'For chairs, co-chairs and greeters with an account on this server. Attendees do not need to log in.' }),
      form);
    focusHeading(container);
  }

  const a = account.current();
  if (a) {
    drawLoggedIn(a, null);
    account.me().then((me) => {
      if (disposed) return;
      const still = account.current();
      if (still) drawLoggedIn(still, me, { refresh: true });
      else drawForm('Your login has ended. Please log in again.');
    });
  } else {
    drawForm();
  }
  return () => {
    disposed = true;
  };
}
