// The verifier page (examples/web) in real headless Chromium: what a counterparty
// sees for a valid receipt, a tampered one, the wrong key and garbage, with the
// network cut after load; an evidence file of another party's signed message; and
// the partners' signature vectors run in the browser. Run by `cargo xtask test wasm`.
//
//   EVIDENTIA_WEB_PKG     the web build of the WASM package
//   EVIDENTIA_CLI         the evidentia command, which makes the signed message's evidence file
//   EVIDENTIA_SCREENSHOT  where to save a screenshot of a verified receipt

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openVerifier } from './browser.mjs'

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testvectors')
const load = (name) => JSON.parse(readFileSync(path.join(VECTORS, name), 'utf8'))

const receipts = load('receipts.json').verify
const valid = receipts.find((k) => k.name === 'valid, with the event re-formatted')
const batch = load('batch_receipts.json').verify.find((k) => k.valid)
const otherKey = load('keys.json').keys.find((k) => k.kid !== JSON.parse(valid.jwks).keys[0].kid)

/**
 * An evidence file of a record holding another party's signed message (RFC 7515
 * A.3, ES256), as `evidentia message record` and `log receipt --evidence` make it.
 */
function messageEvidence() {
  const cli = process.env.EVIDENTIA_CLI
  if (!cli) throw new Error('EVIDENTIA_CLI must name the evidentia command (cargo xtask test wasm sets it)')
  const dir = mkdtempSync(path.join(tmpdir(), 'evidentia-page-'))
  try {
    const kase = load('partner.json').jws.find((k) => k.source === 'RFC 7515 A.3')
    const file = (name, text) => {
      writeFileSync(path.join(dir, name), text)
      return path.join(dir, name)
    }
    const provenance = {
      jwks_url: 'https://joe.example/.well-known/jwks.json',
      fetched_at: '2026-01-01T00:00:00Z',
      partner_id: 'joe',
      established_by: 'contract 7',
    }
    const run = (...args) => execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    run('keygen', '--out', path.join(dir, 'log.jwk'))
    run('log', 'init', path.join(dir, 'log'), '--key', path.join(dir, 'log.jwk'), '--id', 'example.com/partners')
    run('message', 'record', path.join(dir, 'log'), '--jws', file('message.jws', kase.jws),
      '--keys', file('keys.jwks', JSON.stringify(kase.keys)), '--provenance', file('provenance.json', JSON.stringify(provenance)),
      '--direction', 'inbound')
    return { evidence: run('log', 'receipt', path.join(dir, 'log'), '--index', '0', '--evidence'), kase, provenance }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The receipt with its record's time changed and the signature kept. */
function withChangedTime(receipt) {
  const [header, payload, signature] = receipt.split('.')
  const record = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  record.time = '2027-06-30T12:00:00Z'
  const changed = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(record).sort()))).toString('base64url')
  return [header, changed, signature].join('.')
}

let verifier
let page
let problems // console errors, page errors, requests to anywhere but the server

before(async () => {
  verifier = await openVerifier()
  ;({ page, problems } = verifier)
})

after(async () => {
  await verifier?.close()
})

/** Fills the three inputs (absent ones emptied), presses Verify, returns the result text. */
async function verify({ receipt = '', jwks = '', event = '', salt = '' }) {
  await page.getByTestId('receipt-input').fill(receipt)
  await page.getByTestId('jwks-input').fill(jwks)
  await page.getByTestId('event-input').fill(event)
  await page.getByTestId('salt-input').fill(salt)
  return press()
}

