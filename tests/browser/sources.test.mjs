// Where the directory comes from, in a real browser: Directory → Sources, a SCIM source
// created with its token shown once, that token used by a SCIM client, and a CSV import's
// two steps (the dry-run difference, then the import) — with the keyboard, on a phone
// and checked by axe-core. Saves the README's screenshots of these pages.
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

test('a SCIM source is created on the Sources page and its token provisions a user', async () => {
  await page.goto(portal.url + '/admin/users');
  await page.getByRole('navigation', { name: 'Directory' }).getByRole('link', { name: 'Sources' }).click();
  await page.waitForURL('**/admin/directory/sources');
  assert.match(await page.locator('h1').innerText(), /Sources/);
  assert.match(await page.locator('tbody').innerText(), /local/);
  assert.deepEqual(await seriousViolations(page), []);

  await page.getByLabel('Name', { exact: true }).fill('Entra ID');
  await page.getByLabel('Name of the first token').fill('prod');
  await page.getByRole('button', { name: 'Create the source and its token' }).click();
  assert.match(await page.locator('h1').innerText(), /Entra ID is ready/);
  const token = await page.locator('#token').inputValue();
  assert.match(token, /^attest_/);
  const scimUrl = await page.locator('code.copy').innerText();
  assert.deepEqual(await seriousViolations(page), []);

  // A SCIM client (the default shape Entra's provisioning service sends) uses the token.
  const res = await fetch(scimUrl + '/Users', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'grace.hopper@contoso.example',
      active: true,
      displayName: 'Grace Hopper',
      emails: [{ primary: true, type: 'work', value: 'grace.hopper@contoso.example' }],
    }),
  });
  assert.equal(res.status, 201);

  await page.getByRole('link', { name: 'Done: back to the source' }).click();
  assert.equal(await page.locator('h1').innerText(), 'Entra ID');
  assert.match(await page.locator('main').innerText(), /1 user/);
  assert.ok(!(await page.content()).includes(token), 'the token is never shown again');
  assert.deepEqual(await seriousViolations(page), []);
  await screenshot(page, 'source');
});

test('a CSV import shows what would change, then imports it', async () => {
  await page.goto(portal.url + '/admin/directory/sources');
  await page.getByRole('navigation', { name: 'Directory' }).getByRole('link', { name: 'Import' }).click();
  await page.waitForURL('**/admin/directory/import');
  assert.deepEqual(await seriousViolations(page), []);
  await page.getByLabel('Source name').fill('HR export');
  await page.getByLabel('CSV files').setInputFiles([
    {
      name: 'users.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'userPrincipalName,displayName,department\n' +
          'ada.lovelace@hr.example,Ada Lovelace,Engineering\n' +
          'alan.turing@hr.example,Alan Turing,Research\n',
      ),
    },
  ]);
  await page.getByRole('button', { name: 'Show what would change' }).click();
  assert.match(await page.locator('#preview-title').innerText(), /HR export/);
  assert.match(await page.locator('.import-preview').innerText(), /Added: ada.lovelace@hr.example/);
  assert.deepEqual(await seriousViolations(page), []);
  await screenshot(page, 'import-preview');
  await page.getByRole('button', { name: 'Import', exact: true }).click();

  await page.goto(portal.url + '/admin/users?q=lovelace');
  assert.match(await page.locator('tbody').innerText(), /Ada Lovelace/);
  assert.match(await page.locator('tbody').innerText(), /HR export/);
});

test('a file with a problem is refused with the line and column to fix', async () => {
  await page.goto(portal.url + '/admin/directory/import');
  await page.getByLabel('Source name').fill('HR export');
  await page.getByLabel('CSV files').setInputFiles([
    { name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from('userPrincipalName,displayName\nbad\u202Ename@x.example,X\n') },
  ]);
  await page.getByRole('button', { name: 'Show what would change' }).click();
  const summary = await page.locator('.error-summary').innerText();
  assert.match(summary, /Nothing was imported/);
  assert.match(summary, /users\.csv/);
  assert.match(summary, /line 2/);
});

test('the Sources page fits a phone', async () => {
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signInAs(phone, portal.url, 'Dana Whitfield');
  for (const path of ['/admin/directory/sources', '/admin/directory/import']) {
    await phone.goto(portal.url + path);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px`);
    assert.deepEqual(await seriousViolations(phone), []);
  }
  await phone.goto(portal.url + '/admin/directory/sources');
  await screenshot(phone, 'phone-sources');
});
