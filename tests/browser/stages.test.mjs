// A two-stage review done by two people in a real browser (issue 17): an admin creates a
// one-time review of a group with a selected reviewer for stage 1 and another for stage 2,
// only the denied and the not reviewed moving on, later stages seeing earlier decisions.
// The scheduler starts it; reviewer A approves one person and denies another; the admin
// ends stage 1 early; reviewer B sees only the people who moved on, with A's decision and
// reason, and decides them (also on a phone); A can no longer decide; the admin sees the
// final decisions and a CSV with every stage's columns. axe-core checks each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startBrowser, screenshot, signInAs, seriousViolations } from './harness.mjs';

const REVIEW = 'Finance Approvers two-stage';
const GROUP = 'Finance Approvers';
// Neither is in Finance, so neither reviews their own access.
const A = { name: 'Omar Haddad', upn: 'omar.haddad@contoso.example' };
const B = { name: 'Priya Raman', upn: 'priya.raman@contoso.example' };

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

async function as(name, viewport = { width: 1280, height: 900 }, extra = {}) {
  const context = await browser.newContext({ viewport, ...extra });
  const page = await context.newPage();
  await signInAs(page, portal.url, name);
  return page;
}

async function noSeriousViolations(page, what) {
  const found = await seriousViolations(page);
  assert.deepEqual(found, [], `axe-core on ${what}`);
}

/** Reloads `url` until `locator(page)` matches something (the scheduler works each second). */
async function waitForLink(page, url, locator, what) {
  for (let i = 0; i < 30; i++) {
    await page.goto(url);
    if ((await locator(page).count()) > 0) return;
    await page.waitForTimeout(500);
  }
  assert.fail(`${what} never appeared on ${url}`);
}

/** The rows of a review page that have a box to tick, keyed by the person's name. */
async function rowsByPerson(page) {
  const rows = page.locator('table.items tbody tr');
  const out = new Map();
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    if ((await row.locator('.person').count()) === 0) continue;
    out.set((await row.locator('.person').first().innerText()).trim(), await row.innerText());
  }
  return out;
}

