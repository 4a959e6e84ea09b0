// What only the WASM build has to get right: arguments checked here rather than by
// napi-rs, strings crossing into UTF-8, panics, and Promises. The shared vectors and
// docs/API.md run against it from bindings/node/tests/ (cargo xtask test wasm).
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
const CODES = new Set(evidentia.errorCodes().map((c) => c.name))

/** Asserts that `call` throws an Error whose `code` is `code`, a name of the table. */
function throwsCode(call, code, message) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof Error, `${message}: not an Error: ${error}`)
    assert.equal(error.code, code, `${message}: ${error.message}`)
    assert.ok(CODES.has(error.code), message)
    assert.ok(error.message.length > 0, message)
    return true
  }, message)
}

const keyDoc = load('keys.json').keys[0]
const receipts = load('receipts.json')
const validReceipt = receipts.verify.find((k) => k.valid === true && k.event !== undefined)

test('arguments of the wrong type throw INVALID_ARGUMENT, never a coercion', () => {
  const key = evidentia.SigningKey.fromJwk(keyDoc.private_jwk)
  const cases = [
    ['fromJwk(object)', () => evidentia.SigningKey.fromJwk({ kty: 'EC' })],
    ['fromPem(undefined)', () => evidentia.SigningKey.fromPem()],
    ['signJws(string)', () => key.signJws('payload')],
    ['signJws(array)', () => key.signJws([1, 2, 3])],
    ['signJws(no payload)', () => key.signJws()],
    ['signJws(options not an object)', () => key.signJws(new Uint8Array(1), 'detached')],
    ['signJws(detached: 1)', () => key.signJws(new Uint8Array(1), { detached: 1 })],
    ['sha256(string)', () => evidentia.sha256('abc')],
    ['sha256(Uint16Array)', () => evidentia.sha256(new Uint16Array(2))],
    ['jwkThumbprint(number)', () => evidentia.jwkThumbprint(7)],
    ['verifyJws(null jws)', () => evidentia.verifyJws(null, keyDoc.public_jwk)],
    ['verifyJws(payload string)', () => evidentia.verifyJws('a.b.c', keyDoc.public_jwk, 'x')],
    ['verifyReceipt(number)', () => evidentia.verifyReceipt(42, keyDoc.public_jwk)],
    ['verifyReceipt(jwks object)', () => evidentia.verifyReceipt(validReceipt.receipt, JSON.parse(validReceipt.jwks))],
    ['verifyLogEntries(not an array)', () => evidentia.verifyLogEntries('[]', keyDoc.public_jwk)],
    ['verifyLogEntries(entry a string)', () => evidentia.verifyLogEntries(['x'], keyDoc.public_jwk)],
    ['verifyLogEntries(entry without record)', () => evidentia.verifyLogEntries([{}], keyDoc.public_jwk)],
    ['verifyLogEntries(size -1)', () => evidentia.verifyLogEntries([], keyDoc.public_jwk, [{ size: -1, note: '' }])],
    ['verifyLogEntries(size 1.5)', () => evidentia.verifyLogEntries([], keyDoc.public_jwk, [{ size: 1.5, note: '' }])],
    ['verifyInclusionProof(31-byte root)', () => evidentia.verifyInclusionProof('{}', new Uint8Array(1), new Uint8Array(31))],
    ['canonicalize(Float64Array)', () => evidentia.canonicalize(new Float64Array(1))],
    ['canonicalize(ArrayBuffer)', () => evidentia.canonicalize(new ArrayBuffer(2))],
  ]
  for (const [name, call] of cases) {
    // Some of these reach a parser first (a proof's JSON); all must be refused with a code.
    assert.throws(call, (error) => error instanceof Error && CODES.has(error.code), name)
  }
  for (const [name, call] of cases.filter(([n]) => !n.startsWith('verifyInclusionProof'))) {
    throwsCode(call, 'INVALID_ARGUMENT', name)
  }
})

