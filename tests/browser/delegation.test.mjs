// Delegation in a real browser (issue 17): on a phone, a reviewer who is going away names a
// colleague as their delegate with the default dates (from today) and a note; the
// colleague finds the review in their own panel "on behalf of" the reviewer, decides a
// person, and the row says who decided on whose behalf; the reviewer ends the delegation
// early and the colleague's way in is closed. axe-core checks each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startBrowser, screenshot, signInAs, seriousViolations } from './harness.mjs';

// The demo's owner reviews the guests of Project Falcon; the manager does not.
const REVIEW = 'Project Falcon guests';
const OWNER = { name: 'Omar Haddad', upn: 'omar.haddad@contoso.example' };
const DELEGATE = { name: 'Priya Raman', upn: 'priya.raman@contoso.example' };
const PHONE = { width: 390, height: 844 };

let portal;
let browser;

before(async () => {
  portal = await startPortal({ env: { ATTEST_SCHEDULER_SECONDS: '3600' } });
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await portal?.stop();
});

async function as(name, viewport = PHONE) {
  const context = await browser.newContext({ viewport, isMobile: viewport === PHONE, hasTouch: viewport === PHONE });
  const page = await context.newPage();
  await signInAs(page, portal.url, name);
  return page;
}

async function noSeriousViolations(page, what) {
  assert.deepEqual(await seriousViolations(page), [], `axe-core on ${what}`);
}

test('a reviewer delegates for a period; the delegate decides on their behalf', async () => {
  // 1. The owner names a delegate from the panel, on a phone, keeping the default first day.
  const omar = await as(OWNER.name);
  await omar.getByRole('link', { name: 'Name a delegate' }).click();
  assert.equal(await omar.locator('h1').innerText(), 'Delegate your reviews');
  await noSeriousViolations(omar, 'the delegation page');
  const first = await omar.getByLabel('First day').inputValue();
  assert.match(first, /^\d{4}-\d{2}-\d{2}$/, 'the first day is today by default');
  // A stranger's first try: the last day left empty is refused with what to fix.
  await omar.getByLabel('Delegate', { exact: true }).fill(DELEGATE.upn);
  await omar.getByRole('button', { name: 'Name delegate' }).click();
  await omar.waitForSelector('.error-summary');
  assert.match(await omar.locator('.error-summary').innerText(), /Enter the last day as a date/);
  assert.equal(await omar.getByLabel('Delegate', { exact: true }).inputValue(), DELEGATE.upn, 'nothing typed is lost');
  await noSeriousViolations(omar, 'the delegation page with an error');
  const last = new Date(Date.parse(first) + 6 * 86400000).toISOString().slice(0, 10);
  await omar.getByLabel('Last day').fill(last);
  await omar.getByLabel(/Note for your delegate/).fill('Skiing \u202Eevil\u202C — Falcon guests are with the agency');
  await omar.getByRole('button', { name: 'Name delegate' }).click();
  await omar.waitForSelector('.banner');
  assert.match(await omar.locator('.banner').innerText(), new RegExp(`${DELEGATE.name} is your delegate from ${first} to ${last}`));
  const row = omar.locator('table.delegations tbody tr').first();
  assert.match(await row.innerText(), new RegExp(`You → ${DELEGATE.name}[\\s\\S]*In force`));
  await noSeriousViolations(omar, 'the delegation page with a delegation');
  await screenshot(omar, 'delegation-page');

  // 2. The delegate finds the review in their own panel, on the owner's behalf.
  const priya = await as(DELEGATE.name);
  const link = priya.getByRole('link', { name: REVIEW });
  assert.equal(await link.count(), 1, 'the owner\'s review is in the delegate\'s panel');
  assert.match(await priya.locator('tr', { has: link }).innerText(), new RegExp(`On behalf of .?${OWNER.name}.?, as their delegate until ${last}`));
  await noSeriousViolations(priya, 'the delegate\'s panel');
  await link.click();
  assert.match(priya.url(), /\/reviews\/[^/]+\/for\/[^/]+$/);
  assert.match(await priya.locator('p.why').first().innerText(), new RegExp(`You review on behalf of .?${OWNER.name}`));
  // She sees the review as he does: he is not among "the others".
  assert.match(await priya.locator('dl.facts').first().innerText(), /Also reviewing\s*No one else/);
  await noSeriousViolations(priya, 'the review page on the owner\'s behalf');

  // 3. She decides one person; the row says by whom on whose behalf.
  const boxes = priya.locator('table.items tbody tr:has(input[type=checkbox])');
  assert.ok((await boxes.count()) > 0, 'people to decide');
  const target = boxes.first();
  const person = (await target.locator('.person').innerText()).trim();
  await target.locator('input[type=checkbox]').check();
  await priya.getByLabel(/Reason/).fill('Contract ended in November');
  await priya.getByRole('button', { name: 'Deny' }).click();
  await priya.waitForSelector('.banner');
  assert.equal(await priya.locator('.banner').innerText(), 'Denied for 1 person.');
  const decided = priya.locator('tbody tr').filter({ has: priya.locator('.person', { hasText: person }) }).first();
  assert.match(await decided.innerText(), new RegExp(`Denied[\\s\\S]*by ${DELEGATE.name} on behalf of ${OWNER.name}`));
  await noSeriousViolations(priya, 'the review page after deciding on the owner\'s behalf');
  await screenshot(priya, 'delegation-decided');
  const onBehalfUrl = priya.url();

  // The owner sees the same on his own page.
  await omar.goto(portal.url + '/');
  await omar.getByRole('link', { name: REVIEW }).click();
  const own = omar.locator('tbody tr').filter({ has: omar.locator('.person', { hasText: person }) }).first();
  assert.match(await own.innerText(), new RegExp(`by ${DELEGATE.name} on behalf of ${OWNER.name}`));

  // 4. He ends it early: her way in closes at once.
  await omar.goto(portal.url + '/delegation');
  await omar.getByRole('button', { name: /End now/ }).click();
  await omar.waitForSelector('.banner');
  assert.match(await omar.locator('.banner').innerText(), /The delegation is ended/);
  assert.match(await omar.locator('table.delegations tbody tr').first().innerText(), /Ended/);
  const gone = await priya.goto(onBehalfUrl);
  assert.equal(gone.status(), 404);
  await priya.goto(portal.url + '/');
  assert.equal(await priya.getByRole('link', { name: REVIEW }).count(), 0, 'no longer in her panel');
});