/** Parses CSV text (RFC 4180: quoted fields, doubled quotes) into rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') { quoted = false; } else { field += c; }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field); field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

/** The table row of `person` (by the name in its .person cell, not a manager's name). */
function rowOf(page, person) {
  const exact = new RegExp(`^\\s*${person.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  return page.locator('tbody tr').filter({ has: page.locator('.person', { hasText: exact }) });
}

test('a two-stage review: stage 1 by one reviewer, stage 2 by another', async () => {
  // 1. The admin creates the review, as a stranger to the form would.
  const dana = await as('Dana Whitfield');
  await dana.goto(portal.url + '/admin/access-reviews/new');
  await noSeriousViolations(dana, 'the new review form');
  await dana.getByLabel('Review name').fill(REVIEW);
  await dana.getByLabel('Description for reviewers').fill('Who may still approve invoices?');
  await dana.getByLabel('Members of selected groups').check();
  await dana.getByLabel('Groups', { exact: true }).fill(GROUP);
  await dana.getByLabel('Everyone').check();
  await dana.locator('#rk-selected').check();
  await dana.getByLabel('Selected reviewers', { exact: true }).fill(A.upn);
  await dana.getByLabel('Two stages').check();
  // Only the denied and the not reviewed move on: the approved are done after stage 1.
  const moves = dana.locator('#stage1_moves');
  const ticked = await moves.locator('input[type=checkbox]:checked').count();
  const all = await moves.locator('input[type=checkbox]').count();
  assert.equal(ticked, all, 'every decision moves on by default');
  for (const label of ['Approved', "Don't know", 'Decided as recommended']) {
    await moves.getByLabel(label, { exact: true }).uncheck();
  }
  assert.ok(await moves.getByLabel('Denied', { exact: true }).isChecked());
  assert.ok(await moves.getByLabel('Not reviewed', { exact: true }).isChecked());
  const stage2 = dana.locator('#stage2');
  assert.ok(await stage2.getByLabel('Selected users (a security team, say)').isChecked(), 'stage 2 selected users by default');
  await dana.getByLabel('Stage 2 selected reviewers').fill(B.upn);
  await dana.getByLabel('Stage 2 duration in days').fill('7');
  await dana.getByLabel(/Reviewers of later stages see earlier stages' decisions/).check();
  await screenshot(dana, 'stages-form');
  await dana.getByRole('button', { name: 'Create review' }).last().click();
  await dana.waitForSelector('.banner, .error-summary');
  assert.equal(await dana.locator('.error-summary').count(), 0,
    `the form was refused: ${await dana.locator('.error-summary').allInnerTexts()}`);
  assert.match(await dana.locator('.banner').innerText(), new RegExp(`Review “${REVIEW}” created`));

  // The series page lists its stages.
  if ((await dana.locator('h1').innerText()) !== REVIEW) {
    await dana.goto(portal.url + '/admin/access-reviews');
    await dana.getByRole('link', { name: REVIEW }).click();
  }
  const seriesUrl = dana.url();
  assert.equal(await dana.locator('h2#stages').innerText(), 'Stages');
  const stages = await dana.locator('ol.stages li').allInnerTexts();
  assert.equal(stages.length, 2, `two stages listed: ${stages}`);
  assert.match(stages[0], /^Stage 1/);
  // Stage 1's reviewers are the series' named reviewers; stage 2's are named in its line.
  const named = await dana.locator('h2:text-is("Named reviewers") + ul').innerText();
  assert.match(`${stages[0]}\n${named}`, new RegExp(A.name));
  assert.match(stages[0], /Moves on to the next stage: .*Denied/);
  assert.doesNotMatch(stages[0], /Moves on to the next stage: .*Approved/);
  assert.match(stages[1], /^Stage 2/);
  assert.match(stages[1], new RegExp(B.name));
  await noSeriousViolations(dana, 'the series page');
  await screenshot(dana, 'stages-series');

  // 2. The scheduler starts it: the occurrence appears on the series page and in A's panel.
  await waitForLink(dana, seriesUrl, (p) => p.getByRole('link', { name: /of \d+ reviewed/ }), 'the occurrence');
  const omar = await as(A.name);
  await waitForLink(omar, portal.url + '/', (p) => p.getByRole('link', { name: REVIEW }), 'the review in A\'s panel');

  // 3. A opens it: stage 1 of 2; approves one person, denies another, leaves the rest.
  await omar.getByRole('link', { name: REVIEW }).click();
  const omarReviewUrl = omar.url();
  assert.equal(await omar.locator('h1').innerText(), REVIEW);
  assert.match(await omar.locator('dl').first().innerText(), /Stage 1 of 2/);
  const boxes = omar.locator('table.items tbody tr:has(input[type=checkbox])');
  const people = await boxes.count();
  assert.ok(people >= 3, `at least three people to review in ${GROUP}: ${people}`);
  await noSeriousViolations(omar, 'a stage 1 review page');

  const approvedRow = boxes.nth(0);
  const approved = (await approvedRow.locator('.person').innerText()).trim();
  await approvedRow.locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('Still approves invoices');
  await omar.getByRole('button', { name: 'Approve' }).click();
  await omar.waitForSelector('.banner');
  assert.equal(await omar.locator('.banner').innerText(), 'Approved for 1 person.');

  const deniedRow = omar.locator('table.items tbody tr:has(input[type=checkbox])').nth(1);
  const denied = (await deniedRow.locator('.person').innerText()).trim();
  assert.notEqual(denied, approved);
  await deniedRow.locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('Moved to the audit team');
  await omar.getByRole('button', { name: 'Deny' }).click();
  await omar.waitForSelector('.banner');
  assert.equal(await omar.locator('.banner').innerText(), 'Denied for 1 person.');
  assert.match(await rowOf(omar, denied).innerText(),
    /Denied[\s\S]*by Omar Haddad[\s\S]*Moved to the audit team/);
  await noSeriousViolations(omar, 'a stage 1 review page after deciding');
  await screenshot(omar, 'stages-stage1');

  // 4. The admin ends stage 1 from the occurrence's results page.
  await dana.goto(seriesUrl);
  await dana.getByRole('link', { name: /of \d+ reviewed/ }).first().click();
  const resultsUrl = dana.url();
  await noSeriousViolations(dana, 'the results page in stage 1');
  await dana.getByRole('button', { name: 'End stage 1 now' }).click();
  await dana.waitForSelector('.banner');
  const moved = people - 1;
  assert.equal(await dana.locator('.banner').innerText(),
    `Stage 1 ended: ${moved} ${moved === 1 ? 'person' : 'people'} moved on to stage 2.`);
  await noSeriousViolations(dana, 'the results page in stage 2');

  // 5. B sees stage 2 of 2 with only the people who moved on, and A's decision.
  const priya = await as(B.name);
  await waitForLink(priya, portal.url + '/', (p) => p.getByRole('link', { name: REVIEW }), 'the review in B\'s panel');
  await priya.getByRole('link', { name: REVIEW }).click();
  const priyaReviewUrl = priya.url();
  assert.match(await priya.locator('dl').first().innerText(), /Stage 2 of 2/);
  const rows = await rowsByPerson(priya);
  assert.equal(rows.size, moved, `B reviews the people who moved on: ${[...rows.keys()]}`);
  assert.ok(!rows.has(approved), `the approved ${approved} did not move on`);
  assert.ok(rows.has(denied), `the denied ${denied} moved on`);
  const history = await rowOf(priya, denied).locator('.stage-history').allInnerTexts();
  assert.deepEqual(history, [`Stage 1: Denied by ${A.name}: “Moved to the audit team”`]);
  // The not reviewed name nobody as their stage 1 decider.
  for (const [person, text] of rows) {
    if (person !== denied) assert.doesNotMatch(text, /Stage 1: \w[^\n]* by /, `${person}'s stage 1 line`);
  }
  await noSeriousViolations(priya, 'a stage 2 review page');
  await screenshot(priya, 'stages-stage2');

  // On a phone too: nothing scrolls sideways, axe passes.
  const phone = await as(B.name, { width: 390, height: 844 }, { isMobile: true, hasTouch: true });
  await phone.goto(priyaReviewUrl);
  const { scrollWidth, innerWidth } = await phone.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `stage 2 on a phone scrolls sideways: ${scrollWidth} > ${innerWidth}`);
  await noSeriousViolations(phone, 'a stage 2 review page on a phone');
  await screenshot(phone, 'stages-stage2-phone');

  // B upholds the denial and approves the rest.
  await rowOf(priya, denied).locator('input[type=checkbox]').check();
  await priya.getByLabel(/Reason/).fill('Confirmed: left Finance');
  await priya.getByRole('button', { name: 'Deny' }).click();
  await priya.waitForSelector('.banner');
  assert.equal(await priya.locator('.banner').innerText(), 'Denied for 1 person.');
  const rest = [...rows.keys()].filter((p) => p !== denied);
  for (const person of rest) {
    await rowOf(priya, person).locator('input[type=checkbox]').check();
  }
  if (rest.length > 0) {
    await priya.getByLabel(/Reason/).fill('Still in Finance');
    await priya.getByRole('button', { name: 'Approve' }).click();
    await priya.waitForSelector('.banner');
    assert.equal(await priya.locator('.banner').innerText(),
      `Approved for ${rest.length} ${rest.length === 1 ? 'person' : 'people'}.`);
  }
  assert.match(await rowOf(priya, denied).innerText(),
    /Denied[\s\S]*by Priya Raman[\s\S]*Confirmed: left Finance/);
  await noSeriousViolations(priya, 'a stage 2 review page after deciding');

  // 6. A can no longer decide. A's stage 1 page, still open, does not take a decision: A
  // has no part in stage 2, so the portal answers that there is no review here for A (the
  // wording for a page read in an earlier stage needs a reviewer of both stages).
  assert.equal(omar.url(), omarReviewUrl);
  await rowOf(omar, denied).locator('input[type=checkbox]').check();
  await omar.getByLabel(/Reason/).fill('Changed my mind');
  await Promise.all([
    omar.waitForResponse((r) => r.request().method() === 'POST'),
    omar.getByRole('button', { name: 'Approve', exact: true }).click(),
  ]);
  await omar.waitForLoadState();
  const said = (await omar.locator('main').innerText()).replace(/\s+/g, ' ');
  assert.doesNotMatch(said, /Approved for/, 'A decided after stage 1 ended');
  assert.match(said, /Stage 1 of this review has ended and stage 2 has begun|There is no access review here for you/);
  await noSeriousViolations(omar, 'the refusal on A\'s stale page');
  // Reloaded, A's panel and the review no longer offer A anything to decide.
  await omar.goto(portal.url + '/');
  const stillListed = (await omar.getByRole('link', { name: REVIEW }).count()) > 0;
  const resp = await omar.goto(omarReviewUrl);
  const boxesLeft = await omar.locator('table.items tbody tr input[type=checkbox]').count();
  assert.equal(boxesLeft, 0,
    `A still has people to tick in stage 2 (listed on A's panel: ${stillListed}; the page answered ${resp.status()})`);
  // Whatever A sees, A's decision did not replace B's.
  await dana.goto(resultsUrl);
  assert.match(await rowOf(dana, denied).innerText(),
    /Denied[\s\S]*by Priya Raman[\s\S]*Confirmed: left Finance/);

  // 7. The admin stops the review, so its decisions are final, and sees them.
  await dana.getByRole('link', { name: 'Stop review…' }).click();
  await dana.getByRole('button', { name: 'Stop the review' }).click();
  await dana.waitForSelector('.banner');
  assert.equal(await dana.locator('.banner').innerText(), 'The review was stopped. Its decisions are final.');
  assert.match(await dana.locator('.results h2').innerText(), /Completed/);
  assert.match(await rowOf(dana, approved).innerText(), /Approved[\s\S]*by Omar Haddad[\s\S]*Still approves invoices/);
  assert.match(await rowOf(dana, denied).innerText(),
    /Denied[\s\S]*by Priya Raman[\s\S]*Confirmed: left Finance[\s\S]*Stage 1: Denied by Omar Haddad: “Moved to the audit team”/);
  for (const person of rest) {
    assert.match(await rowOf(dana, person).innerText(), /Approved[\s\S]*by Priya Raman[\s\S]*Still in Finance/);
  }
  await noSeriousViolations(dana, 'the results page of the completed review');
  await screenshot(dana, 'stages-results');

  // The CSV: every stage's decision, decider, date and reason after the usual columns.
  const href = await dana.getByRole('link', { name: 'Download results (CSV)' }).getAttribute('href');
  const response = await dana.request.get(new URL(href, dana.url()).toString());
  assert.equal(response.status(), 200);
  const [header, ...records] = parseCsv((await response.text()).replace(/^\uFEFF/, ''));
  const expected = [1, 2].flatMap((n) =>
    ['Decision', 'ReviewerName', 'ReviewDate', 'Justification'].map((c) => `Stage${n}${c}`));
  assert.deepEqual(header.slice(header.indexOf('Stage1Decision')), expected, `the CSV header: ${header}`);
  assert.equal(records.length, people, 'one CSV line per person reviewed');
  const line = (person) => {
    const found = records.find((r) => r[header.indexOf('PrincipalName')] === person);
    assert.ok(found, `the CSV has a line for ${person}`);
    return Object.fromEntries(header.map((h, i) => [h, found[i]]));
  };
  const d = line(denied);
  assert.deepEqual(
    [d.ReviewResult, d.ReviewerName, d.Justification, d.Stage1Decision, d.Stage1ReviewerName, d.Stage1Justification,
      d.Stage2Decision, d.Stage2ReviewerName, d.Stage2Justification],
    ['Deny', B.name, 'Confirmed: left Finance', 'Deny', A.name, 'Moved to the audit team',
      'Deny', B.name, 'Confirmed: left Finance'],
    `the denied person's CSV line: ${JSON.stringify(d)}`);
  const a = line(approved);
  assert.deepEqual(
    [a.ReviewResult, a.ReviewerName, a.Stage1Decision, a.Stage1ReviewerName, a.Stage2Decision],
    ['Approve', A.name, 'Approve', A.name, ''],
    `the approved person's CSV line (not in stage 2): ${JSON.stringify(a)}`);
  const r = line(rest[0]);
  assert.deepEqual(
    [r.ReviewResult, r.Stage1Decision, r.Stage1ReviewerName, r.Stage2Decision, r.Stage2ReviewerName],
    ['Approve', 'NotReviewed', '', 'Approve', B.name],
    `a not reviewed person's CSV line: ${JSON.stringify(r)}`);
});
