// End to end, in Debian's chromium against the real havend and PostgreSQL: people join a
// meeting, chat, react, lose the connection, write while offline, reload, and come back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NAME_MESSAGES, checkName } from '../../web-client/js/names.js';
import {
  axe, countText, formatViolations, joinMeeting, launch, messageTexts, newPerson, screenshot,
  waitForText,
} from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';

const SLUG = 'tuesday-hope';
const T = { timeout: 90000 };

let stack;
let browser;
const people = [];

async function person(opts) {
  const p = await newPerson(browser, stack.url, opts);
  people.push(p);
  return p;
}

async function send(page, text) {
  await page.fill('#composer-text', text);
  await page.press('#composer-text', 'Enter');
}

async function deliveryOf(page, text) {
  return page.$$eval('#messages li.msg.own, #pending li.msg', (els, t) => {
    const li = els.find((e) => e.querySelector('.msg-text')?.textContent === t);
    return li ? li.querySelector('.delivery')?.textContent : null;
  }, text);
}

async function waitDelivered(page, text, timeout = 30000) {
  await page.waitForFunction((t) => {
    const li = [...document.querySelectorAll('#messages li.msg.own')]
      .find((e) => e.querySelector('.msg-text')?.textContent === t);
    return li && li.querySelector('.delivery')?.textContent === 'Delivered';
  }, text, { timeout });
}

before(async () => {
  stack = await startStack();
  browser = await launch();
});

after(async () => {
  for (const p of people) await p.context.close().catch(() => {});
  if (browser) await browser.close();
  if (stack) await stack.close();
});

