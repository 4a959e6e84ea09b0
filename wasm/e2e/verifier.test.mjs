// The verifier page (examples/web) in real headless Chromium: what a counterparty
// sees for a valid receipt, a tampered one, the wrong key and garbage, with the
// network cut after load. Run by `cargo xtask test wasm`.
//
//   EVIDENTIA_WEB_PKG     the web build of the WASM package
//   EVIDENTIA_SCREENSHOT  where to save a screenshot of a verified receipt

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve, launch } from './browser.mjs'

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testvectors')
const load = (name) => JSON.parse(readFileSync(path.join(VECTORS, name), 'utf8'))

const receipts = load('receipts.json').verify
const valid = receipts.find((k) => k.name === 'valid, with the event re-formatted')
const batch = load('batch_receipts.json').verify.find((k) => k.valid)
const otherKey = load('keys.json').keys.find((k) => k.kid !== JSON.parse(valid.jwks).keys[0].kid)

/** The receipt with its record's time changed and the signature kept. */
function withChangedTime(receipt) {
  const [header, payload, signature] = receipt.split('.')
  const record = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  record.time = '2027-06-30T12:00:00Z'
  const changed = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(record).sort()))).toString('base64url')
  return [header, changed, signature].join('.')
}

let server
let browser
let page
const problems = [] // console errors, page errors, requests to anywhere but the server

