// The directory pages in a real browser: navigation, search, paging, nesting paths,
// keyboard access. Saves the README's screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startBrowser, screenshot, signInAs } from './harness.mjs';

let portal;
let browser;
let page;

before(async () => {
  portal = await startPortal();
  browser = await startBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signInAs(page, portal.url, 'Dana Whitfield');
});

after(async () => {
  await browser?.close();
  await portal?.stop();
});

test('the access panel leads an admin to the directory', async () => {
  await page.goto(portal.url + '/');
  assert.equal(await page.locator('h1').count(), 1);
  assert.equal(await page.locator('h1').innerText(), 'My access reviews');
  assert.match(await page.locator('.directory-name').innerText(), /Contoso \(demo\)/);
  await page.getByRole('link', { name: /500\s+users/ }).click();
  await page.waitForURL('**/admin/users');
  assert.match(await page.locator('h1').innerText(), /Users\s+500/);
  assert.equal(await page.locator('tbody tr').count(), 50);
});

test('the skip link is the first thing the keyboard reaches', async () => {
  await page.goto(portal.url + '/admin/users');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  assert.equal(focused, 'Skip to main content');
  await page.keyboard.press('Enter');
  assert.match(page.url(), /#main$/);
});

test('search and paging work without JavaScript state', async () => {
  await page.goto(portal.url + '/admin/users');
  const firstName = await page.locator('tbody tr td:first-child').first().innerText();
  await page.getByRole('link', { name: 'Next page →' }).click();
  const secondFirst = await page.locator('tbody tr td:first-child').first().innerText();
  assert.ok(firstName.localeCompare(secondFirst) <= 0, `${firstName} before ${secondFirst}`);
  await page.getByRole('link', { name: '← Previous page' }).click();
  assert.equal(await page.locator('tbody tr td:first-child').first().innerText(), firstName);

  await page.getByLabel('Search users').fill('priya');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'Priya Raman' }).click();
  assert.equal(await page.locator('h1').innerText(), 'Priya Raman');
  assert.ok(await page.locator('#reports-h').isVisible(), 'a manager shows direct reports');
  await screenshot(page, 'user');
});

test('a nested group shows each member with the path to them', async () => {
  await page.goto(portal.url + '/admin/groups');
  await screenshot(page, 'groups');
  await page.getByRole('link', { name: 'Engineering All' }).click();
  assert.equal(await page.locator('h1').innerText(), 'Engineering All');
  const paths = await page.locator('td.paths').allInnerTexts();
  assert.ok(paths.some((p) => p.includes('Via Backend Developers')), paths.join('|'));
  await screenshot(page, 'group');
});

test('roles and applications are reachable from the directory tabs', async () => {
  await page.goto(portal.url + '/admin/users');
  await page.getByRole('navigation', { name: 'Directory' }).getByRole('link', { name: 'Roles' }).click();
  await page.getByRole('link', { name: 'Global Administrator' }).click();
  assert.match(await page.locator('tbody').innerText(), /Dana Whitfield/);
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Directory' }).click();
  await page.getByRole('navigation', { name: 'Directory' }).getByRole('link', { name: 'Applications' }).click();
  await page.getByRole('link', { name: 'GitHub Enterprise' }).click();
  assert.match(await page.locator('td.paths').first().innerText(), /Direct|Via/);
  await screenshot(page, 'application');
});

test('an admin sees the demo reviews and the create form explains its errors', async () => {
  await page.goto(portal.url + '/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access reviews', exact: true }).click();
  assert.equal(await page.locator('tbody tr').count(), 4);
  await page.getByRole('link', { name: 'Project Falcon guests' }).click();
  assert.match(await page.locator('tbody').innerText(), /In progress/);
  await screenshot(page, 'review-series');
  await page.goto(portal.url + '/admin/access-reviews/new');
  await page.getByRole('button', { name: 'Create review' }).click();
  assert.match(await page.locator('.error-summary').innerText(), /Enter a name for the review/);
  // The summary links move focus to the field to fix.
  await page.getByRole('link', { name: 'Enter a name for the review' }).click();
  assert.match(page.url(), /#name$/);
  await screenshot(page, 'new-review-errors');
});
