// Starts the attest binary on a fresh demo database and a headless Chromium for it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
const bin = process.env.ATTEST_BIN || join(repo, 'target', 'release', 'attest');

/** Starts `attest serve --demo` on a random port; resolves with { url, stop }. */
export async function startPortal(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'attest-browser-'));
  const child = spawn(bin, ['serve', '--demo', '--bind', '127.0.0.1:0', ...extraArgs], {
    env: { ...process.env, DATABASE_URL: `sqlite://${join(dir, 'attest.db')}`, ATTEST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`attest did not start: ${stderr}`)), 60_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/open (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`attest exited with ${code}: ${stderr}`)); });
  });
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

/** Saves a screenshot for the README under docs/screenshots/. */
export async function screenshot(page, name) {
  const out = join(repo, 'docs', 'screenshots');
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
}
