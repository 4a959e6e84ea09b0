// verifyReceiptAsync and verifyLogEntriesAsync check signatures with the runtime's
// WebCrypto and must give the report the synchronous functions give, on every
// shared vector, whatever WebCrypto answers: "invalid" (right or wrong) is checked
// again in WebAssembly, and without WebCrypto everything is.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE = process.env.EVIDENTIA_JS_PACKAGE
if (!PACKAGE) throw new Error('EVIDENTIA_JS_PACKAGE must name the Node.js build of the WASM package')
const evidentia = require(PACKAGE)

const VECTORS = process.env.EVIDENTIA_VECTORS || path.resolve(__dirname, '../../testvectors')
const load = (name) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8'))

/** Every receipt and log of the shared vectors, as [name, sync call, async call]. */
function cases () {
  const out = []
  for (const kase of load('receipts.json').verify.filter((k) => !('error' in k))) {
    out.push([kase.name, () => evidentia.verifyReceipt(kase.receipt, kase.jwks, kase.event),
      () => evidentia.verifyReceiptAsync(kase.receipt, kase.jwks, kase.event)])
  }
  for (const kase of load('batch_receipts.json').verify.filter((k) => !('error' in k))) {
    out.push([kase.name, () => evidentia.verifyReceipt(kase.batch_receipt, kase.jwks, kase.event),
      () => evidentia.verifyReceiptAsync(kase.batch_receipt, kase.jwks, kase.event)])
  }
  const logs = load('logs.json')
  const keys = evidentia.KeySet.fromJson(logs.jwks)
  for (const kase of logs.cases) {
    const entries = kase.entries.map((e) => ({ entry: e.receipt, event: e.event ?? undefined }))
    out.push([kase.name, () => evidentia.verifyLogEntries(entries, keys),
      () => evidentia.verifyLogEntriesAsync(entries, keys)])
  }
  // A longer log made here, with one signature forged in its middle.
  const key = evidentia.SigningKey.generate()
  const chain = new evidentia.ReceiptChain('example.com/webcrypto')
  const entries = []
  for (let n = 0; n < 40; n++) entries.push({ entry: chain.issue(key, { n }), event: JSON.stringify({ n }) })
  const forged = entries.map((e) => ({ ...e }))
  const signature = Buffer.from(forged[17].entry.split('.')[2], 'base64url')
  signature[5] ^= 1
  forged[17].entry = forged[17].entry.replace(/[^.]+$/, signature.toString('base64url'))
  const jwks = `{"keys":[${key.publicJwk()}]}`
  out.push(['40 receipts', () => evidentia.verifyLogEntries(entries, jwks),
    () => evidentia.verifyLogEntriesAsync(entries, jwks)])
  out.push(['40 receipts, one forged', () => evidentia.verifyLogEntries(forged, jwks),
    () => evidentia.verifyLogEntriesAsync(forged, jwks)])
  return out
}

/** Runs every case with `subtle.verify` replaced by `verify` (or removed). */
async function withVerify (verify, check) {
  const crypto = globalThis.crypto
  const subtle = crypto.subtle
  const original = subtle.verify
  if (verify === undefined) {
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true })
  } else {
    subtle.verify = verify
  }
  try {
    await check()
  } finally {
    if (verify === undefined) Object.defineProperty(globalThis, 'crypto', { value: crypto, configurable: true })
    subtle.verify = original
  }
}

// Made before any test takes WebCrypto away (key generation needs its random source).
const CASES = cases()

async function sameReports (how) {
  let invalid = 0
  for (const [name, sync, async] of CASES) {
    const expected = sync()
    const report = await async()
    assert.equal(report.toJson(), expected.toJson(), `${name} (${how})`)
    if (!expected.valid) invalid++
  }
  assert.ok(invalid >= 5, `${invalid} invalid cases`)
}

