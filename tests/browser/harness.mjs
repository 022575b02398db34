// Starts the attest binary on a fresh demo database and a headless Chromium for it.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
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

/** A program of Debian's slapd package: in /usr/sbin, which is not on every PATH. */
function sbin(tool) {
  const path = `/usr/sbin/${tool}`;
  return existsSync(path) ? path : tool;
}

/** Runs a program; resolves with { code, stdout, stderr } (never rejects for an exit code). */
function run(program, args) {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr: stderr || String(error?.message ?? '') });
    });
  });
}

/**
 * Starts a real OpenLDAP server (Debian's slapd, default schemas) on a random port, with
 * its own temporary configuration and database loaded from `ldif` (LDIF text that creates
 * the suffix dc=example,dc=org and everything under it). The administrator is
 * cn=admin,dc=example,dc=org with the password "secret". Resolves with
 * { url, adminDn, adminPassword, stop } once the server answers a search; stop() ends
 * the server and removes its files.
 */
export async function startSlapd(ldif) {
  const suffix = 'dc=example,dc=org';
  const adminDn = 'cn=admin,dc=example,dc=org';
  const adminPassword = 'secret';
  const dir = mkdtempSync(join(tmpdir(), 'attest-slapd-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'include /etc/ldap/schema/nis.schema',
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      // Its schema has pwdAccountLockedTime, which marks a locked account.
      'moduleload ppolicy',
      `pidfile ${join(dir, 'slapd.pid')}`,
      'database mdb',
      `suffix "${suffix}"`,
      `rootdn "${adminDn}"`,
      `rootpw ${adminPassword}`,
      `directory ${data}`,
      'maxsize 4294967296',
      'overlay ppolicy',
      '',
    ].join('\n'),
  );
  const load = join(dir, 'load.ldif');
  writeFileSync(load, ldif);
  const added = await run(sbin('slapadd'), ['-q', '-f', conf, '-l', load]);
  if (added.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed (apt-get install slapd ldap-utils): ${added.stderr}`);
  }

  const url = `ldap://127.0.0.1:${await freePort()}`;
  // In the foreground (-d 0), so that ending the child ends the server.
  const child = spawn(sbin('slapd'), ['-d', '0', '-f', conf, '-h', `${url}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let ended = false;
  exited.then(() => { ended = true; });
  const stop = async () => {
    if (!ended) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (ended) {
      await stop();
      throw new Error(`slapd exited before answering: ${stderr}`);
    }
    const probe = await run('ldapsearch', ['-x', '-H', url, '-D', adminDn, '-w', adminPassword, '-LLL', '-b', suffix, '-s', 'base', '1.1']);
    if (probe.code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`slapd did not answer on ${url}: ${probe.stderr} ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, adminDn, adminPassword, stop };
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