test('JavaScript values without a JSON equivalent are refused, not changed', () => {
  const cases = [
    [undefined, 'JSON_UNSUPPORTED_TYPE'],
    [{ a: undefined }, 'JSON_UNSUPPORTED_TYPE'],
    [{ f() {} }, 'JSON_UNSUPPORTED_TYPE'],
    [[Symbol('s')], 'JSON_UNSUPPORTED_TYPE'],
    [new Date(0), 'JSON_UNSUPPORTED_TYPE'],
    [new Map(), 'JSON_UNSUPPORTED_TYPE'],
    [[1, , 3], 'JSON_UNSUPPORTED_TYPE'], // eslint-disable-line no-sparse-arrays
    [{ n: NaN }, 'JSON_NON_FINITE'],
    [{ n: Infinity }, 'JSON_NON_FINITE'],
    [2n ** 53n, 'JSON_INTEGER_PRECISION'],
  ]
  for (const [value, code] of cases) {
    throwsCode(() => evidentia.canonicalize(value), code, `${code} case`)
  }
  let deep = 1
  for (let i = 0; i < 10000; i++) deep = [deep]
  throwsCode(() => evidentia.canonicalize(deep), 'JSON_TOO_DEEP', 'nested 10,000 deep')
  const text = (value) => new TextDecoder().decode(evidentia.canonicalize(value))
  assert.equal(text({ b: [1n, -0, 1e21, 'é'], a: null, c: true }), '{"a":null,"b":[1,0,1e+21,"é"],"c":true}')
  assert.equal(text(Object.assign(Object.create(null), { z: 1 })), '{"z":1}')
})

test('a lone surrogate is refused wherever a string crosses into UTF-8', () => {
  const lone = '\ud800'
  throwsCode(() => evidentia.canonicalize(`"${lone}"`), 'JSON_LONE_SURROGATE', 'JSON text')
  throwsCode(() => evidentia.canonicalize({ a: lone }), 'JSON_LONE_SURROGATE', 'a value')
  throwsCode(() => evidentia.canonicalize({ [lone]: 1 }), 'JSON_LONE_SURROGATE', 'a key')
  throwsCode(() => evidentia.verifyReceipt(validReceipt.receipt, validReceipt.jwks, { a: lone }), 'JSON_LONE_SURROGATE', 'an event')
  throwsCode(() => evidentia.jwkThumbprint(lone), 'JSON_LONE_SURROGATE', 'a JWK')
  // A surrogate pair is one character, and goes through.
  assert.equal(new TextDecoder().decode(evidentia.canonicalize({ a: '\ud83d\ude00' })), '{"a":"😀"}')
})

test('a panic is an Error with code INTERNAL, and the next call works', () => {
  throwsCode(() => evidentia.__evidentiaTestPanic(), 'INTERNAL', 'the panic')
  assert.match(
    (() => { try { evidentia.__evidentiaTestPanic() } catch (e) { return e.message } })(),
    /internal error in Evidentia .*the panic the tests ask for/,
  )
  const report = evidentia.verifyReceipt(validReceipt.receipt, validReceipt.jwks, validReceipt.event)
  assert.equal(report.valid, true)
  assert.equal(evidentia.SigningKey.fromJwk(keyDoc.private_jwk).kid, keyDoc.kid)
})

test('keys from the platform random source sign JWS that verify', () => {
  const a = evidentia.SigningKey.generate()
  const b = evidentia.SigningKey.generate()
  assert.notEqual(a.kid, b.kid)
  assert.equal(String(a), `SigningKey(kid=${a.kid})`)
  assert.ok(!String(a).includes(JSON.parse(a.toJwk()).d))
  const payload = new TextEncoder().encode('{"approved":true}')
  const jws = a.signJws(payload)
  const verified = evidentia.verifyJws(jws, a.publicJwk())
  assert.deepEqual(verified.payload, payload)
  assert.equal(verified.kid, a.kid)
  throwsCode(() => evidentia.verifyJws(jws, b.publicJwk()), 'KEY_NOT_FOUND', 'another key')
})

