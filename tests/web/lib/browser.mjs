// Debian's chromium driven by playwright-core (no browser download), axe-core, screenshots.

import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './stack.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const OUTPUT = path.join(REPO, 'test-output', 'web');
export const CHROMIUM = process.env.HAVEN_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

// A new person: a fresh browser context (own storage), with page errors and CSP reports
// collected so that tests can assert there were none.
export async function newPerson(browser, baseURL, opts = {}) {
  const context = await browser.newContext({
    baseURL,
    viewport: opts.viewport || { width: 1280, height: 900 },
    colorScheme: opts.colorScheme || 'light',
    reducedMotion: opts.reducedMotion || 'reduce',
    timezoneId: opts.timezoneId || 'America/Chicago',
    locale: opts.locale || 'en-US',
  });
  // A gate in front of the page's WebSockets: while closed, every new connection is refused (as
  // on a flaky network) but the page itself still loads. Routing works through a script that
  // Playwright puts into new documents, so it is set up before the first page.
  const gate = { open: true };
  if (opts.wsGate) {
    await context.routeWebSocket(/\/ws\//, (ws) => {
      if (gate.open) ws.connectToServer();
      else ws.close({ code: 4000, reason: 'offline for the test' });
    });
  }
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/WebSocket connection to .* failed|Failed to load resource/.test(text)) {
      problems.push(`console: ${text}`);
    }
    if (/Content Security Policy/i.test(text)) problems.push(`csp: ${text}`);
  });
  return { context, page, problems, gate };
}

export async function joinMeeting(page, slug, name, { visitor = false } = {}) {
  await page.goto(`/#/m/${slug}`);
  await page.fill('#join-name', name);
  if (visitor) await page.check('#join-visitor');
  await page.click('.join-form button[type=submit]');
  await page.waitForSelector('#conn-state:text-is("Connected")', { timeout: 15000 });
}

// axe-core on the page as it is: returns the serious and critical violations.
export async function axe(page, context = null) {
  // Evaluated through the DevTools protocol, so the page's CSP does not apply to it.
  const loaded = await page.evaluate('typeof window.axe');
  if (loaded === 'undefined') await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async (ctx) => {
    const r = await window.axe.run(ctx || document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function formatViolations(list) {
  return list.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.join('\n  ')}`).join('\n');
}

// A picture of the page for people to look at: the whole page from the top ('top'), the window
// as someone at the end of the conversation sees it ('end': the room, whose header and composer
// stay put), or the window as it is ('view': a dialog).
export async function screenshot(page, name, { at = 'top' } = {}) {
  mkdirSync(OUTPUT, { recursive: true });
  const file = path.join(OUTPUT, `${name}.png`);
  if (at !== 'view') {
    await page.evaluate((where) => window.scrollTo(0, where === 'end' ? document.documentElement.scrollHeight : 0), at);
    await page.waitForTimeout(50);
  }
  await page.screenshot({ path: file, fullPage: at === 'top' });
  return file;
}

// Texts of the messages shown in the conversation, in page order.
export async function messageTexts(page) {
  return page.$$eval('#messages li.msg .msg-text', (els) => els.map((e) => e.textContent));
}

// Wait until a message with exactly this text is shown; returns how many are shown.
export async function waitForText(page, text, timeout = 30000) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .msg-text')].some((e) => e.textContent === t),
    text, { timeout },
  );
  return page.$$eval('#messages .msg-text', (els, t) => els.filter((e) => e.textContent === t).length, text);
}

// How many messages with exactly this text are shown, sent or still pending.
export async function countText(page, text) {
  return page.$$eval('#messages .msg-text, #pending .msg-text', (els, t) => els.filter((e) => e.textContent === t).length, text);
}
