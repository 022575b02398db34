// Signing in, in a real browser: through a real OpenID provider (panva's oidc-provider),
// and through the demo personas; signing out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startProvider, startBrowser, freePort, screenshot } from './harness.mjs';

let provider;
let portal;
let browser;

before(async () => {
  const [attestPort, providerPort] = [await freePort(), await freePort()];
  const attestUrl = `http://127.0.0.1:${attestPort}`;
  provider = await startProvider(providerPort, `${attestUrl}/auth/callback`);
  portal = await startPortal({
    port: attestPort,
    env: {
      ATTEST_PUBLIC_URL: attestUrl,
      ATTEST_OIDC_ISSUER: provider.url,
      ATTEST_OIDC_CLIENT_ID: 'attest',
      ATTEST_OIDC_CLIENT_SECRET: 'attest-test-secret',
    },
  });
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await portal?.stop();
  provider?.stop();
});

test('a person signs in through the OpenID provider and lands on the access panel', async () => {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(portal.url + '/');
  assert.match(page.url(), /\/auth\/sign-in\?return_to=%2F$/);
  await screenshot(page, 'sign-in');
  await page.getByRole('link', { name: "Sign in with your organisation's account" }).click();
  // The provider's development login: any user name, then consent.
  await page.waitForURL(`${provider.url}/**`);
  await page.locator('input[name=login]').fill('tom.becker@contoso.example');
  await page.locator('input[name=password]').fill('irrelevant');
  await page.locator('button[type=submit]').click();
  const consent = page.getByRole('button', { name: /continue/i });
  if (await consent.count()) await consent.click();
  await page.waitForURL(`${portal.url}/`);
  assert.equal(await page.locator('h1').innerText(), 'My access reviews');
  assert.equal(await page.locator('.user-name').innerText(), 'Tom Becker');
  assert.equal(await page.getByRole('link', { name: 'Directory' }).count(), 0, 'an ordinary user has no admin navigation');
  await screenshot(page, 'panel');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/auth/sign-in');
  assert.equal(await page.getByRole('status').innerText(), 'You have signed out.');
  await page.goto(portal.url + '/');
  assert.match(page.url(), /\/auth\/sign-in/);
});

test('a demo persona signs in with one click', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(portal.url + '/auth/sign-in');
  assert.match(await page.locator('#demo-h').innerText(), /This is a demo/);
  await page.getByRole('button', { name: /Dana Whitfield/ }).click();
  await page.waitForURL(`${portal.url}/`);
  assert.equal(await page.locator('.user-name').innerText(), 'Dana Whitfield');
  await page.getByRole('link', { name: 'Directory' }).click();
  assert.match(await page.locator('h1').innerText(), /Users/);
});