test('verifyLogEntriesAsync resolves to a report and rejects with a coded Error', async () => {
  const doc = load('logs.json')
  const kase = doc.cases.find((k) => k.valid)
  const entries = kase.entries.map((e) => ({ entry: e.receipt, event: e.event ?? undefined }))
  const report = await evidentia.verifyLogEntriesAsync(entries, doc.jwks)
  assert.equal(report.valid, true)
  assert.equal(report.records, entries.length)
  assert.equal(report.subject, 'log')
  await assert.rejects(evidentia.verifyLogEntriesAsync(entries, 'not a JWKS'), (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, 'KEY_SET_MALFORMED')
    return true
  })
})

test('a report explains itself', () => {
  const tampered = receipts.verify.find((k) => k.valid === false && k.failures.includes('EVENT_MISMATCH'))
  const report = evidentia.verifyReceipt(tampered.receipt, tampered.jwks, tampered.event)
  assert.equal(report.valid, false)
  assert.match(report.summary, /^INVALID/)
  assert.ok(report.checks.some((c) => c.status === 'failed' && c.description.length > 0))
  const finding = report.findings.find((f) => f.name === 'EVENT_MISMATCH')
  assert.equal(typeof finding.code, 'number')
  assert.equal(JSON.parse(report.toJson()).valid, false)
  assert.match(report.toText(), /EVENT_MISMATCH/)
  assert.equal(String(report), report.summary)
})

test('randomized signing is not available in WebAssembly: the key stays deterministic and says so', () => {
  const key = evidentia.SigningKey.generate()
  const same = key.withRandomizedSignatures()
  assert.deepEqual([key.randomized, same.randomized, same.kid], [false, false, key.kid])
  const payload = new TextEncoder().encode('{"amount":"1250.00"}')
  assert.equal(same.signJws(payload), key.signJws(payload))
})

test('an evidence file verifies with the keys it holds, or with trusted keys instead', () => {
  const key = evidentia.SigningKey.generate()
  const stranger = evidentia.SigningKey.generate()
  const jwks = `{"keys":[${key.publicJwk()}]}`
  const receipt = new evidentia.ReceiptChain('example.com/evidence').issue(key, { n: 1, a: [true] })
  const evidence = JSON.stringify({ receipt, jwks: JSON.parse(jwks), event: { a: [true], n: 1 } }, null, 2)
  for (const given of [evidence, new TextEncoder().encode(evidence)]) {
    const report = evidentia.verifyEvidenceFile(given)
    assert.ok(report.valid, report.toText())
    assert.equal(report.subject, 'receipt')
  }
  // Keys the verifier trusts replace the file's.
  assert.ok(evidentia.verifyEvidenceFile(evidence, jwks).valid)
  assert.ok(evidentia.verifyEvidenceFile(evidence, null).valid)
  const report = evidentia.verifyEvidenceFile(evidence, stranger.publicJwk())
  assert.deepEqual([report.valid, report.failureCodes], [false, ['KEY_NOT_FOUND']])
  const noKeys = JSON.stringify({ receipt, jwks: '{}' })
  throwsCode(() => evidentia.verifyEvidenceFile(noKeys), 'KEY_SET_MALFORMED', 'the file\'s key set')
  assert.ok(evidentia.verifyEvidenceFile(noKeys, jwks).valid)
  for (const [text, code] of [
    ['{"receipt":', 'JSON_SYNTAX'],
    ['[]', 'INVALID_ARGUMENT'],
    ['{"receipt": "a.b.c", "batch_receipt": "{}", "jwks": {}}', 'INVALID_ARGUMENT'],
    ['{"receipt": "a.b.c", "jwks": {"keys": []}}', 'JWS_MALFORMED'],
    [new Uint8Array([0xff]), 'JSON_INVALID_UTF8'],
    [new Uint16Array(2), 'INVALID_ARGUMENT'],
    [JSON.parse(evidence), 'INVALID_ARGUMENT'],
  ]) {
    throwsCode(() => evidentia.verifyEvidenceFile(text, jwks), code, String(text))
  }
  throwsCode(() => evidentia.verifyEvidenceFile(evidence, JSON.parse(jwks)), 'INVALID_ARGUMENT', 'jwks object')
})