before(async () => {
  server = await serve()
  browser = await launch()
  page = await browser.context.newPage()
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`))
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith('data:')) problems.push(`request: ${request.url()}`)
  })
  await page.goto(server.url)
  await page.getByTestId('verify-button').and(page.locator(':enabled')).waitFor()
  // From here on the page has no network at all: everything happens in the browser.
  await browser.context.setOffline(true)
})

after(async () => {
  await browser?.close()
  await server?.close()
})

/** Fills the three inputs (absent ones emptied), presses Verify, returns the result text. */
async function verify({ receipt = '', jwks = '', event = '' }) {
  await page.getByTestId('receipt-input').fill(receipt)
  await page.getByTestId('jwks-input').fill(jwks)
  await page.getByTestId('event-input').fill(event)
  await page.getByTestId('result').evaluate((node) => node.replaceChildren())
  await page.getByTestId('verify-button').click()
  return (await page.getByTestId('result').innerText()).trim()
}

test('a valid receipt with its event shows VALID and every check passed', async () => {
  const text = await verify(valid)
  assert.match(text, /^VALID/)
  assert.equal(text.match(/✓ Passed/g).length, 4, text)
  assert.doesNotMatch(text, /Failed|Not checked/)
  assert.match(text, /Recorded at \(UTC\)\s+2026-01-01T00:00:00Z/)
  await page.screenshot({ path: process.env.EVIDENTIA_SCREENSHOT || 'verifier.png', fullPage: true })
})

test('without the event, VALID, and the event is said not to be compared', async () => {
  const text = await verify({ receipt: valid.receipt, jwks: valid.jwks })
  assert.match(text, /^VALID/)
  assert.match(text, /Not checked[\s\S]*No original event was given/)
})

test('a receipt whose recorded time was changed shows INVALID: changed since signed', async () => {
  const text = await verify({ ...valid, receipt: withChangedTime(valid.receipt) })
  assert.match(text, /^INVALID/)
  assert.match(text, /✗ Failed\s+Nothing in it has changed since it was signed/)
  assert.match(text, /SIGNATURE_INVALID/)
})

test('another event than the one recorded shows INVALID: the event does not match', async () => {
  const text = await verify({ ...valid, event: '{"type":"payment.approved","amount":{"value":"9250.00","currency":"EUR"},"payment_id":"PAY-1"}' })
  assert.match(text, /^INVALID/)
  assert.match(text, /✗ Failed\s+The event given matches the one recorded/)
  assert.match(text, /not the one that was signed/)
  assert.match(text, /EVENT_MISMATCH/)
})

test('the wrong key shows INVALID: not signed with a given key', async () => {
  const text = await verify({ ...valid, jwks: JSON.stringify({ keys: [JSON.parse(otherKey.public_jwk)] }) })
  assert.match(text, /^INVALID/)
  assert.match(text, /✗ Failed\s+It was signed with one of the given keys/)
  assert.match(text, /KEY_NOT_FOUND/)
})

test('garbage shows INVALID with a clear reason, and the page keeps working', async () => {
  for (const [input, code] of [
    [{ receipt: 'hello, world', jwks: valid.jwks }, 'JWS_MALFORMED'],
    [{ receipt: valid.receipt, jwks: '{"keys": [' }, 'KEY_SET_MALFORMED'],
    [{ receipt: '{"type":"evidentia-batch-receipt"', jwks: valid.jwks }, 'BATCH_RECEIPT_MALFORMED'],
    [{ receipt: valid.receipt, jwks: valid.jwks, event: '{"a":1,"a":2}' }, 'JSON_DUPLICATE_KEY'],
  ]) {
    const text = await verify(input)
    assert.match(text, /^INVALID — this could not be read/, text)
    assert.ok(text.includes(code), `${code} in ${text}`)
  }
  assert.match(await verify({ receipt: valid.receipt }), /^INVALID — nothing was checked\. .*public keys/)
  assert.match(await verify({}), /^INVALID — nothing was checked\. Paste or drop a receipt/)
  assert.match(await verify(valid), /^VALID/)
})

test('a batch receipt, and an evidence file that carries its own keys and event', async () => {
  const text = await verify({ receipt: batch.batch_receipt, jwks: batch.jwks, event: batch.event })
  assert.match(text, /^VALID — this batch receipt is genuine/)
  assert.equal(text.match(/✓ Passed/g).length, 5, text)
  const evidence = JSON.stringify({ receipt: valid.receipt, jwks: JSON.parse(valid.jwks), event: JSON.parse(valid.event) }, null, 2)
  const fromFile = await verify({ receipt: evidence })
  assert.match(fromFile, /^VALID[\s\S]*✓ Passed\s+The event given matches/)
  assert.match(fromFile, /The keys came with the evidence file/)
  assert.doesNotMatch(await verify({ receipt: evidence, jwks: valid.jwks }), /The keys came with the evidence file/)
  // Keys pasted replace the file's: another key set, and the receipt is not signed by one of its keys.
  const strangers = JSON.stringify({ keys: [JSON.parse(otherKey.public_jwk)] })
  assert.match(await verify({ receipt: evidence, jwks: strangers }), /^INVALID[\s\S]*KEY_NOT_FOUND/)
  // The file brings its own event: another one pasted is refused, not silently left out.
  assert.match(await verify({ receipt: evidence, event: valid.event }), /^INVALID — nothing was checked\. An evidence file brings its own event/)
  const both = JSON.stringify({ receipt: valid.receipt, batch_receipt: batch.batch_receipt, jwks: valid.jwks })
  assert.match(await verify({ receipt: both }), /^INVALID — nothing was checked\. .*both a receipt and a batch receipt/)
  const batchEvidence = JSON.stringify({ batch_receipt: JSON.parse(batch.batch_receipt), jwks: batch.jwks, event: JSON.parse(batch.event) })
  assert.match(await verify({ receipt: batchEvidence }), /^VALID — this batch receipt/)
  // A string event is the JSON string itself (SPEC §18), not JSON text to be read.
  const eventAsText = JSON.stringify({ batch_receipt: JSON.parse(batch.batch_receipt), jwks: batch.jwks, event: batch.event })
  assert.match(await verify({ receipt: eventAsText }), /^INVALID[\s\S]*EVENT_MISMATCH/)
})

test('dropped files land in the right inputs', async () => {
  await verify({})
  const files = [['event.json', valid.event], ['keys.jwks', valid.jwks], ['receipt.jws', `${valid.receipt}\n`]]
  const transfer = await page.evaluateHandle((files) => {
    const transfer = new DataTransfer()
    for (const [name, text] of files) transfer.items.add(new File([text], name))
    return transfer
  }, files)
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer })
  await page.waitForFunction(() => document.querySelector('[data-testid=receipt-input]').value !== '')
  assert.equal(await page.getByTestId('event-input').inputValue(), valid.event.trim())
  assert.equal(await page.getByTestId('jwks-input').inputValue(), valid.jwks.trim())
  await page.getByTestId('verify-button').click()
  assert.match(await page.getByTestId('result').innerText(), /^VALID/)
})

test('every evidence file of the hostile corpus gives a verdict, and any code shown is of the table', async () => {
  const codes = new Set(load('errors.json').codes.map((c) => c.name).filter((n) => n !== 'INTERNAL'))
  const cases = load('hostile.json').cases.filter((c) => c.kind === 'evidence')
  assert.ok(cases.length > 100)
  for (const kase of cases) {
    // As a file dropped or pasted as text: bytes that are not UTF-8 become U+FFFD.
    const text = await verify({ receipt: Buffer.from(kase.input, 'base64').toString('utf8') })
    assert.match(text, /^(VALID|INVALID)/, `${kase.name}: ${text}`)
    for (const line of await page.getByTestId('result').locator('.technical').allInnerTexts()) {
      assert.ok(codes.has(line.split(':')[0]), `${kase.name}: ${line}`)
    }
  }
  assert.match(await verify(valid), /^VALID/)
})

test('nothing but the page itself was loaded, and nothing went wrong in it', () => {
  assert.deepEqual(problems, [])
})
