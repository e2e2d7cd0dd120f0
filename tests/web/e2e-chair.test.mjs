// End to end, in Debian's chromium against the real havend and PostgreSQL: a chair and three
// attendees, each in a browser context of their own, go through a whole meeting with the chair
// panel (waiting room, start, readings, topic, shares with a short timer, a deleted message,
// reports and a call for help, a reconnect with a message typed offline, mute, removal, end);
// then a reader logs in, opens the transcript, searches it and exports it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import {
  axe, countText, formatViolations, joinMeeting, launch, messageTexts, newPerson, screenshot,
  waitForText,
} from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';

const SLUG = 'wednesday-circle';
const T = { timeout: 60000 };
const READINGS = [
  { title: 'Welcome', text: 'Welcome to the Wednesday Circle. This is a place to share honestly.' },
  { title: 'Just for today', text: 'Just for today my thoughts will be on my own recovery.' },
];
const DELETED = 'Buy cheap pills at the link in my profile';
const SHARE = 'Grateful for ninety days clean today.';
const OFFLINE = 'Typed by Ben while his connection was down.';

let stack;
let browser;
const people = [];

async function person(opts) {
  const p = await newPerson(browser, stack.url, opts);
  people.push(p);
  return p;
}

async function checkAxe(page, what) {
  const v = await axe(page);
  assert.deepEqual(v, [], `${what}: ${formatViolations(v)}`);
}

async function noSideways(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what}: no sideways scrolling (${overflow} px)`);
}

async function send(page, text) {
  await page.fill('#composer-text', text);
  await page.press('#composer-text', 'Enter');
}

// Join and land in the waiting room (the session is chaired and not started).
async function joinToWait(page, name) {
  await page.goto(`/#/m/${SLUG}`);
  await page.fill('#join-name', name);
  await page.click('.join-form button[type=submit]');
  await page.waitForSelector('#waiting-room:not([hidden])', { timeout: 15000 });
}

// The panel's answer to the last request in one of its cards.
async function panelStatus(page, card, pattern) {
  await page.waitForFunction(([id, src]) => new RegExp(src).test(document.getElementById(`${id}-status`)?.textContent || ''),
    [card, pattern.source], { timeout: 15000 });
  return page.textContent(`#${card}-status`);
}

before(async () => {
  stack = await startStack();
  browser = await launch();
  assert.ok(stack.chair, 'the test chair account exists');
  await stack.addMeeting({
    slug: SLUG,
    name: 'Wednesday Circle',
    description: 'A discussion meeting with readings.',
    language: 'en',
    time_zone: 'America/Chicago',
    days: [3],
    start_time: '19:00',
    types: ['O', 'D', 'POA'],
    record_transcripts: true,
    transcript_readers: 'chairs',
    retention_days: 30,
    share_time_limit_secs: 300,
    format: READINGS,
  });
  await stack.grant(SLUG, 'chair');
});

after(async () => {
  for (const p of people) await p.context.close().catch(() => {});
  if (browser) await browser.close();
  if (stack) await stack.close();
});