describe('the meeting room', () => {
  let jo;
  let river;

  it('two people chat and see the same messages in the same order, with delivered marks', T, async () => {
    jo = await person({ viewport: { width: 1280, height: 900 }, wsGate: true });
    river = await person({ viewport: { width: 360, height: 740 } });
    await joinMeeting(jo.page, SLUG, 'Jo');
    await joinMeeting(river.page, SLUG, 'River');
    await jo.page.waitForSelector('#member-list li:has-text("River")');

    const texts = [];
    for (let i = 1; i <= 3; i++) {
      texts.push(`Jo ${i}: glad to be here.`, `River ${i}: me too.`);
      await send(jo.page, `Jo ${i}: glad to be here.`);
      await send(river.page, `River ${i}: me too.`);
    }
    for (const t of texts) {
      assert.equal(await waitForText(jo.page, t), 1);
      assert.equal(await waitForText(river.page, t), 1);
    }
    const a = await messageTexts(jo.page);
    const b = await messageTexts(river.page);
    assert.deepEqual(a, b, 'the same order on both pages');
    assert.deepEqual([...a].sort(), [...texts].sort());
    for (let i = 1; i <= 3; i++) {
      await waitDelivered(jo.page, `Jo ${i}: glad to be here.`);
      await waitDelivered(river.page, `River ${i}: me too.`);
    }
    // Seq order is the page order.
    const seqs = await jo.page.$$eval('#messages li.msg', (els) => els.map((e) => Number(e.dataset.seq)));
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.deepEqual(jo.problems, []);
    assert.deepEqual(river.problems, []);
  });

  it('user text is shown as text, never as markup', T, async () => {
    const evil = '<img src=x onerror="document.title=\'pwned\'"> <b>bold?</b> & "quotes"';
    await send(jo.page, evil);
    assert.equal(await waitForText(river.page, evil), 1);
    assert.equal(await river.page.$$eval('#messages img, #messages b', (els) => els.length), 0);
    assert.notEqual(await river.page.title(), 'pwned');
  });

  it('reactions reach everyone, once per person and reaction', T, async () => {
    const target = 'Jo 1: glad to be here.';
    const li = river.page.locator('#messages li.msg', { hasText: target });
    await li.locator('.react-toggle').click();
    await li.locator('.reaction[data-reaction="hug"]').click();
    const joLi = jo.page.locator('#messages li.msg', { hasText: target });
    await joLi.locator('.reaction-summary', { hasText: 'Hug: 1' }).waitFor({ timeout: 15000 });
    await li.locator('.react-toggle').click();
    assert.equal(await li.locator('.reaction[data-reaction="hug"]').getAttribute('aria-pressed'), 'true');
    assert.ok(await li.locator('.reaction[data-reaction="hug"]').isDisabled());
    await li.locator('.react-toggle').click();
  });

  it('the room passes axe and is screenshotted at phone and desktop width', T, async () => {
    const violations = [...await axe(jo.page), ...await axe(river.page)];
    assert.deepEqual(violations, [], formatViolations(violations));
    await screenshot(jo.page, 'room-1280', { at: 'end' });
    await screenshot(river.page, 'room-360', { at: 'end' });
    for (const p of [jo.page, river.page]) {
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no sideways scrolling (${overflow} px)`);
    }
  });

  it('a reconnect in the middle: a message typed while offline arrives exactly once', T, async () => {
    await stack.stop();
    const offline = 'Typed while the server was away.';
    try {
      await jo.page.waitForSelector('#banner-offline:not([hidden])', { timeout: 15000 });
      await river.page.waitForSelector('#banner-offline:not([hidden])', { timeout: 15000 });
      await send(jo.page, offline);
      await jo.page.waitForSelector('#pending li.msg .delivery:text-is("Waiting for the connection…")');
      await screenshot(jo.page, 'room-offline-1280', { at: 'end' });
      assert.equal(await countText(jo.page, offline), 1);
    } finally {
      await stack.start();
    }
    assert.equal(await waitForText(river.page, offline, 45000), 1);
    await waitDelivered(jo.page, offline, 45000);
    await jo.page.waitForSelector('#banner-offline', { state: 'hidden' });
    assert.equal(await countText(jo.page, offline), 1);
    assert.equal(await countText(river.page, offline), 1);
    // Chat goes on, in the same order for both.
    await send(river.page, 'Welcome back.');
    await waitForText(jo.page, 'Welcome back.');
    assert.deepEqual(await messageTexts(jo.page), await messageTexts(river.page));

    // Someone who comes in now sees it once: it was stored once.
    const sam = await person({ viewport: { width: 1280, height: 900 } });
    await joinMeeting(sam.page, SLUG, 'Sam');
    assert.equal(await waitForText(sam.page, offline), 1);
    assert.deepEqual(await messageTexts(sam.page), await messageTexts(jo.page));
    await sam.context.close();
  });

  it('what is typed survives a page reload, sent or not', T, async () => {
    // The page can load, but its WebSocket cannot get through (as on a flaky network): every
    // new connection is refused, then the server restarts to drop the open ones.
    jo.gate.open = false;
    await stack.stop();
    await stack.start();
    try {
      await offlineAndReload();
    } finally {
      jo.gate.open = true;
    }
    // "Reconnect now", unless the page already got back by itself.
    await jo.page.locator('#banner-offline button').click({ timeout: 2000 }).catch(() => {});
    const queued = 'Written offline, then the page reloaded.';
    assert.equal(await waitForText(river.page, queued, 45000), 1);
    await waitDelivered(jo.page, queued, 45000);
    assert.equal(await countText(jo.page, queued), 1);
    assert.equal(await countText(river.page, queued), 1);
    const outbox = await jo.page.evaluate(() => localStorage.getItem('haven.outbox.tuesday-hope'));
    assert.equal(outbox, null, 'the outbox is empty once everything is acknowledged');
    await jo.page.fill('#composer-text', '');
  });

  async function offlineAndReload() {
    await jo.page.waitForSelector('#banner-offline:not([hidden])', { timeout: 15000 });
    const queued = 'Written offline, then the page reloaded.';
    await send(jo.page, queued);
    await jo.page.fill('#composer-text', 'A draft not sent yet');
    await jo.page.waitForTimeout(500); // the draft is saved after a short pause
    await jo.page.reload();
    await jo.page.waitForSelector(`#pending li.msg .msg-text:text-is("${queued}")`);
    assert.equal(await jo.page.inputValue('#composer-text'), 'A draft not sent yet');
    assert.equal(await countText(river.page, queued), 0);
    await jo.page.waitForSelector('#banner-offline:not([hidden])', { timeout: 15000 });
  }

  it('shows when delivery is paused and delivers afterwards', T, async () => {
    await stack.pgStop();
    try {
      // The server notices that the database is gone when it next needs it.
      const paused = 'Sent while the records were away.';
      await send(jo.page, paused);
      await jo.page.waitForSelector('#banner-paused:not([hidden])', { timeout: 30000 });
      const text = await jo.page.textContent('#banner-paused');
      assert.match(text, /Delivery paused: your messages will be sent when the connection to the meeting's records is back/);
      await send(jo.page, 'A second one while paused.');
      await jo.page.waitForSelector('#pending li.msg .delivery:text-is("Waiting: delivery paused")');
      await screenshot(jo.page, 'room-paused-1280', { at: 'end' });
    } finally {
      await stack.pgStart();
    }
    const paused = 'A second one while paused.';
    assert.equal(await waitForText(river.page, paused, 45000), 1);
    await waitDelivered(jo.page, paused, 45000);
    await jo.page.waitForSelector('#banner-paused', { state: 'hidden', timeout: 20000 });
  });

  it('leave closes the room and says goodbye', T, async () => {
    await river.page.click('button.leave');
    await river.page.waitForSelector('h1:text-is("You have left the meeting")');
    await jo.page.waitForFunction(() => ![...document.querySelectorAll('#member-list .member-name')]
      .some((e) => e.textContent === 'River'), null, { timeout: 15000 });
  });
});

describe('names, roles and visitors', () => {
  it('the client checks names by the server\'s rules', T, async () => {
    const p = await person();
    await p.page.goto('/#/');
    const names = [
      'Sam', '  Sam R.  ', 'Mom of K', '', '   ', 'a'.repeat(32), 'a'.repeat(33), 'é'.repeat(33),
      'Sam\u200bR', 'x\u202ey', 'Chair', 'c.h.a.i.r', 'Adm1n', 'Co-Chair', 'Sam the host', '\u0421hair',
      'HAVEN', '0fficial', 'Mod', 'Modest Mouse', 'Chairman', 'Samantha Rivera', 'St@ff', 's y s t e m',
    ];
    const server = await p.page.evaluate(async (list) => {
      const out = [];
      for (const name of list) {
        out.push(await new Promise((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/ws/tuesday-hope`, 'haven.v1');
          ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', id: 1, name }));
          ws.onmessage = (m) => {
            const f = JSON.parse(m.data);
            ws.close();
            if (f.type === 'welcome') resolve({ code: null, fullName: f.warnings.some((w) => w.code === 'full_name') });
            else resolve({ code: f.code, fullName: false });
          };
          ws.onerror = () => resolve({ code: 'socket_error' });
        }));
      }
      return out;
    }, names);
    names.forEach((name, i) => {
      const mine = checkName(name);
      assert.equal(mine.code, server[i].code, `code for ${JSON.stringify(name)}`);
      assert.equal(mine.fullName, server[i].fullName, `full_name for ${JSON.stringify(name)}`);
    });
    await p.context.close();
  });

  it('name errors are plain sentences; a full name is questioned gently', T, async () => {
    const p = await person({ viewport: { width: 360, height: 740 } });
    await p.page.goto(`/#/m/${SLUG}`);
    await p.page.fill('#join-name', 'C.h.a.i.r');
    await p.page.click('.join-form button[type=submit]');
    assert.equal(await p.page.textContent('#join-name-error'), NAME_MESSAGES.name_reserved);
    assert.equal(await p.page.getAttribute('#join-name', 'aria-invalid'), 'true');
    assert.equal(await p.page.evaluate(() => document.activeElement.id), 'join-name');
    await p.page.fill('#join-name', '');
    await p.page.click('.join-form button[type=submit]');
    assert.equal(await p.page.textContent('#join-name-error'), NAME_MESSAGES.name_empty);
    await p.page.fill('#join-name', 'x'.repeat(40));
    await p.page.click('.join-form button[type=submit]');
    assert.equal(await p.page.textContent('#join-name-error'), NAME_MESSAGES.name_too_long);
    await screenshot(p.page, 'join-error-360');

    await p.page.fill('#join-name', 'Samantha Rivera');
    await p.page.click('.join-form button[type=submit]');
    await p.page.waitForSelector('#full-name-note:not([hidden])');
    assert.equal(await p.page.textContent('#full-name-note p'), NAME_MESSAGES.full_name);
    assert.ok(p.page.url().endsWith(`#/m/${SLUG}`), 'still on the join page');
    await screenshot(p.page, 'join-full-name-360');
    const violations = await axe(p.page);
    assert.deepEqual(violations, [], formatViolations(violations));
    await p.page.click('#full-name-note button:text-is("Keep this name")');
    await p.page.waitForSelector('#conn-state:text-is("Connected")');
    assert.equal(await p.page.$('#banner-fullname'), null, 'not asked twice');
    await p.page.click('button.leave');
    await p.context.close();
  });

  it('the server\'s name code wins when it refuses a name', T, async () => {
    const p = await person();
    await p.page.goto('/#/');
    // As if the page's own check had let it through: go to the room with a reserved name.
    await p.page.evaluate((slug) => {
      sessionStorage.setItem(`haven.join.${slug}`, JSON.stringify({ name: 'Administrator', visitor: false }));
      location.hash = `#/m/${slug}/room`;
    }, SLUG);
    await p.page.waitForSelector('#join-name-error:not([hidden])', { timeout: 15000 });
    assert.equal(await p.page.textContent('#join-name-error'), NAME_MESSAGES.name_reserved);
    await p.context.close();
  });

  it('a chair logs in, joins with the chair role, and logs out; others wait for the chair', T, async () => {
    assert.ok(stack.chair, 'the test chair account exists');
    const chairSlug = stack.chair.meeting;
    const chair = await person();
    const guest = await person({ viewport: { width: 360, height: 740 } });
    await chair.page.goto('/#/login');
    await chair.page.fill('#login-username', stack.chair.username);
    await chair.page.fill('#login-password', 'wrong password');
    await chair.page.click('.login-form button[type=submit]');
    await chair.page.waitForSelector('#login-error:not([hidden])');
    assert.match(await chair.page.textContent('#login-error'), /do not match/);
    await chair.page.fill('#login-password', stack.chair.password);
    await chair.page.click('.login-form button[type=submit]');
    await chair.page.waitForSelector('#logout-button');
    assert.match(await chair.page.textContent('main'), new RegExp(`logged in as ${stack.chair.username}`));
    await chair.page.waitForSelector(`main a:text-is("${chairSlug}")`);
    assert.equal(await chair.page.textContent('#nav-login'), `Chair: ${stack.chair.username}`);
    await screenshot(chair.page, 'login-logged-in-1280');
    const v1 = await axe(chair.page);
    assert.deepEqual(v1, [], formatViolations(v1));

    await joinMeeting(chair.page, chairSlug, 'Lee');
    const badge = chair.page.locator('#member-list li', { hasText: 'Lee' }).locator('.role-badge');
    await badge.waitFor();
    assert.equal(await badge.textContent(), 'Chair');

    // The chair has not opened the session: an attendee waits.
    await guest.page.goto(`/#/m/${chairSlug}`);
    await guest.page.fill('#join-name', 'Dee');
    await guest.page.click('.join-form button[type=submit]');
    await guest.page.waitForSelector('#waiting-room:not([hidden])', { timeout: 15000 });
    assert.equal(await guest.page.textContent('#conn-state'), 'In the waiting room');
    assert.ok(await guest.page.isHidden('#composer'));
    await screenshot(guest.page, 'room-waiting-360', { at: 'end' });
    const v2 = await axe(guest.page);
    assert.deepEqual(v2, [], formatViolations(v2));

    await chair.page.click('button.leave');
    await chair.page.goto('/#/login');
    await chair.page.click('#logout-button');
    await chair.page.waitForSelector('#login-username');
    assert.equal(await chair.page.evaluate(() => localStorage.getItem('haven.account')), null);
    assert.equal(await chair.page.textContent('#nav-login'), 'Chair login');
  });

  it('visitors listen and react, and others see them as visitors', T, async () => {
    const sam = await person();
    const dee = await person({ viewport: { width: 360, height: 740 } });
    await joinMeeting(sam.page, SLUG, 'Sam');
    await joinMeeting(dee.page, SLUG, 'Dee', { visitor: true });
    const visitorBadge = sam.page.locator('#member-list li', { hasText: 'Dee' }).locator('.role-badge');
    await visitorBadge.waitFor({ timeout: 15000 });
    assert.equal(await visitorBadge.textContent(), 'Visitor');
    assert.ok(await dee.page.isHidden('#composer'), 'visitors do not get a composer');
    assert.ok(await dee.page.isVisible('#visitor-note'));
    await send(sam.page, 'Welcome to our visitors.');
    await waitForText(dee.page, 'Welcome to our visitors.');
    const li = dee.page.locator('#messages li.msg', { hasText: 'Welcome to our visitors.' });
    await li.locator('.react-toggle').click();
    await li.locator('.reaction[data-reaction="thanks"]').click();
    await sam.page.locator('#messages li.msg', { hasText: 'Welcome to our visitors.' })
      .locator('.reaction-summary', { hasText: 'Thanks: 1' }).waitFor({ timeout: 15000 });
    await screenshot(dee.page, 'room-visitor-360', { at: 'end' });
    await sam.page.click('button.leave');
    await dee.page.click('button.leave');
  });

  it('a meeting that does not exist says so and does not reconnect', T, async () => {
    const p = await person();
    await p.page.goto('/#/m/no-such-meeting');
    await p.page.fill('#join-name', 'Sam');
    await p.page.click('.join-form button[type=submit]');
    await p.page.waitForSelector('h1:text-is("There is no meeting at this address")', { timeout: 15000 });
    const violations = await axe(p.page);
    assert.deepEqual(violations, [], formatViolations(violations));
  });
});
