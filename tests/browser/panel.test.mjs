// The whole review cycle in a real browser: an admin creates a review of a group, its
// owner decides in the access panel (recommendations, a denial with a reason, changed
// back), a self-reviewer answers No, and the admin sees the decisions. axe-core checks
// the panel pages. Then the panel list, a review and a self-review on a phone (390×844):
// nothing scrolls sideways, the decision controls are in view, axe passes. Saves the
// README's screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startBrowser, screenshot, signInAs, seriousViolations } from './harness.mjs';

let portal;
let browser;

before(async () => {
  // A one-second scheduler tick: the review starts right after it is created.
  portal = await startPortal({ env: { ATTEST_SCHEDULER_SECONDS: '1' } });
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await portal?.stop();
});

async function as(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signInAs(page, portal.url, name);
  return page;
}

async function noSeriousViolations(page, what) {
  const found = await seriousViolations(page);
  assert.deepEqual(found, [], `axe-core on ${what}`);
}

test('create, review, self-review, and see the results', async () => {
  // 1. The admin creates a one-time review of Project Falcon's members by its owners.
  const dana = await as('Dana Whitfield');
  await dana.goto(portal.url + '/admin/access-reviews');
  await dana.getByRole('link', { name: 'New access review' }).click();
  await dana.getByLabel('Review name').fill('Falcon members Q4');
  await dana.getByLabel('Description for reviewers').fill('Confirm who still works on Falcon.');
  await dana.getByLabel('Members of selected groups').check();
  await dana.getByLabel('Groups', { exact: true }).fill('Project Falcon');
  await dana.getByLabel('Everyone').check();
  await dana.locator('#rk-owners').check();
  await dana.getByLabel('Fallback reviewers', { exact: true }).fill('dana.whitfield@contoso.example');
  await dana.getByRole('button', { name: 'Create review' }).click();
  await dana.waitForSelector('.banner');
  assert.match(await dana.locator('.banner').innerText(), /Review “Falcon members Q4” created/);

  // 2. The owner finds it in the access panel once the scheduler has started it.
  const omar = await as('Omar Haddad');
  let found = false;
  for (let i = 0; i < 20 && !found; i++) {
    await omar.goto(portal.url + '/');
    found = (await omar.getByRole('link', { name: 'Falcon members Q4' }).count()) > 0;
    if (!found) { await omar.waitForTimeout(500); }
  }
  assert.ok(found, 'the new review appears in the owner\'s panel');
  await noSeriousViolations(omar, 'the access panel');
  await screenshot(omar, 'panel');
  await omar.getByRole('link', { name: 'Falcon members Q4' }).click();
  assert.equal(await omar.locator('h1').innerText(), 'Falcon members Q4');
  assert.match(await omar.locator('.description').innerText(), /Confirm who still works on Falcon/);
  const recs = await omar.locator('.rec').allInnerTexts();
  assert.ok(recs.length > 0 && recs.some((r) => r === 'Approve'), `recommendations shown: ${recs}`);
  await noSeriousViolations(omar, 'a review page');
  await screenshot(omar, 'review');

  // Keyboard: j moves to the first row.
  await omar.locator('h1').click();
  await omar.keyboard.press('j');
  assert.equal(await omar.locator('tr.is-current').count(), 1);

  // Accept the recommendations: the button on its own is for everyone in the list, and
  // counts them. Omar is a member of his own group: his own access is left out.
  const accept = omar.getByRole('button', { name: /^Accept \d+ recommendations?$/ });
  const count = Number((await accept.innerText()).match(/\d+/)[0]);
  await accept.click();
  await omar.waitForSelector('.banner');
  const accepted = await omar.locator('.banner').innerText();
  assert.match(accepted, new RegExp(`^Recommendations accepted for ${count} (person|people)\\.`));
  assert.match(accepted, /Your own access was left out: it is decided by the fallback reviewer\./);
  assert.match(await omar.locator('tr.is-blocked').innerText(), /Your own access — decided by the fallback reviewer/);

  // Deny one person with a reason, then change it back.
  const first = omar.locator('tbody tr:has(input[type=checkbox])').first();
  const person = await first.locator('.person').innerText();
  await first.locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('Left the project in October');
  await omar.getByRole('button', { name: 'Deny' }).click();
  await omar.waitForSelector('.banner');
  assert.equal(await omar.locator('.banner').innerText(), 'Denied for 1 person.');
  let row = omar.locator('tbody tr', { hasText: person });
  assert.match(await row.innerText(), /Denied[\s\S]*by Omar Haddad[\s\S]*Left the project in October/);
  await row.locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('Back on the project');
  await omar.getByRole('button', { name: 'Approve' }).click();
  await omar.waitForSelector('.banner');
  row = omar.locator('tbody tr', { hasText: person });
  assert.match(await row.innerText(), /Approved[\s\S]*Back on the project/);

  // And denies the last person for good (applied by the admin below).
  const last = omar.locator('tbody tr:has(input[type=checkbox])').last();
  const leaver = await last.locator('.person').innerText();
  await last.locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('No longer with the agency');
  await omar.getByRole('button', { name: 'Deny' }).click();
  await omar.waitForSelector('.banner');
  assert.equal(await omar.locator('.banner').innerText(), 'Denied for 1 person.');

  // 3. A self-reviewer answers No.
  const tom = await as('Tom Becker');
  await tom.getByRole('link', { name: 'VPN Users: confirm your access' }).click();
  assert.equal(await tom.locator('legend').first().innerText(), 'Do you still need access to VPN Users?');
  await noSeriousViolations(tom, 'the self-review page');
  await tom.getByLabel(/Reason/).fill('I work from the office now');
  await tom.getByRole('button', { name: 'No' }).click();
  await tom.waitForSelector('.notice');
  assert.match(await tom.locator('.notice').innerText(), /You answered No/);
  await screenshot(tom, 'self-review');

  // 4. The admin sees the decisions.
  await dana.goto(portal.url + '/admin/access-reviews');
  await dana.getByRole('link', { name: 'Falcon members Q4' }).click();
  await dana.getByRole('link', { name: /of \d+ reviewed/ }).first().click();
  const adminRow = dana.locator('tbody tr', { hasText: person });
  assert.match(await adminRow.innerText(), /Approved[\s\S]*by Omar Haddad[\s\S]*Back on the project/);
  const legend = await dana.locator('.chart .legend li').allInnerTexts();
  assert.equal(legend.length, 4);
  assert.match(legend[0], /^Approved \d+/);
  assert.ok(await dana.locator('.chart svg[role=img] title').count() === 1, 'the chart has a text alternative');
  await noSeriousViolations(dana, 'the results page');
  await screenshot(dana, 'results');

  // 5. The admin stops the review early, after a confirmation.
  await dana.getByRole('link', { name: 'Stop review…' }).click();
  assert.match(await dana.locator('h1').innerText(), /^Stop “Falcon members Q4” now\?/);
  await noSeriousViolations(dana, 'the stop confirmation');
  await dana.getByRole('button', { name: 'Stop the review' }).click();
  await dana.waitForSelector('.banner');
  assert.equal(await dana.locator('.banner').innerText(), 'The review was stopped. Its decisions are final.');
  assert.match(await dana.locator('.results h2').innerText(), /Completed/);
  assert.equal(await dana.getByRole('link', { name: 'Stop review…' }).count(), 0, 'a stopped review cannot be stopped again');

  // 6. Preview, then apply the denials.
  await dana.getByRole('link', { name: 'Review and apply the denials…' }).click();
  assert.match(await dana.locator('h1').innerText(), /^Apply the denials of “Falcon members Q4”\?/);
  const planned = dana.locator('tbody tr', { hasText: leaver });
  assert.match(await planned.innerText(), /Remove[\s\S]*Will be removed/);
  await noSeriousViolations(dana, 'the apply preview');
  await screenshot(dana, 'apply-preview');
  await dana.getByRole('button', { name: /^Apply \d+ denials?$/ }).click();
  await dana.waitForSelector('.banner');
  assert.match(await dana.locator('.banner').innerText(), /^Denials applied: \d+ removed/);
  assert.match(await dana.locator('.results h2').innerText(), /Completed and applied/);
  assert.match(await dana.locator('tbody tr', { hasText: leaver }).innerText(), /Denied[\s\S]*Removed/);

  // 7. Without an SMTP server the mails wait in the outbox, where admins read them.
  await dana.getByRole('link', { name: 'Outbox' }).click();
  assert.equal(await dana.locator('h1').innerText(), 'Outbox');
  await noSeriousViolations(dana, 'the outbox');
  await dana.goto(portal.url + '/admin/audit');
  await noSeriousViolations(dana, 'the audit log');
  await dana.goto(portal.url + '/admin/access-reviews/history');
  await noSeriousViolations(dana, 'the review-history report');
});

