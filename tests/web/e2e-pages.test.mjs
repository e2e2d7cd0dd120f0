// End to end, in Debian's chromium against the real havend and PostgreSQL: the directory, the
// join page, the login page and the crisis panel; keyboard use, axe-core, small screens and
// zoom, and screenshots of every page at phone and desktop width.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { axe, formatViolations, launch, newPerson, screenshot } from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';

const T = { timeout: 90000 };
let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.close();
});

async function visitor(opts = {}) {
  return newPerson(browser, stack.url, opts);
}

function cards(page) {
  return page.$$eval('#directory-results .meeting-card h3', (els) => els.map((e) => e.textContent));
}

async function noSidewaysScroll(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what}: ${overflow} px of sideways scrolling`);
}

async function noInlineStyleOrHandlers(page, what) {
  const bad = await page.evaluate(() => [...document.querySelectorAll('*')]
    .filter((el) => el.hasAttribute('style') || [...el.attributes].some((a) => /^on/i.test(a.name)))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(bad, [], `${what}: inline style or handler attributes`);
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(!/\b(null|undefined|NaN|\[object Object\])\b/.test(text), `${what}: a programming value shows: ${text}`);
}

describe('the directory', () => {
  it('lists the coming meetings in the viewer\'s time zone, with the meeting\'s own zone', T, async () => {
    const { page, problems, context } = await visitor({ timezoneId: 'America/Chicago' });
    const response = await page.goto('/');
    const csp = response.headers()['content-security-policy'] || '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    await page.waitForSelector('#directory-results .meeting-card');
    assert.match(await page.textContent('main'), /Times are shown in your time zone \(America\/Chicago\)/);
    const names = await cards(page);
    assert.ok(names.includes('Hope in the Evening'));
    assert.ok(names.includes('Morgenrunde'));
    assert.ok(names.includes('Saturday Step Study'));

    const hope = page.locator('.meeting-card', { hasText: 'Hope in the Evening' }).first();
    assert.match(await hope.textContent(), /In progress now/);
    assert.match(await hope.textContent(), /Chicago time \(America\/Chicago\), the same as yours/);
    const morgen = page.locator('.meeting-card', { hasText: 'Morgenrunde' }).first();
    assert.match(await morgen.textContent(), /Starts in (3[3-9]|4[01]) minutes/);
    assert.match(await morgen.textContent(), /in Berlin time \(Europe\/Berlin\)/);
    // Its start, as an instant: shown in the viewer's zone, it is the same moment.
    const shown = await morgen.locator('.when time').first().getAttribute('datetime');
    assert.ok(Math.abs(Date.parse(shown) - (Date.now() + 40 * 60000)) < 8 * 60000, 'starts about 40 minutes from now');
    const inChicago = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: 'America/Chicago' })
      .format(new Date(shown));
    assert.equal(await morgen.locator('.when time').first().textContent(), inChicago, 'shown in the viewer\'s zone');

    const ics = await hope.locator('a.calendar-link').getAttribute('href');
    assert.equal(ics, '/api/meetings/tuesday-hope.ics');
    const cal = await page.request.get(ics);
    assert.equal(cal.status(), 200);
    assert.match(cal.headers()['content-type'], /text\/calendar/);
    assert.match(await cal.text(), /BEGIN:VCALENDAR/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('filters by type, language, day and "starting soon"', T, async () => {
    const { page, context } = await visitor();
    await page.goto('/');
    await page.waitForSelector('#directory-results .meeting-card');
    await page.selectOption('#filter-type', 'C');
    assert.deepEqual([...new Set(await cards(page))], ['Morgenrunde']);
    await page.selectOption('#filter-type', '');
    await page.selectOption('#filter-language', 'de');
    assert.deepEqual([...new Set(await cards(page))], ['Morgenrunde']);
    await page.selectOption('#filter-language', '');
    await page.check('#filter-soon');
    const soon = new Set(await cards(page));
    assert.ok(soon.has('Hope in the Evening') && soon.has('Morgenrunde'), [...soon].join(', '));
    await page.uncheck('#filter-soon');
    // The Saturday meeting's day, in the viewer's zone.
    const satDay = await page.locator('.meeting-card', { hasText: 'Saturday Step Study' }).first()
      .locator('xpath=ancestor::section[1]').getAttribute('aria-labelledby');
    await page.selectOption('#filter-day', satDay.replace(/^day-/, ''));
    assert.ok((await cards(page)).includes('Saturday Step Study'));
    assert.match(await page.textContent('#directory-status'), /match your filters/);
    await context.close();
  });

  it('says so calmly when the meeting list is not there, and still opens a meeting', T, async () => {
    const { page, context } = await visitor({ viewport: { width: 360, height: 740 } });
    await page.route(/\/api\/meetings(\?.*)?$/, (route) => route.fulfill({
      status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no such resource"}',
    }));
    await page.goto('/');
    await page.waitForSelector('#directory-unavailable');
    assert.match(await page.textContent('#directory-unavailable'), /does not offer a meeting list yet/);
    await screenshot(page, 'directory-unavailable-360');
    const violations = await axe(page);
    assert.deepEqual(violations, [], formatViolations(violations));
    await page.fill('#goto-meeting', 'not a link!');
    await page.click('.goto-form button[type=submit]');
    assert.equal(await page.isVisible('#goto-meeting-error'), true);
    await page.fill('#goto-meeting', 'http://example.org/m/tuesday-hope');
    await page.click('.goto-form button[type=submit]');
    await page.waitForURL(/#\/m\/tuesday-hope$/);
    await page.waitForSelector('.records');
    await context.close();

    const second = await visitor();
    await second.page.route(/\/api\/meetings(\?.*)?$/, (route) => route.abort('connectionrefused'));
    await second.page.goto('/');
    await second.page.waitForSelector('#directory-unavailable');
    assert.match(await second.page.textContent('#directory-unavailable'), /cannot be reached right now/);
    await second.context.close();
  });
});

describe('the join page', () => {
  it('states what is recorded and who may read it, from the meeting\'s settings', T, async () => {
    const { page, context } = await visitor();
    await page.goto('/#/m/tuesday-hope');
    await page.waitForSelector('.records p');
    const records = await page.textContent('.records');
    assert.match(records, /keeps a written transcript of each session and deletes it 30 days after the session/);
    assert.match(records, /Only the meeting's chairs can read the transcript/);
    assert.ok(await page.isVisible('#join-visitor'), 'open meetings offer the visitor option');
    await page.goto('/#/m/saturday-steps');
    await page.waitForFunction(() => /does not keep transcripts/.test(document.querySelector('.records')?.textContent || ''));
    // Without the API's data the page says that the meeting's settings decide.
    await page.route(/\/api\/meetings\/tuesday-hope$/, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"store_unavailable","message":"x"}' }));
    await page.goto('/#/m/tuesday-hope');
    await page.waitForFunction(() => /meeting's own settings/.test(document.querySelector('.records')?.textContent || ''));
    await context.close();
  });

  it('a closed meeting asks for confirmation and offers no visitor option', T, async () => {
    const { page, context } = await visitor({ viewport: { width: 360, height: 740 } });
    await page.goto('/#/m/morgenrunde');
    await page.waitForSelector('#join-closed');
    assert.equal(await page.$('#join-visitor'), null);
    await page.fill('#join-name', 'Kai');
    await page.click('.join-form button[type=submit]');
    assert.ok(await page.isVisible('#join-closed-error'));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'join-closed');
    await screenshot(page, 'join-closed-360');
    await page.check('#join-closed');
    await page.click('.join-form button[type=submit]');
    await page.waitForSelector('#conn-state:text-is("Connected")');
    await page.click('button.leave');
    await context.close();
  });
});

describe('keyboard, crisis help and login', () => {
  it('the skip link and the crisis panel work with the keyboard alone', T, async () => {
    const { page, context } = await visitor();
    await page.goto('/');
    await page.waitForSelector('#directory-results .meeting-card');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-link');
    const box = await page.locator('#skip-link').boundingBox();
    assert.ok(box && box.y >= 0, 'the skip link shows when focused');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    assert.equal(new URL(page.url()).hash, '', 'the route did not change');

    await page.goto('about:blank');
    await page.goto('/#/login');
    await page.waitForSelector('#login-username');
    let found = false;
    for (let i = 0; i < 8 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement.id === 'crisis-button');
    }
    assert.ok(found, 'the crisis button is reached with Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#crisis-dialog[open]');
    assert.ok(await page.evaluate(() => document.getElementById('crisis-dialog').contains(document.activeElement)));
    const text = await page.textContent('#crisis-dialog');
    assert.match(text, /988 Suicide & Crisis Lifeline/);
    assert.match(text, /SAMHSA National Helpline/);
    assert.match(text, /1-800-662-4357/);
    assert.match(text, /default list/);
    assert.equal(await page.getAttribute('#crisis-dialog a:text-is("Call 988")', 'href'), 'tel:988');
    assert.equal(await page.getAttribute('#crisis-dialog a:text-is("Text 988")', 'href'), 'sms:988');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#crisis-dialog:not([open])', { state: 'attached' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'crisis-button');
    await context.close();
  });

  it('someone joins, writes and reacts with the keyboard alone', T, async () => {
    const { page, context } = await visitor();
    await page.goto('/#/m/tuesday-hope');
    await page.waitForSelector('.records p');
    await page.focus('#join-name');
    await page.keyboard.type('Ash');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#conn-state:text-is("Connected")');
    await page.focus('#composer-text');
    await page.keyboard.type('Typed with the keyboard only.');
    await page.keyboard.press('Enter');
    const li = page.locator('#messages li.msg', { hasText: 'Typed with the keyboard only.' });
    await li.locator('.delivery:text-is("Delivered")').waitFor();
    await li.locator('.react-toggle').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.reaction), 'thanks');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // heart
    await li.locator('.reaction-summary', { hasText: 'Heart: 1, including yours' }).waitFor();
    assert.ok(await page.evaluate(() => document.activeElement.classList.contains('react-toggle')));
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    assert.ok(await li.locator('.react-menu').isHidden());
    await page.click('button.leave');
    await context.close();
  });

  it('login errors are plain sentences', T, async () => {
    const { page, context } = await visitor();
    await page.goto('/#/login');
    await page.click('.login-form button[type=submit]');
    assert.equal(await page.textContent('#login-username-error'), 'Please enter your user name.');
    await page.fill('#login-username', 'nobody');
    await page.fill('#login-password', 'nothing');
    await page.click('.login-form button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(await page.textContent('#login-error'), /do not match/);
    await context.close();
  });
});

describe('every page: axe-core, phone and desktop width, zoom, dark mode', () => {
  const pages = [
    { name: 'directory', path: '/', ready: '#directory-results .meeting-card' },
    { name: 'join', path: '/#/m/tuesday-hope', ready: '.records p' },
    { name: 'join-closed', path: '/#/m/morgenrunde', ready: '#join-closed' },
    { name: 'login', path: '/#/login', ready: '#login-username' },
    { name: 'crisis', path: '/', ready: '#directory-results .meeting-card', open: '#crisis-button' },
    { name: 'not-found', path: '/#/nowhere', ready: 'h1' },
  ];
  const sizes = [
    { label: '360', viewport: { width: 360, height: 740 } },
    { label: '1280', viewport: { width: 1280, height: 900 } },
    // 1280 x 800 at 200% zoom is 640 x 400 CSS pixels.
    { label: 'zoom200', viewport: { width: 640, height: 400 }, shot: false },
    { label: '360-dark', viewport: { width: 360, height: 740 }, colorScheme: 'dark' },
  ];
  for (const size of sizes) {
    it(`at ${size.label}`, T, async () => {
      const { page, problems, context } = await visitor({ viewport: size.viewport, colorScheme: size.colorScheme });
      for (const p of pages) {
        await page.goto('about:blank');
        await page.goto(p.path);
        await page.waitForSelector(p.ready);
        if (p.open) {
          await page.click(p.open);
          await page.waitForSelector('#crisis-dialog[open]');
        }
        const violations = await axe(page);
        assert.deepEqual(violations, [], `${p.name} at ${size.label}:\n${formatViolations(violations)}`);
        await noSidewaysScroll(page, `${p.name} at ${size.label}`);
        await noInlineStyleOrHandlers(page, p.name);
        if (size.shot !== false) await screenshot(page, `${p.name}-${size.label}`, { at: p.open ? 'view' : 'top' });
      }
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
});