test('a receipt chain in memory issues receipts that verify, and resumes', () => {
  const key = evidentia.SigningKey.generate()
  const jwks = `{"keys":[${key.publicJwk()}]}`
  const chain = new evidentia.ReceiptChain('example.com/browser')
  const first = chain.issue(key, { n: 1 }, { nonce: 'r-1' })
  const resumed = evidentia.ReceiptChain.resume(first)
  const second = resumed.issue(key, '{"n": 2}')
  assert.deepEqual([chain.logId, chain.length, resumed.length], ['example.com/browser', 1, 2])
  assert.ok(evidentia.verifyReceipt(first, jwks, { n: 1 }).valid)
  assert.ok(evidentia.verifyReceipt(second, jwks, { n: 2 }).valid)
  const entries = [{ entry: first, event: '{"n":1}' }, { entry: second, event: '{"n":2}' }]
  assert.ok(evidentia.verifyLogEntries(entries, jwks).valid)
  // Deterministic signing: the same chain, key, event and time give the same receipt.
  const issueOnce = () => new evidentia.ReceiptChain('x.example/a').issue(key, { n: 1 }, { time: '2026-11-22T10:00:00Z' })
  assert.equal(issueOnce(), issueOnce())
  // The time defaults to the platform's clock.
  const issued = JSON.parse(Buffer.from(first.split('.')[1], 'base64url'))
  assert.ok(Math.abs(Date.parse(issued.time) - Date.now()) < 60_000, issued.time)
  throwsCode(() => new evidentia.ReceiptChain('has spaces'), 'LOG_ID_INVALID', 'log id')
  throwsCode(() => new evidentia.ReceiptChain(42), 'INVALID_ARGUMENT', 'log id type')
  throwsCode(() => chain.issue(key, '{nope'), 'JSON_SYNTAX', 'event')
  throwsCode(() => chain.issue(key, {}, { time: 'yesterday' }), 'TIME_INVALID', 'time')
  throwsCode(() => chain.issue(key, {}, 'not options'), 'INVALID_ARGUMENT', 'options')
})

test('partners\' signatures: arguments checked, signed messages read from events', () => {
  const kase = load('partner.json').jws.find((k) => k.source === 'RFC 7515 A.3')
  const verified = evidentia.verifyPartnerJws(kase.jws, kase.keys)
  assert.equal(verified.alg, 'ES256')
  assert.ok(verified.payload instanceof Uint8Array)
  assert.equal(verified.kid, undefined)
  assert.equal(evidentia.verifyPartnerJws(kase.jws, JSON.stringify(kase.keys)).keyThumbprint, verified.keyThumbprint)
  throwsCode(() => evidentia.verifyPartnerJws(7, kase.keys), 'INVALID_ARGUMENT', 'jws a number')
  throwsCode(() => evidentia.verifyPartnerJws(kase.jws, kase.keys, 'payload'), 'INVALID_ARGUMENT', 'payload a string')
  throwsCode(() => evidentia.verifyPartnerJws(kase.jws, '{"keys": ['), 'KEY_SET_MALFORMED', 'keys not JSON')
  throwsCode(() => evidentia.verifyPartnerJws(kase.jws, undefined), 'JSON_UNSUPPORTED_TYPE', 'keys undefined')
  const [h, p, s] = kase.jws.split('.')
  const jwk = kase.keys.keys[0]
  evidentia.verifyPartnerSignature('ES256', jwk, new TextEncoder().encode(`${h}.${p}`), Buffer.from(s, 'base64url'))
  throwsCode(() => evidentia.verifyPartnerSignature('ES256', jwk, new TextEncoder().encode(`${h}.${p}.`), Buffer.from(s, 'base64url')),
    'SIGNATURE_INVALID', 'another message')
  throwsCode(() => evidentia.verifyPartnerSignature('none', jwk, new Uint8Array(1), new Uint8Array(1)), 'JWS_UNSUPPORTED_ALGORITHM', 'none')
  throwsCode(() => evidentia.verifyPartnerSignature('ES256', jwk, new Uint8Array(1)), 'INVALID_ARGUMENT', 'no signature')
  throwsCode(() => evidentia.verifyPartnerSignature('ES256', 'x', new Uint8Array(1), new Uint8Array(1)), 'KEY_MALFORMED', 'jwk not JSON')
  assert.equal(evidentia.readSignedMessage({ type: 'payment' }), null)
  assert.equal(evidentia.readSignedMessage('{"type":"payment"}'), null)
  throwsCode(() => evidentia.readSignedMessage({ evidentia_signed_message: [] }), 'MESSAGE_MALFORMED', 'not an object')
  throwsCode(() => evidentia.readSignedMessage('{"a":1,"a":2}'), 'JSON_DUPLICATE_KEY', 'duplicate key')
})