/**
 * Checks a page at phone width: no sideways scroll, axe passes; saves a screenshot from
 * the top of the page, or of `from` (a selector) on.
 */
async function onPhone(page, what, shot, from) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${what} scrolls sideways: ${scrollWidth} > ${innerWidth}`);
  await noSeriousViolations(page, `${what} on a phone`);
  if (from) {
    await page.locator(from).evaluate((e) => e.scrollIntoView());
  } else {
    await page.evaluate(() => window.scrollTo(0, 0));
  }
  await screenshot(page, shot);
}

/** Whether `locator` is visible and lies within the viewport's width. */
async function inView(page, locator, what) {
  await locator.scrollIntoViewIfNeeded();
  assert.ok(await locator.isVisible(), `${what} is visible`);
  const box = await locator.boundingBox();
  const width = page.viewportSize().width;
  assert.ok(box && box.x >= 0 && box.x + box.width <= width, `${what} lies within ${width} px: ${JSON.stringify(box)}`);
}

async function phoneAs(name) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signInAs(page, portal.url, name);
  return page;
}

test('the panel list, a review and a self-review work on a phone', async () => {
  // The panel list: review, resource, due, progress and status all in the card.
  const dana = await phoneAs('Dana Whitfield');
  await dana.goto(portal.url + '/');
  const card = dana.locator('table.my-reviews tbody tr', { hasText: 'Salesforce access by managers' });
  for (const cell of ['th', 'td[data-label=Due]', 'td[data-label=Progress]', 'td[data-label=Status]']) {
    await inView(dana, card.locator(cell), `the panel list's ${cell}`);
  }
  assert.match(await card.innerText(), /You review the people without a manager/);
  await onPhone(dana, 'the access panel', 'phone-panel');

  // A review: every card shows the decision and the box to tick; the action bar works.
  const priya = await phoneAs('Priya Raman');
  await priya.getByRole('link', { name: 'Salesforce access by managers' }).click();
  await priya.waitForSelector('table.items');
  const row = priya.locator('table.items tbody tr:has(input[type=checkbox])').first();
  await inView(priya, row.locator('input[type=checkbox]'), 'the first box to tick');
  await inView(priya, row.locator('td[data-label=Decision]'), 'the first decision');
  await inView(priya, row.locator('td[data-label=Recommendation]'), 'the first recommendation');
  assert.match(await row.locator('th').innerText(), /Manager: Priya Raman/);
  for (const name of ['Approve', 'Deny', "Don't know", /^Accept \d+ recommendations?$/]) {
    await inView(priya, priya.getByRole('button', { name }), `the ${name} button`);
  }
  await onPhone(priya, 'a review page', 'phone-review', 'fieldset.decide-panel');
  // Reassigning folds away under the decisions; opened, its fields fit the phone too.
  await priya.getByText('Reassign to someone else').click();
  await inView(priya, priya.getByLabel('Reassign to'), 'the reassign field');
  await inView(priya, priya.getByRole('button', { name: 'Reassign', exact: true }), 'the Reassign button');
  await onPhone(priya, 'a review page with reassigning open', 'phone-review-reassign', '.reassign-panel');
  await priya.getByText('Reassign to someone else').click();
  const person = await row.locator('.person').innerText();
  await row.locator('input[type=checkbox]').check();
  await priya.getByLabel(/Reason/).fill('Moved to the partner team');
  await priya.getByRole('button', { name: 'Deny' }).click();
  await priya.waitForSelector('.banner');
  assert.equal(await priya.locator('.banner').innerText(), 'Denied for 1 person.');
  assert.match(await priya.locator('table.items tbody tr', { hasText: person }).innerText(), /Denied/);
  // The person's page, on the phone too.
  await priya.locator('table.items tbody tr', { hasText: person }).locator('a.person').click();
  await priya.waitForSelector('h1');
  assert.equal(await priya.locator('h1').innerText(), person);
  await onPhone(priya, 'a person page', 'phone-person');

  // A self-review: the question and both answers in view.
  const tom = await phoneAs('Tom Becker');
  await tom.getByRole('link', { name: 'VPN Users: confirm your access' }).click();
  await inView(tom, tom.getByRole('button', { name: 'Yes' }), 'Yes');
  await inView(tom, tom.getByRole('button', { name: 'No' }), 'No');
  await onPhone(tom, 'the self-review page', 'phone-self-review');
  await tom.getByRole('button', { name: 'Yes' }).click();
  await tom.waitForSelector('.banner');
  assert.match(await tom.locator('.banner').innerText(), /^You said you still need access to VPN Users\./);
});