describe('a whole meeting, chaired from the panel, then read back', () => {
  let chair;
  let ana;
  let ben;
  let cy;
  let benWs = null; // Ben's WebSocket, as the test's router holds it
  const benGate = { open: true };

  it('the chair logs in and sees the chair panel; attendees wait and are let in', T, async () => {
    chair = await person({ viewport: { width: 1280, height: 900 } });
    await chair.page.goto('/#/login');
    await chair.page.fill('#login-username', stack.chair.username);
    await chair.page.fill('#login-password', stack.chair.password);
    await chair.page.click('.login-form button[type=submit]');
    await chair.page.waitForSelector('#logout-button');
    await joinMeeting(chair.page, SLUG, 'Lee');
    await chair.page.waitForSelector('#chair-panel:not([hidden])');
    assert.equal(await chair.page.textContent('#chair-panel-title'), 'Chair panel');
    assert.ok(await chair.page.isVisible('#chair-start'), 'the chair may start the session');

    ana = await person({ viewport: { width: 360, height: 740 } });
    ben = await person({ viewport: { width: 1280, height: 900 } });
    // Ben's connection can be cut from here: the router passes it on while the gate is open.
    await ben.context.routeWebSocket(/\/ws\//, (ws) => {
      if (!benGate.open) {
        ws.close({ code: 4000, reason: 'offline for the test' });
        return;
      }
      benWs = ws;
      ws.connectToServer();
    });
    cy = await person({ viewport: { width: 1280, height: 900 } });
    await joinToWait(ana.page, 'Ana');
    await joinToWait(ben.page, 'Ben');
    await joinToWait(cy.page, 'Cy');
    // Attendees do not get the panel.
    assert.equal(await ana.page.isVisible('#chair-panel'), false);

    await chair.page.waitForFunction(() => document.querySelectorAll('#chair-waiting-list .waiting-person').length === 3, null, { timeout: 15000 });
    assert.match(await chair.page.textContent('#chair-waiting-title'), /Waiting room \(3\)/);
    await checkAxe(chair.page, 'chair panel with people waiting');
    await screenshot(chair.page, 'chair-panel-waiting-1280');

    // A greeter's welcome: a private word to someone waiting, and their reply.
    const cyWaiting = chair.page.locator('#chair-waiting-list .waiting-person', { hasText: 'Cy' });
    await cyWaiting.locator('summary', { hasText: 'Write to Cy' }).click();
    await cyWaiting.locator('textarea').fill('Welcome, Cy. We start in a minute.');
    await cyWaiting.locator('button', { hasText: 'Send' }).click();
    await panelStatus(chair.page, 'chair-waiting', /Sent to Cy/);
    const note = cy.page.locator('.direct-message', { hasText: 'Welcome, Cy. We start in a minute.' });
    await note.waitFor({ timeout: 15000 });
    await note.locator('input[type=text]').fill('Thank you!');
    await note.locator('button', { hasText: 'Send' }).click();
    await chair.page.locator('.direct-message', { hasText: 'Thank you!' }).waitFor({ timeout: 15000 });
    await checkAxe(cy.page, 'the waiting room with a private welcome');

    // One by one, then everyone; keyboard only for the first.
    await chair.page.locator('button', { hasText: 'Admit Ana' }).focus();
    await chair.page.keyboard.press('Enter');
    await ana.page.waitForSelector('#conn-state:text-is("Connected")', { timeout: 15000 });
    await panelStatus(chair.page, 'chair-waiting', /Ana was let in/);
    await chair.page.click('#chair-admit-all');
    for (const p of [ben, cy]) await p.page.waitForSelector('#conn-state:text-is("Connected")', { timeout: 15000 });
    await chair.page.waitForFunction(() => /\(0\)/.test(document.getElementById('chair-waiting-title').textContent));
    assert.equal(await ana.page.isVisible('#chair-panel'), false, 'still no panel for an attendee');
  });

  it('the chair starts the session, posts the readings and sets the topic; refusals show the server\'s words', T, async () => {
    await chair.page.click('#chair-start');
    await panelStatus(chair.page, 'chair-session', /The meeting is open/);
    await chair.page.waitForSelector('#chair-start', { state: 'hidden' });
    for (const p of [ana, ben, cy]) await p.page.waitForSelector('#messages .sys-session_started');

    await chair.page.click('#chair-reading-next');
    await panelStatus(chair.page, 'chair-format', /Posted the next reading/);
    await chair.page.click('#chair-reading-next');
    for (const p of [ana, ben, cy]) {
      await p.page.waitForFunction((n) => document.querySelectorAll('#messages .sys-reading').length === n, 2);
    }
    assert.deepEqual(await cy.page.$$eval('#messages .sys-reading .reading-title', (els) => els.map((e) => e.textContent)),
      READINGS.map((r) => r.title));
    assert.equal(await cy.page.textContent('#messages .sys-reading .reading-text'), READINGS[0].text);
    // There is no third reading: the server refuses, and the panel says what it said.
    await chair.page.click('#chair-reading-skip');
    const refused = await panelStatus(chair.page, 'chair-format', /^Refused: /);
    assert.ok(refused.length > 'Refused: '.length + 3, `the server's message is shown: ${refused}`);
    assert.match(await chair.page.getAttribute('#chair-format-status', 'class'), /is-error/);

    await chair.page.fill('#chair-topic', 'Gratitude');
    await chair.page.press('#chair-topic', 'Enter');
    for (const p of [ana, ben, cy]) await p.page.waitForSelector('.topic:text-is("Topic: Gratitude")');
  });

  it('hands are raised and called; a short share timer runs out with its warning and time-up', T, async () => {
    // A short limit that ends the share by itself.
    await chair.page.fill('#chair-set-share_limit_secs', '4');
    await chair.page.press('#chair-set-share_limit_secs', 'Enter');
    await panelStatus(chair.page, 'chair-shares', /Share time limit/);
    await chair.page.check('#chair-set-end_share_at_limit');
    await panelStatus(chair.page, 'chair-shares', /End a share when its time is up: on/);

    await ana.page.click('#hand-button');
    await ana.page.waitForSelector('#hand-button[aria-pressed="true"]');
    await ben.page.click('#hand-button');
    await chair.page.waitForFunction(() => document.querySelectorAll('#chair-queue button').length === 2);
    assert.match(await cy.page.textContent('#queue-line'), /Ana, Ben/);

    await chair.page.click('#chair-call-next');
    await ana.page.waitForSelector('#share-status:has-text("You are sharing")');
    await ana.page.waitForSelector('#share-done:not([hidden])');
    const seen = await cy.page.textContent('#share-status');
    assert.match(seen, /^Ana is sharing · (\d:\d\d left of 0:04|time is up)/);
    assert.match(await chair.page.textContent('#chair-share-now'), /Ana is sharing/);
    await send(ana.page, SHARE);
    for (const p of [chair, ben, cy]) assert.equal(await waitForText(p.page, SHARE), 1);
    // The server's timer: a warning halfway, time up at the limit, then the share ends.
    for (const p of [ana, cy]) {
      await p.page.waitForSelector('#messages .sys-share_time_warning', { timeout: 15000 });
      await p.page.waitForSelector('#messages .sys-share_time_up', { timeout: 15000 });
      await p.page.waitForSelector('#messages .sys-share_ended', { timeout: 15000 });
    }
    assert.match(await cy.page.textContent('#messages .sys-share_time_warning'), /left in Ana's share/);
    assert.match(await cy.page.textContent('#messages .sys-share_ended'), /time was up/);
    await screenshot(ana.page, 'room-share-360', { at: 'end' });

    // Ben is called by name from the queue, and ends his share himself with [done].
    await chair.page.click('#chair-set-share_limit_secs');
    await chair.page.fill('#chair-set-share_limit_secs', '120');
    await chair.page.press('#chair-set-share_limit_secs', 'Enter');
    await panelStatus(chair.page, 'chair-shares', /Share time limit \(seconds\): 120/);
    await chair.page.locator('#chair-queue button', { hasText: 'Call Ben' }).click();
    await ben.page.waitForSelector('#share-status:has-text("You are sharing")');
    await send(ben.page, 'Thank you all for being here. [done]');
    await cy.page.waitForFunction(() => [...document.querySelectorAll('#messages .sys-share_ended')].some((e) => /Ben finished sharing\./.test(e.textContent)));
    await cy.page.waitForSelector('#share-status:text-is("Nobody is sharing right now.")');
  });

  it('a message deleted by the chair disappears from every attendee\'s page', T, async () => {
    await send(cy.page, DELETED);
    for (const p of [chair, ana, ben]) assert.equal(await waitForText(p.page, DELETED), 1);
    const li = chair.page.locator('#messages li.msg', { hasText: DELETED });
    await li.locator('.msg-delete').click();
    await li.locator('button', { hasText: 'Delete for everyone' }).click();
    for (const p of [chair, ana, ben, cy]) {
      await p.page.waitForFunction((t) => !document.body.textContent.includes(t), DELETED, { timeout: 15000 });
      await p.page.waitForSelector('#messages .msg-removed:text-is("(removed by a chair)")');
    }
    // Attendees cannot delete other people's messages: the control is not offered.
    const shareLi = cy.page.locator('#messages li.msg', { hasText: SHARE });
    assert.equal(await shareLi.locator('.msg-delete').isVisible(), false);
  });

  it('reports and calls for help reach the chair\'s inbox, and only the chairs', T, async () => {
    const li = ana.page.locator('#messages li.msg', { hasText: 'Thank you all for being here.' });
    await li.locator('.msg-report').click();
    await li.locator('input[type=text]').fill('Testing the report button.');
    await li.locator('button', { hasText: 'Send report' }).click();
    await ben.page.click('#help-button');
    await ben.page.waitForSelector('#help-status:has-text("The chairs know you need help")');
    await chair.page.waitForFunction(() => document.querySelectorAll('#chair-inbox-list .inbox-item').length === 2);
    assert.match(await chair.page.textContent('#chair-inbox-list .inbox-help'), /Needs help: Ben/);
    assert.match(await chair.page.textContent('#chair-inbox-list .inbox-report'), /Report: Ana.*Testing the report button\./s);
    assert.match(await chair.page.textContent('#chair-inbox-badge'), /2 new/);
    assert.equal(await cy.page.locator('text=Testing the report button.').count(), 0);
    await checkAxe(chair.page, 'chair panel with its inbox');
    await screenshot(chair.page, 'chair-panel-1280');
    // The panel at phone width and at 200% zoom: no sideways scrolling, still accessible.
    await chair.page.setViewportSize({ width: 360, height: 740 });
    await noSideways(chair.page, 'chair panel at 360 px');
    await checkAxe(chair.page, 'chair panel at 360 px');
    await screenshot(chair.page, 'chair-panel-360');
    await chair.page.setViewportSize({ width: 640, height: 450 }); // 1280x900 at 200%
    await noSideways(chair.page, 'chair panel at 200% zoom');
    await chair.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('a reconnect in the middle: Ben\'s message typed offline arrives exactly once', T, async () => {
    benGate.open = false;
    assert.ok(benWs, 'Ben is connected through the test router');
    await benWs.close({ code: 4000, reason: 'offline for the test' });
    await ben.page.waitForSelector('#banner-offline:not([hidden])', { timeout: 15000 });
    await send(ben.page, OFFLINE);
    await ben.page.waitForSelector('#pending li.msg .delivery:text-is("Waiting for the connection…")');
    // Meanwhile the meeting goes on.
    await send(ana.page, 'Said while Ben was away.');
    await waitForText(cy.page, 'Said while Ben was away.');
    benGate.open = true;
    await ben.page.locator('#banner-offline button').click({ timeout: 5000 }).catch(() => {});
    for (const p of [chair, ana, cy]) assert.equal(await waitForText(p.page, OFFLINE, 30000), 1);
    await ben.page.waitForFunction((t) => {
      const li = [...document.querySelectorAll('#messages li.msg.own')].find((e) => e.querySelector('.msg-text')?.textContent === t);
      return li && li.querySelector('.delivery')?.textContent === 'Delivered';
    }, OFFLINE, { timeout: 30000 });
    assert.equal(await countText(ben.page, OFFLINE), 1);
    assert.equal(await waitForText(ben.page, 'Said while Ben was away.'), 1);
    assert.deepEqual(await messageTexts(ben.page), await messageTexts(ana.page), 'the same conversation after the reconnect');
  });

  it('mute, unmute and removal with a ban', T, async () => {
    const cyItem = chair.page.locator('#chair-people-list details.person-details', { hasText: 'Cy' });
    await cyItem.locator(':scope > summary').click();
    await cyItem.locator('button', { hasText: 'Mute Cy' }).click();
    await panelStatus(chair.page, 'chair-people', /Cy is muted/);
    await send(cy.page, 'Can anyone hear me?');
    await cy.page.waitForSelector('#pending li.msg .delivery:text-is("Not sent: the chair has muted you for now.")');
    await chair.page.locator('#chair-people-list details.person-details', { hasText: 'Cy' }).locator('button', { hasText: 'Unmute Cy' }).click();
    await panelStatus(chair.page, 'chair-people', /Cy can write again/);
    await cy.page.locator('#pending li.msg button', { hasText: 'Try again' }).click();
    assert.equal(await waitForText(ana.page, 'Can anyone hear me?'), 1);

    const again = chair.page.locator('#chair-people-list details.person-details', { hasText: 'Cy' });
    await again.locator('select').selectOption('session');
    await again.locator('button', { hasText: 'Remove' }).click();
    await cy.page.waitForSelector('h1:text-is("You cannot join this meeting")', { timeout: 20000 });
    await ana.page.waitForSelector('#messages .sys-removed:has-text("removed Cy for the rest of this session")');
  });

  it('the chair ends the meeting for everyone', T, async () => {
    await chair.page.click('#chair-end');
    await chair.page.click('#chair-end-confirm');
    for (const p of [ana, ben]) await p.page.waitForSelector('#banner-ended:not([hidden])', { timeout: 15000 });
    // The conversation stays to read; nothing reconnects.
    assert.equal(await waitForText(ana.page, SHARE), 1);
    await ana.page.waitForSelector('#conn-state:text-is("The meeting has ended")');
    // The meeting offers attendance slips (POA): Ana asks for hers. The session was shorter
    // than the server's minimum of a whole minute present, unless this machine was very slow.
    await ana.page.click('#room-slip-get');
    await ana.page.waitForFunction(() => {
      const t = document.getElementById('room-slip-result')?.textContent || '';
      return /whole minute/.test(t) || /Open the printable slip/.test(t);
    }, null, { timeout: 15000 });
    const slip = await ana.page.textContent('#room-slip-result');
    if (/printable/.test(slip)) assert.match(await ana.page.getAttribute('#room-slip-result a', 'href'), /^\/verify\/[0-9a-f]{32}\.html$/);
    await checkAxe(ana.page, 'the room after the end, with the slip offer');
    await screenshot(ana.page, 'room-ended-360', { at: 'end' });
  });

  it('a reader logs in, opens the transcript, searches it and exports it', T, async () => {
    const reader = await person({ viewport: { width: 1280, height: 900 } });
    await reader.page.goto('/#/transcripts');
    await reader.page.waitForSelector('#transcripts-status:has-text("no sessions you may read")');
    await reader.page.goto('/#/login');
    await reader.page.fill('#login-username', stack.chair.username);
    await reader.page.fill('#login-password', stack.chair.password);
    await reader.page.click('.login-form button[type=submit]');
    await reader.page.waitForSelector('#logout-button');

    await reader.page.click('#nav-transcripts');
    await reader.page.waitForSelector('#transcripts-status:has-text("with sessions you may read")');
    await checkAxe(reader.page, 'transcript list');
    await screenshot(reader.page, 'transcripts-1280');
    await reader.page.locator('section.transcript-meeting', { hasText: 'Wednesday Circle' }).locator('a', { hasText: 'All sessions' }).click();
    await reader.page.waitForSelector('#session-list .session-link');
    await checkAxe(reader.page, 'sessions of one meeting');
    await reader.page.click('#session-list .session-link');

    await reader.page.waitForSelector('#transcript .entry');
    await reader.page.waitForSelector('#transcript-status:has-text("Showing all")');
    const text = await reader.page.textContent('#transcript');
    for (const t of [SHARE, OFFLINE, 'Can anyone hear me?', READINGS[1].text]) assert.ok(text.includes(t), `the transcript has "${t}"`);
    assert.ok(!text.includes(DELETED), 'the deleted text is gone');
    assert.ok(text.includes('(removed by a chair)'));
    assert.match(await reader.page.textContent('#transcript .transcript-share h2'), /Ana shares/);
    // The chair decides about slips: Cy was removed, so gets none unless confirmed.
    const cySlip = reader.page.locator('#slip-members li', { hasText: 'Cy (removed)' });
    await cySlip.waitFor();
    assert.match(await cySlip.textContent(), /no slip/);
    await cySlip.locator('button').click();
    await reader.page.waitForSelector('#slips-status:text-is("Cy may get a slip.")');
    assert.match(await reader.page.locator('#slip-members li', { hasText: 'Cy (removed)' }).textContent(), /may get a slip/);
    await checkAxe(reader.page, 'transcript view');
    await screenshot(reader.page, 'transcript-1280');
    await reader.page.setViewportSize({ width: 360, height: 740 });
    await noSideways(reader.page, 'transcript at 360 px');
    await screenshot(reader.page, 'transcript-360');
    await reader.page.setViewportSize({ width: 1280, height: 900 });

    // The export, as a download: the messages without the deleted text.
    const [download] = await Promise.all([reader.page.waitForEvent('download'), reader.page.click('#export-txt')]);
    assert.match(download.suggestedFilename(), /^wednesday-circle-.*\.txt$/);
    const exported = readFileSync(await download.path(), 'utf8');
    for (const t of [SHARE, OFFLINE, 'Thank you all for being here. [done]']) assert.ok(exported.includes(t), `the export has "${t}"`);
    assert.ok(!exported.includes(DELETED), 'the export has no deleted text');
    await reader.page.waitForSelector('#export-status:has-text("Downloaded")');
    const [md] = await Promise.all([reader.page.waitForEvent('download'), reader.page.click('#export-md')]);
    const markdown = readFileSync(await md.path(), 'utf8');
    assert.ok(markdown.includes('ninety days clean') && !markdown.includes('cheap pills'));

    // Search, with the match highlighted as a <mark> around text.
    await reader.page.click('.search-details summary');
    await reader.page.fill('#search-q', 'grateful');
    await reader.page.press('#search-q', 'Enter');
    await reader.page.waitForSelector('#search-results .search-result');
    const marks = await reader.page.$$eval('#search-results mark', (els) => els.map((e) => e.textContent));
    assert.ok(marks.length >= 1 && marks.every((m) => /grateful/i.test(m)), `highlighted: ${marks}`);
    assert.ok(await reader.page.isVisible('#search-results mark'));
    await checkAxe(reader.page, 'search results');
    await reader.page.emulateMedia({ colorScheme: 'dark' });
    await checkAxe(reader.page, 'search results, dark scheme');
    await reader.page.setViewportSize({ width: 640, height: 450 }); // 200% zoom
    await noSideways(reader.page, 'search results at 200% zoom');
    await checkAxe(reader.page, 'search results at 200% zoom');
    await reader.page.setViewportSize({ width: 1280, height: 900 });
    await reader.page.emulateMedia({ colorScheme: 'light' });
    await screenshot(reader.page, 'search-1280');
    const none = await reader.page.evaluate(async () => {
      const token = JSON.parse(localStorage.getItem('haven.account')).token;
      const r = await fetch('/api/search?q=pills', { headers: { Authorization: `Bearer ${token}` } });
      return (await r.json()).results.length;
    });
    assert.equal(none, 0, 'the deleted text cannot be found');
    await reader.page.click('#search-results a:has-text("Read it in the transcript")');
    await reader.page.waitForSelector('#transcript .entry-found');
    assert.ok((await reader.page.textContent('#transcript .entry-found')).includes(SHARE));

    for (const p of people) assert.deepEqual(p.problems, [], 'no page errors or CSP reports');
  });
});