test('the async functions give the synchronous report on every vector, with WebCrypto checking', async () => {
  const subtle = globalThis.crypto.subtle
  let calls = 0
  const real = subtle.verify.bind(subtle)
  await withVerify((...args) => { calls++; return real(...args) }, () => sameReports('WebCrypto'))
  assert.ok(calls > 80, `WebCrypto made ${calls} checks`)
})

test('a WebCrypto that answers "invalid", or fails, never decides a report', async () => {
  await withVerify(async () => false, () => sameReports('answers false'))
  await withVerify(() => Promise.reject(new Error('refused')), () => sameReports('rejects'))
  await withVerify(() => { throw new Error('throws') }, () => sameReports('throws'))
})

test('without WebCrypto the module checks every signature itself', async () => {
  await withVerify(undefined, () => sameReports('no WebCrypto'))
})

test('the async functions reject bad arguments with coded Errors', async () => {
  const coded = (code) => (error) => error instanceof Error && error.code === code
  await assert.rejects(evidentia.verifyReceiptAsync('x', 'not a JWKS'), coded('KEY_SET_MALFORMED'))
  await assert.rejects(evidentia.verifyReceiptAsync(42, '{"keys":[]}'), coded('INVALID_ARGUMENT'))
  await assert.rejects(evidentia.verifyLogEntriesAsync('no', '{"keys":[]}'), coded('INVALID_ARGUMENT'))
})

test('Node\'s WebCrypto calls no Wycheproof ECDSA P-256 signature valid that is not', async () => {
  // The async functions take WebCrypto's "valid" on its word (its "invalid" is checked again).
  const doc = load('external/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json')
  const hex = (text) => Buffer.from(text, 'hex')
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
  assert.deepEqual(wrong, [])
  assert.equal(checked, doc.numberOfTests)
})

test('a key WebCrypto imported wrongly once is not carried into later verifications', async () => {
  // importKey patched for one call gives another party's key for the victim's;
  // once it is restored, a receipt that party signed under the victim's kid fails.
  const nodeCrypto = require('node:crypto')
  const victim = evidentia.SigningKey.generate()
  const jwks = `{"keys":[${victim.publicJwk()}]}`
  const kid = JSON.parse(victim.publicJwk()).kid
  const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const event = { pay: 'someone else', amount: 1000000 }
  const digest = 'sha256:' + nodeCrypto.createHash('sha256').update(evidentia.canonicalize(event)).digest('hex')
  const b64 = (s) => Buffer.from(s).toString('base64url')
  const header = b64(JSON.stringify({ alg: 'ES256', kid, typ: 'evidentia-receipt+jws' }))
  const record = b64(JSON.stringify({ event: digest, kid, log_id: 'example.com/x', prev: null, seq: 0, time: '2026-12-04T17:36:12.407Z', v: 1 }))
  const signature = nodeCrypto.sign('sha256', Buffer.from(`${header}.${record}`), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  const forged = `${header}.${record}.${signature.toString('base64url')}`

  const subtle = globalThis.crypto.subtle
  const original = subtle.importKey
  const other = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65)
  subtle.importKey = function (format, data, ...rest) {
    subtle.importKey = original
    return original.call(subtle, format, other, ...rest)
  }
  await evidentia.verifyReceiptAsync(forged, jwks, event)
  assert.equal(subtle.importKey, original)
  assert.equal(evidentia.verifyReceipt(forged, jwks, event).valid, false)
  assert.equal((await evidentia.verifyReceiptAsync(forged, jwks, event)).valid, false)
  const log = await evidentia.verifyLogEntriesAsync([{ entry: forged, event: JSON.stringify(event) }], jwks)
  assert.equal(log.valid, false)
})

test('a WebCrypto that never answers leaves the checks to the module after its time', async () => {
  const [name, sync, async] = CASES.find(([, sync]) => !sync().valid)
  await withVerify(() => new Promise(() => {}), async () => {
    const started = Date.now()
    assert.equal((await async()).toJson(), sync().toJson(), name)
    assert.ok(Date.now() - started >= 10_000)
  })
})
