// One run of the side-by-side benchmark in headless Chromium (driven by `cargo xtask bench`).
//
//   node browser.mjs IMPLEMENTATION INPUTS [--quick | --check]
//
// IMPLEMENTATION is `evidentia-wasm` (the WASM build for the web, EVIDENTIA_WEB_PKG),
// `evidentia-wasm-webcrypto` (the same build's async functions, whose signatures
// WebCrypto checks; it also verifies the whole log, fetched from INPUTS) or
// `canonicalize+jose` (the `canonicalize` package and `jose` on WebCrypto, served
// from this folder's node_modules). The page is the verifier page's origin, so the
// code runs under its content security policy, as an auditor's browser would run it.
// Prints one JSON line per workload with its median time per operation, in the
// format of bench.js. With --check, a receipt made in the page by `jose` verifies
// with Evidentia, the log's receipt verifies with `jose`, and the canonical forms of
// both libraries agree (the smoke test of `cargo xtask test`).

import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { launch, serve } from '../../wasm/e2e/browser.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const [implementation, inputs] = process.argv.slice(2)
if (!['evidentia-wasm', 'evidentia-wasm-webcrypto', 'canonicalize+jose'].includes(implementation) || !inputs) {
  console.error('usage: node browser.mjs evidentia-wasm|evidentia-wasm-webcrypto|canonicalize+jose INPUTS [--quick | --check]')
  process.exit(2)
}
const read = (name) => readFileSync(path.join(inputs, name), 'utf8')
const input = {
  implementation,
  event1k: read('event-1k.json'),
  doc64k: read('doc-64k.json'),
  jwk: JSON.parse(read('key.jwk')),
  jwks: read('keys.jwks'),
  receipt: read('receipt.jws').trim(),
  receiptEvent: read('receipt-event.json'),
  // A second from now: within the key's validity, which starts when the log was made.
  now: new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  scale: process.argv.includes('--quick') ? 10 : 1,
  check: process.argv.includes('--check'),
}

// Runs in the page.
async function inPage(input) {
  const evidentia = await import('/pkg/index.js')
  const { default: canonicalize } = await import('/peers/canonicalize/lib/canonicalize.js')
  const jose = await import('/peers/jose/dist/webapi/index.js')
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const dumps = (value) => encoder.encode(canonicalize(value))
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('')
  const digest = async (bytes) => 'sha256:' + hex(await crypto.subtle.digest('SHA-256', bytes))
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])
  const { d, ...publicJwk } = input.jwk
  const privateKey = await jose.importJWK(input.jwk, 'ES256')
  const publicKey = await jose.importJWK(publicJwk, 'ES256')

  // Evidentia's receipt checks (SPEC.md §6-7) with `canonicalize`, `jose` and WebCrypto.
  const peerVerify = async (receipt, eventText) => {
    const { payload, protectedHeader } = await jose.compactVerify(receipt, publicKey, { algorithms: ['ES256'] })
    if (protectedHeader.typ !== 'evidentia-receipt+jws' || protectedHeader.kid !== input.jwk.kid) {
      throw new Error('not a receipt of this key')
    }
    const record = JSON.parse(decoder.decode(payload))
    if (!equal(dumps(record), payload)) throw new Error('the record is not canonical')
    if (record.event !== (await digest(dumps(JSON.parse(eventText))))) throw new Error('another event')
    return record
  }
  // Keys parsed once, as `jose` imports its key once.
  const keys = evidentia.KeySet.fromJson(input.jwks)
  const ourVerify = (receipt, eventText) => {
    const report = evidentia.verifyReceipt(receipt, keys, eventText)
    const valid = report.valid
    report.free()
    if (!valid) throw new Error('a receipt did not verify')
  }

  const ourVerifyAsync = async (receipt, eventText) => {
    const report = await evidentia.verifyReceiptAsync(receipt, keys, eventText)
    const valid = report.valid
    report.free()
    if (!valid) throw new Error('a receipt did not verify')
  }

  if (input.check) {
    await ourVerifyAsync(input.receipt, input.receiptEvent)
    const record = {
      event: await digest(dumps(JSON.parse(input.event1k))),
      kid: input.jwk.kid,
      log_id: 'bench.evidentia.dev/compare',
      prev: null,
      seq: 0,
      time: input.now,
      v: 1,
    }
    const theirs = await new jose.CompactSign(dumps(record))
      .setProtectedHeader({ alg: 'ES256', kid: input.jwk.kid, typ: 'evidentia-receipt+jws' })
      .sign(privateKey)
    ourVerify(theirs, input.event1k)
    await peerVerify(input.receipt, input.receiptEvent)
    if (!equal(evidentia.canonicalize(input.doc64k), dumps(JSON.parse(input.doc64k)))) {
      throw new Error('canonical forms differ')
    }
    return 'ok'
  }

  const medianNs = async (call, perRepeat) => {
    await call() // warm up
    const times = []
    for (let r = 0; r < 7; r++) {
      const start = performance.now()
      for (let i = 0; i < perRepeat; i++) await call()
      times.push(((performance.now() - start) * 1e6) / perRepeat)
    }
    times.sort((a, b) => a - b)
    return times[3]
  }
  const workloads =
    input.implementation === 'evidentia-wasm'
      ? {
          canonicalize_1k: () => evidentia.canonicalize(input.event1k),
          canonicalize_64k: () => evidentia.canonicalize(input.doc64k),
          verify_receipt: () => ourVerify(input.receipt, input.receiptEvent),
        }
      : input.implementation === 'evidentia-wasm-webcrypto'
      ? { verify_receipt: () => ourVerifyAsync(input.receipt, input.receiptEvent) }
      : {
          canonicalize_1k: () => dumps(JSON.parse(input.event1k)),
          canonicalize_64k: () => dumps(JSON.parse(input.doc64k)),
          verify_receipt: () => peerVerify(input.receipt, input.receiptEvent),
        }
  const perRepeat = { canonicalize_1k: 2000, canonicalize_64k: 40, verify_receipt: 300 }
  const results = []
  for (const [workload, call] of Object.entries(workloads)) {
    results.push({ workload, median_ns: await medianNs(call, perRepeat[workload] / input.scale) })
  }
  if (input.implementation === 'evidentia-wasm-webcrypto') {
    // The whole log, as an auditor's page holds it: fetched, then one timed call.
    const lines = async (name) => (await (await fetch(`/inputs/${name}`)).text()).split('\n').filter((l) => l !== '')
    const [receipts, events] = [await lines('log-receipts.txt'), await lines('log-events.jsonl')]
    // A log stores each event in its canonical form, as verification requires.
    const entries = receipts.map((entry, i) => ({ entry, event: decoder.decode(evidentia.canonicalize(events[i])) }))
    const start = performance.now()
    const report = await evidentia.verifyLogEntriesAsync(entries, keys)
    const elapsed = performance.now() - start
    if (!report.valid || report.records !== entries.length) throw new Error(`the log did not verify: ${report.summary}`)
    report.free()
    results.push({ workload: 'verify_log', median_ns: elapsed * 1e6 })
  }
  return results
}

const server = await serve({ '/peers/': path.join(HERE, 'node_modules'), '/inputs/': path.resolve(inputs) })
const browser = await launch()
try {
  const page = await browser.context.newPage()
  await page.goto(server.url)
  const result = await page.evaluate(inPage, input)
  if (input.check) {
    console.log(JSON.stringify({ implementation, check: result }))
  } else {
    for (const row of result) console.log(JSON.stringify({ implementation, ...row }))
  }
} finally {
  await browser.close()
  await server.close()
}
