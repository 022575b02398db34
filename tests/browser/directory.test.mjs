// The directory pages in a real browser: navigation, search, paging, nesting paths,
// keyboard access. Saves the README's screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startBrowser, screenshot, signInAs, seriousViolations } from './harness.mjs';

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

test('the create form picks from the directory and shows only the fields of the choices made', async () => {
  await page.goto(portal.url + '/admin/access-reviews/new');
  const groups = page.locator('#groups');
  const apps = page.locator('#applications');
  assert.ok(await groups.isVisible(), 'group reviews are the default');
  assert.ok(!(await apps.isVisible()), 'application fields hidden until chosen');
  assert.ok(!(await page.locator('#reviewers').isVisible()), 'selected reviewers only for selected users');
  assert.ok(!(await page.locator('#end_date').isVisible()), 'no end for a one-time review');

  // With the script: type, and add a match with its button (no reload).
  await page.getByLabel('Review name').fill('Picked in the browser');
  await page.getByLabel('Find a group in the directory').fill('sales t');
  const add = page.locator('#pick-groups').getByRole('button', { name: 'Add Sales Team' });
  await add.waitFor();
  await add.click();
  assert.equal(await groups.inputValue(), 'Sales Team');
  assert.ok(await page.locator('#pick-groups').getByRole('button', { name: 'Added: Sales Team' }).isDisabled());
  assert.equal(await page.locator('#pick-groups [role=status]').innerText(), 'Sales Team added.');
  await page.getByLabel('Find a fallback reviewer in the directory').fill('priya');
  await page.locator('#pick-fallback_reviewers').getByRole('button', { name: 'Add Priya Raman' }).click();
  assert.equal(await page.locator('#fallback_reviewers').inputValue(), 'priya.raman@contoso.example');

  // Fields follow the choices, keyboard only.
  await page.locator('#scope-apps').focus();
  await page.keyboard.press('Space');
  assert.ok(await apps.isVisible() && !(await groups.isVisible()), 'the application field replaces the group field');
  await page.locator('#scope-groups').check();
  await page.locator('#rk-selected').check();
  assert.ok(await page.locator('#reviewers').isVisible());
  await page.locator('#rk-owners').check();
  await page.locator('#frequency').selectOption('Weekly');
  await page.locator('#duration_days').fill('3');
  assert.ok(await page.locator('#end_kind').isVisible());
  assert.ok(!(await page.locator('#end_date').isVisible()));
  await page.locator('#end-date').check();
  assert.ok(await page.locator('#end_date').isVisible());
  assert.equal(await page.locator('#start_date').getAttribute('type'), 'date');
  assert.deepEqual(await seriousViolations(page), [], 'axe-core on the create form');

  // Enter in a search box searches; it does not save.
  await page.getByLabel('Find a group in the directory').fill('proj');
  await page.getByLabel('Find a group in the directory').press('Enter');
  await page.locator('#pick-groups').getByRole('button', { name: 'Add Project Falcon' }).click();
  assert.equal(await groups.inputValue(), 'Sales Team\nProject Falcon');
  assert.match(page.url(), /\/new$/);
  await page.locator('#end-never').check();
  await page.getByRole('button', { name: 'Create review' }).click();
  await page.waitForSelector('.banner');
  assert.match(await page.locator('.banner').innerText(), /Review “Picked in the browser” created/);
  assert.match(await page.locator('ul.plain').first().innerText(), /Project Falcon[\s\S]*Sales Team|Sales Team[\s\S]*Project Falcon/);
});

test('without JavaScript the pickers search by posting the form', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const plain = await context.newPage();
  await signInAs(plain, portal.url, 'Dana Whitfield');
  await plain.goto(portal.url + '/admin/access-reviews/new');
  await plain.getByLabel('Review name').fill('Picked without a script');
  await plain.getByLabel('Find a group in the directory').fill('sales');
  await plain.getByRole('button', { name: 'Search for a group', exact: true }).click();
  await plain.getByLabel(/^Sales Team/).check();
  assert.equal(await plain.getByLabel('Review name').inputValue(), 'Picked without a script', 'what was typed is kept');
  assert.match(plain.url(), /#pick-groups$/, 'back at the picker');
  await plain.getByRole('button', { name: 'Create review' }).click();
  await plain.waitForSelector('.banner');
  assert.match(await plain.locator('.banner').innerText(), /Review “Picked without a script” created/);
  await context.close();
});

test('admin pages fit a phone, and error pages keep the frame', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const phone = await context.newPage();
  await signInAs(phone, portal.url, 'Dana Whitfield');
  // A mail's page: its long Message-ID wraps inside its cell.
  await phone.goto(portal.url + '/admin/outbox');
  await phone.locator('tbody a').first().click();
  await phone.waitForSelector('h1');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the outbox mail page scrolls sideways by ${overflow}px`);
  const id = await phone.locator('.facts code').first().boundingBox();
  assert.ok(id.x + id.width <= 390, 'the Message-ID stays on screen');

  // The review pages scroll their tables, never the page.
  const sideways = () => phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  for (const path of ['/admin/access-reviews', '/admin/access-reviews/new']) {
    await phone.goto(portal.url + path);
    assert.ok((await sideways()) <= 0, `${path} scrolls sideways by ${await sideways()}px`);
  }
  await phone.getByRole('link', { name: 'Access reviews', exact: true }).first().click();
  await phone.getByRole('link', { name: 'Project Falcon guests', exact: true }).click();
  assert.ok((await sideways()) <= 0, `a series page scrolls sideways by ${await sideways()}px`);

  // The stop confirmation: the button and Cancel do not touch.
  await phone.goto(portal.url + '/admin/access-reviews');
  await phone.getByRole('link', { name: /of \d+ reviewed/ }).first().click();
  await phone.goto(phone.url() + '/stop');
  const stop = await phone.getByRole('button', { name: 'Stop the review' }).boundingBox();
  const cancel = await phone.getByRole('link', { name: 'Cancel' }).boundingBox();
  const apart = cancel.x >= stop.x + stop.width + 8 || cancel.y >= stop.y + stop.height + 8;
  assert.ok(apart, `Stop ${JSON.stringify(stop)} and Cancel ${JSON.stringify(cancel)} are apart`);

  // A 404 keeps the header and the navigation, and leads back.
  await phone.goto(portal.url + '/admin/groups');
  // Followed from a page of the site, as a link would be (the browser sends the Referer).
  await Promise.all([
    phone.waitForURL('**/00000000-0000-4000-8000-000000000000'),
    phone.evaluate(() => { window.location.href = '/admin/groups/00000000-0000-4000-8000-000000000000'; }),
  ]);
  assert.equal(await phone.locator('h1').innerText(), 'Page not found');
  assert.equal(await phone.locator('.user-name').innerText(), 'Dana Whitfield');
  await phone.getByRole('link', { name: 'Go back to the page you came from' }).click();
  await phone.waitForURL('**/admin/groups');
  await context.close();
});
