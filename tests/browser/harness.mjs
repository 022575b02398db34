// Starts the attest binary on a fresh demo database and a headless Chromium for it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
const bin = process.env.ATTEST_BIN || join(repo, 'target', 'release', 'attest');

/** A port that is free right now. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Waits until a child process prints a line matching `pattern`; resolves with the match. */
function waitFor(child, pattern, what) {
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${stderr}`)), 60_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}: ${stderr}`)); });
  });
}

/** Starts panva's oidc-provider on `port` for a client redirecting to `redirectUri`. */
export async function startProvider(port, redirectUri) {
  const child = spawn(process.execPath, [join(here, 'oidc-provider.mjs'), String(port), redirectUri], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitFor(child, /listening/, 'oidc-provider');
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/**
 * Starts `attest serve --demo` (on `port`, or a random one); resolves with { url, stop }.
 * `env` adds settings such as ATTEST_OIDC_ISSUER.
 */
export async function startPortal({ port = 0, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'attest-browser-'));
  const child = spawn(bin, ['serve', '--demo', '--bind', `127.0.0.1:${port}`], {
    env: { ...process.env, DATABASE_URL: `sqlite://${join(dir, 'attest.db')}`, ATTEST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [, url] = await waitFor(child, /open (http:\/\/127\.0\.0\.1:\d+)\//, 'attest');
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A headless Chromium from the system (no downloaded browser). */
export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Signs in on the demo sign-in page as the persona with this display name. */
export async function signInAs(page, baseUrl, name) {
  await page.goto(baseUrl + '/auth/sign-in');
  await page.getByRole('button', { name: new RegExp(name) }).click();
  await page.waitForSelector('.user-name');
}

/** Saves a screenshot for the README under docs/screenshots/. */
export async function screenshot(page, name) {
  const out = join(repo, 'docs', 'screenshots');
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
}

/**
 * Runs axe-core on the page and returns its serious and critical violations, each as
 * "rule: target" strings (empty when the page passes).
 */
export async function seriousViolations(page) {
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}