test('a KeySet parsed once verifies as its text does, and stays usable', async () => {
  const keys = evidentia.KeySet.fromJson(validReceipt.jwks)
  assert.equal(keys.length, JSON.parse(validReceipt.jwks).keys.length)
  assert.equal(String(keys), `KeySet(keys=${keys.length})`)
  assert.equal(evidentia.KeySet.fromJson(keys.toJson()).toJson(), keys.toJson())
  // Used many times: passing it to a function neither consumes nor frees it.
  for (let i = 0; i < 3; i++) {
    assert.ok(evidentia.verifyReceipt(validReceipt.receipt, keys, validReceipt.event).valid)
  }
  assert.deepEqual(
    evidentia.verifyReceipt(validReceipt.receipt, keys, '{"other":1}').failureCodes,
    evidentia.verifyReceipt(validReceipt.receipt, validReceipt.jwks, '{"other":1}').failureCodes,
  )
  const key = evidentia.SigningKey.generate()
  const own = evidentia.KeySet.fromJson(key.publicJwk())
  const chain = new evidentia.ReceiptChain('example.com/keyset')
  const entries = [{ n: 1 }, { n: 2 }].map((event) => ({ entry: chain.issue(key, event), event: JSON.stringify(event) }))
  assert.ok(evidentia.verifyLogEntries(entries, own).valid)
  assert.ok((await evidentia.verifyLogEntriesAsync(entries, own)).valid)
  assert.equal(evidentia.verifyJws(entries[0].entry, own).kid, key.kid)
  assert.ok(!evidentia.verifyLogEntries(entries, keys).valid)
  throwsCode(() => evidentia.verifyJws(entries[0].entry, keys), 'KEY_NOT_FOUND', 'another key set')
  // Nothing else stands in for a KeySet: not a look-alike, nor one that hands out
  // a real KeySet (which must stay usable: taking it would use it up).
  const lookalike = { __share: () => ({ toJson: () => validReceipt.jwks }) }
  const handsOut = { __share: () => keys }
  for (const notKeys of [42, {}, [], null, undefined, key, lookalike, { __share: 1 }, { __share: () => key }, handsOut]) {
    throwsCode(() => evidentia.verifyReceipt(validReceipt.receipt, notKeys), 'INVALID_ARGUMENT', String(notKeys))
  }
  // An object inheriting from a KeySet reads as it, and leaves it whole.
  assert.ok(evidentia.verifyReceipt(validReceipt.receipt, Object.create(keys), validReceipt.event).valid)
  assert.ok(evidentia.verifyReceipt(validReceipt.receipt, keys, validReceipt.event).valid)
  assert.equal(keys.toJson(), evidentia.KeySet.fromJson(validReceipt.jwks).toJson())
  throwsCode(() => evidentia.KeySet.fromJson('{"keys":[1]}'), 'KEY_SET_MALFORMED', 'malformed')
  throwsCode(() => evidentia.KeySet.fromJson(42), 'INVALID_ARGUMENT', 'not text')
  // A freed KeySet is refused, not read.
  const freed = evidentia.KeySet.fromJson(validReceipt.jwks)
  freed.free()
  throwsCode(() => evidentia.verifyReceipt(validReceipt.receipt, freed, validReceipt.event), 'INVALID_ARGUMENT', 'freed')
})