/** Presses Verify and returns the result text once shown (the page verifies asynchronously). */
async function press() {
  await page.getByTestId('result').evaluate((node) => node.replaceChildren())
  await page.getByTestId('verify-button').click()
  await page.waitForFunction(() => document.querySelector('[data-testid="result"]').childElementCount > 0)
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

test('a version-2 record\'s event is checked with its salt, and without it nothing is', async () => {
  const kase = path.join(VECTORS, 'conformance/cases/receipt/184-version-2-event-with-its-salt')
  const read = (name) => readFileSync(path.join(kase, name))
  const salted = { receipt: read('receipt.jws').toString('utf8'), jwks: read('keys.jwks').toString('utf8'), event: read('event.json').toString('utf8') }
  const salt = read('salt.bin').toString('hex')
  assert.match(await verify({ ...salted, salt }), /^VALID[\s\S]*✓ Passed\s+The event given matches/)
  assert.match(await verify({ ...salted, salt: salt.toUpperCase() }), /^VALID/)
  assert.match(await verify({ ...salted, salt: `${salt.slice(0, -2)}00` }), /^INVALID[\s\S]*EVENT_MISMATCH/)
  assert.match(await verify(salted), /^INVALID — nothing was checked\. [\s\S]*salt/)
  assert.match(await verify({ ...salted, salt: 'not hex' }), /^INVALID — nothing was checked\. The salt is written in hex/)
  // An evidence file brings its own salt, as its own event.
  const evidence = JSON.stringify({ receipt: salted.receipt, jwks: JSON.parse(salted.jwks), event: JSON.parse(salted.event), salt_hex: salt })
  assert.match(await verify({ receipt: evidence }), /^VALID/)
  assert.match(await verify({ receipt: evidence, salt }), /^INVALID — nothing was checked\. An evidence file brings its own event and salt/)
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
  assert.match(await press(), /^VALID/)
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

test('an evidence file of another party\'s signed message shows the message, as recorded and checked again', async () => {
  const { evidence, kase, provenance } = messageEvidence()
  const text = await verify({ receipt: evidence })
  assert.match(text, /^VALID/)
  assert.equal(text.match(/✓ Passed/g).length, 5, text)
  assert.match(text, /✓ Passed\s+The other party's signature checks out again/)
  const message = await page.getByTestId('message').innerText()
  assert.match(message, /A message signed by another party/)
  assert.match(message, /Direction\s+inbound \(received from the other party\)/)
  assert.match(message, /Result recorded\s+valid/)
  assert.match(message, /Checking again agrees\s+yes/)
  assert.match(message, /Algorithm\s+ES256/)
  const thumbprint = JSON.parse(evidence).event.evidentia_signed_message.verification.key_thumbprint
  assert.ok(message.includes(`Key thumbprint\t${thumbprint}`) || message.includes(thumbprint), message)
  assert.match(message, /Key type\s+EC P-256/)
  assert.match(message, /"iss": "joe"/)
  assert.match(message, /"http:\/\/example.com\/is_root": true/)
  for (const [name, value] of Object.entries(provenance)) assert.ok(message.includes(name) && message.includes(value), `${name} in ${message}`)
  assert.ok(kase.jws.length > 0)
  await page.screenshot({ path: (process.env.EVIDENTIA_SCREENSHOT || 'verifier.png').replace(/\.png$/, '-message.png'), fullPage: true })

  // The message changed in the file: the event no longer matches its record.
  const changed = JSON.parse(evidence)
  changed.event.evidentia_signed_message.provenance.partner_id = 'mallory'
  const tampered = await verify({ receipt: JSON.stringify(changed) })
  assert.match(tampered, /^INVALID[\s\S]*EVENT_MISMATCH/)
  assert.match(await page.getByTestId('message').innerText(), /not to be trusted/)
  // An ordinary evidence file shows no message.
  await verify({ receipt: JSON.stringify({ receipt: valid.receipt, jwks: JSON.parse(valid.jwks), event: JSON.parse(valid.event) }) })
  assert.equal(await page.getByTestId('message').count(), 0)
})

test('partners\' signature vectors (partner.json), every case, in the browser', async () => {
  const doc = load('partner.json')
  const counts = await page.evaluate(async (doc) => {
    const wasm = await import('/pkg/index.js')
    const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16))
    const b64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    const outcome = (call) => {
      try {
        call()
        return null
      } catch (error) {
        return error.code ?? `not coded: ${error}`
      }
    }
    const wrong = []
    let signatures = 0
    let jws = 0
    for (const kase of doc.signatures) {
      const got = outcome(() => wasm.verifyPartnerSignature(kase.alg, doc.keys[kase.key], hex(kase.message), hex(kase.signature)))
      if (got !== kase.code) wrong.push(`${kase.source}: ${got}`)
      signatures += 1
    }
    for (const kase of doc.jws) {
      const payload = kase.payload === undefined ? undefined : b64url(kase.payload)
      const got = outcome(() => wasm.verifyPartnerJws(kase.jws, JSON.stringify(kase.keys), payload))
      if (got !== kase.code) wrong.push(`${kase.source}: ${got}`)
      jws += 1
    }
    return { signatures, jws, wrong }
  }, doc)
  assert.deepEqual(counts.wrong, [])
  assert.equal(counts.signatures, doc.signatures.length)
  assert.equal(counts.jws, doc.jws.length)
  assert.deepEqual([counts.signatures, counts.jws], [1519, 33])
})

test('WebCrypto checks the signatures of the async functions, which give the synchronous reports', async () => {
  const cases = [
    ...load('receipts.json').verify.filter((k) => !('error' in k)).map((k) => ({ name: k.name, receipt: k.receipt, jwks: k.jwks, event: k.event })),
    ...load('batch_receipts.json').verify.filter((k) => !('error' in k)).map((k) => ({ name: k.name, receipt: k.batch_receipt, jwks: k.jwks, event: k.event })),
  ]
  const logs = load('logs.json')
  const outcome = await page.evaluate(async ({ cases, logs }) => {
    const wasm = await import('/pkg/index.js')
    const subtle = crypto.subtle
    const real = subtle.verify
    let calls = 0
    subtle.verify = function (...args) { calls++; return real.apply(subtle, args) }
    const differ = []
    let invalid = 0
    try {
      for (const k of cases) {
        const [sync, async] = [wasm.verifyReceipt(k.receipt, k.jwks, k.event), await wasm.verifyReceiptAsync(k.receipt, k.jwks, k.event)]
        if (sync.toJson() !== async.toJson()) differ.push(k.name)
        if (!sync.valid) invalid++
      }
      for (const k of logs.cases) {
        const entries = k.entries.map((e) => ({ entry: e.receipt, event: e.event ?? undefined }))
        const [sync, async] = [wasm.verifyLogEntries(entries, logs.jwks), await wasm.verifyLogEntriesAsync(entries, logs.jwks)]
        if (sync.toJson() !== async.toJson()) differ.push(k.name)
        if (!sync.valid) invalid++
      }
    } finally {
      subtle.verify = real
    }
    return { differ, invalid, calls }
  }, { cases, logs })
  assert.deepEqual(outcome.differ, [])
  assert.ok(outcome.invalid >= 5, `${outcome.invalid} invalid cases`)
  assert.ok(outcome.calls > 60, `WebCrypto made ${outcome.calls} checks`)
})

test('Chromium\'s WebCrypto calls no Wycheproof ECDSA P-256 signature valid that is not', async () => {
  // The async functions take WebCrypto's "valid" on its word (its "invalid" is checked again).
  const doc = load('external/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json')
  const outcome = await page.evaluate(async (doc) => {
    const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16))
    const wrong = []
    let checked = 0
    for (const group of doc.testGroups) {
      const key = await crypto.subtle.importKey('raw', hex(group.publicKey.uncompressed), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
      for (const t of group.tests) {
        const answer = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, hex(t.sig), hex(t.msg)).catch(() => false)
        if (answer && t.result === 'invalid') wrong.push(t.tcId)
        checked++
      }
    }
    return { wrong, checked }
  }, doc)
  assert.deepEqual(outcome.wrong, [])
  assert.equal(outcome.checked, doc.numberOfTests)
})

test('nothing but the page itself was loaded, and nothing went wrong in it', () => {
  assert.deepEqual(problems, [])
})
