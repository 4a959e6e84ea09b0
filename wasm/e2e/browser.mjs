// The verifier page served on 127.0.0.1, and Debian's Chromium driven headless by
// playwright-core. Shared by the end-to-end test and the benchmark.
//
//   EVIDENTIA_WEB_PKG   the wasm-bindgen `web` build (index.js, evidentia.js, evidentia_bg.wasm)
//   CHROMIUM            the browser (default /usr/bin/chromium)

import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const PAGE_DIR = path.resolve(HERE, '../../examples/web')
export const PKG_DIR = process.env.EVIDENTIA_WEB_PKG
if (!PKG_DIR) throw new Error('EVIDENTIA_WEB_PKG must name the web build of the WASM package (cargo xtask test wasm sets it)')

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
}

/**
 * Serves examples/web at / and the web build at /pkg/, from 127.0.0.1 only;
 * `mounts` adds folders under other prefixes (`{ '/peers/': dir }`).
 */
export async function serve(mounts = {}) {
  const prefixes = { '/pkg/': PKG_DIR, ...mounts }
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1')
    const prefix = Object.keys(prefixes).find((p) => url.pathname.startsWith(p))
    const [base, relative] = prefix
      ? [prefixes[prefix], url.pathname.slice(prefix.length)]
      : [PAGE_DIR, url.pathname === '/' ? 'index.html' : url.pathname.slice(1)]
    const file = path.resolve(base, decodeURIComponent(relative))
    const type = TYPES[path.extname(file)]
    if (!file.startsWith(base + path.sep) || !type || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(readFileSync(file))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) }
}

/**
 * Launches headless Chromium with a fresh profile (playwright passes it as
 * `--user-data-dir`); `close` removes the profile.
 */
export async function launch() {
  const profile = mkdtempSync(path.join(tmpdir(), 'evidentia-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/**
 * The verifier page open in headless Chromium, loaded and then cut off the
 * network, with what went wrong in it collected in `problems`: console errors,
 * page errors, and requests to anywhere but the page's own server.
 */
export async function openVerifier() {
  const server = await serve()
  const browser = await launch()
  const page = await browser.context.newPage()
  const problems = []
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`))
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith('data:')) problems.push(`request: ${request.url()}`)
  })
  await page.goto(server.url)
  await page.getByTestId('verify-button').and(page.locator(':enabled')).waitFor()
  // From here on the page has no network at all: everything happens in the browser.
  await browser.context.setOffline(true)
  return {
    page,
    problems,
    close: async () => {
      await browser.close()
      await server.close()
    },
  }
}
