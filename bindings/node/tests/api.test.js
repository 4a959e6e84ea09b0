// The JavaScript API: value conversion, errors with codes, garbage input, logs,
// and work off the main thread.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-'))

function throwsCode(call, code) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, code, error.message)
    return true
  })
}

test('JavaScript values canonicalize like JSON text', () => {
  const value = { b: [1, 2.5, 'é', null, true, false], a: { nested: [1, 2] }, '': -0 }
  const canonical = '{"":0,"a":{"nested":[1,2]},"b":[1,2.5,"é",null,true,false]}'
  assert.ok(Buffer.isBuffer(evidentia.canonicalize(value)))
  assert.equal(evidentia.canonicalize(value).toString('utf8'), canonical)
  assert.deepEqual(
    evidentia.canonicalize(value),
    evidentia.canonicalize('{"a":{"nested":[1,2]},"b":[1,2.5,"é",null,true,false],"":0}'),
  )
  assert.deepEqual(evidentia.canonicalize(new TextEncoder().encode('[1.0]')), Buffer.from('[1]'))
  assert.equal(evidentia.canonicalize(Number.MAX_SAFE_INTEGER).toString(), '9007199254740991')
  assert.equal(evidentia.canonicalize(-(2n ** 53n - 1n)).toString(), '-9007199254740991')
  assert.equal(evidentia.canonicalize(1e21).toString(), '1e+21')
  assert.equal(evidentia.canonicalize(Object.assign(Object.create(null), { z: 1, y: 2 })).toString(), '{"y":2,"z":1}')
  // Keys order by UTF-16 code units, and integer-like keys are strings like any other.
  assert.equal(evidentia.canonicalize({ 10: 'a', 9: 'b', '\u{1F600}': 'c', '\uFFFF': 'd' }).toString(), '{"10":"a","9":"b","😀":"c","\uFFFF":"d"}')
  assert.equal(evidentia.digest({ x: 1 }), evidentia.digest(Buffer.from('{ "x" : 1.0 }')))
})

test('strings of every length arrive whole', () => {
  for (const n of [0, 1, 126, 127, 128, 129, 255, 4096]) {
    const text = 'é'.repeat(n)
    assert.equal(evidentia.canonicalize({ [text]: text }).toString('utf8'), JSON.stringify({ [text]: text }), `${n}`)
    assert.equal(evidentia.canonicalize(JSON.stringify(text)).toString('utf8'), JSON.stringify(text), `${n}`)
  }
})

test('values that would change are refused', () => {
  class Point {
    constructor() {
      this.x = 1
    }
  }
  const sparse = [1, , 3] // eslint-disable-line no-sparse-arrays
  const cases = [
    [2n ** 53n, 'JSON_INTEGER_PRECISION'],
    [-(2n ** 53n), 'JSON_INTEGER_PRECISION'],
    [2n ** 100n, 'JSON_INTEGER_PRECISION'],
    [NaN, 'JSON_NON_FINITE'],
    [{ a: Infinity }, 'JSON_NON_FINITE'],
    [{ a: undefined }, 'JSON_UNSUPPORTED_TYPE'],
    [sparse, 'JSON_UNSUPPORTED_TYPE'],
    [{ f() {} }, 'JSON_UNSUPPORTED_TYPE'],
    [{ s: Symbol('s') }, 'JSON_UNSUPPORTED_TYPE'],
    [{ d: new Date(0) }, 'JSON_UNSUPPORTED_TYPE'],
    [new Map([['a', 1]]), 'JSON_UNSUPPORTED_TYPE'],
    [new Point(), 'JSON_UNSUPPORTED_TYPE'],
    [[new Float64Array(2)], 'JSON_UNSUPPORTED_TYPE'],
    [new Float64Array(2), 'INVALID_ARGUMENT'],
    [Buffer.from([0xff]), 'JSON_INVALID_UTF8'],
    ['{', 'JSON_SYNTAX'],
    ['{"a":1,"a":2}', 'JSON_DUPLICATE_KEY'],
    ['"\\ud800"', 'JSON_LONE_SURROGATE'],
    [undefined, 'JSON_UNSUPPORTED_TYPE'],
    // A UTF-8 conversion would replace a lone surrogate with U+FFFD, silently.
    [{ a: '\ud800' }, 'JSON_LONE_SURROGATE'],
    [{ ['\udc00']: 1 }, 'JSON_LONE_SURROGATE'],
    ['"\ud800"', 'JSON_LONE_SURROGATE'],
    [{ long: 'x'.repeat(300) + '\ud800' + '\ufffd' }, 'JSON_LONE_SURROGATE'],
  ]
  // A real U+FFFD, short or long, is text like any other. Strings are read into
  // room for three bytes per UTF-16 unit up to 1 MiB of it, and measured above:
  // characters of two, three and four UTF-8 bytes on both sides of that line.
  const around = (c) => [349525, 349526].map((n) => c.repeat(Math.floor(n / c.length)))
  for (const text of ['\ufffd', 'x'.repeat(300) + '\ufffd', 'é'.repeat(200), ...around('€'), ...around('😀'), ...around('é')]) {
    assert.equal(Buffer.from(evidentia.canonicalize({ text })).toString(), JSON.stringify({ text }))
    assert.equal(Buffer.from(evidentia.canonicalize(JSON.stringify(text))).toString(), JSON.stringify(text))
  }
  const codes = new Map(evidentia.errorCodes().map((c) => [c.name, c]))
  for (const [value, code] of cases) {
    throwsCode(() => evidentia.canonicalize(value), code)
    assert.ok(codes.has(code), code)
  }
})

test('inherited and symbol-keyed properties are not members', () => {
  const withSymbol = { a: 1, [Symbol('hidden')]: 2 }
  assert.equal(evidentia.canonicalize(withSymbol).toString(), '{"a":1}')
  const hidden = Object.defineProperty({ a: 1 }, 'b', { value: 2, enumerable: false })
  assert.equal(evidentia.canonicalize(hidden).toString(), '{"a":1}')
  Object.prototype.polluted = 1 // eslint-disable-line no-extend-native
  try {
    assert.equal(evidentia.canonicalize({ a: 1 }).toString(), '{"a":1}')
  } finally {
    delete Object.prototype.polluted
  }
})

test('deep nesting is refused, not a crash', () => {
  let deep = []
  for (let i = 0; i < 100000; i++) deep = [deep]
  throwsCode(() => evidentia.canonicalize(deep), 'JSON_TOO_DEEP')
  throwsCode(() => evidentia.canonicalize('['.repeat(100000)), 'JSON_TOO_DEEP')
})

const GARBAGE = ['', '{', 'null', '\x00', 'a.b.c', '-----BEGIN PRIVATE KEY-----\nxx\n', '{"kty":1}', '{"keys":[1]}', '— x y\n', '💥'.repeat(10)]

test('garbage throws errors with codes from the table', () => {
  const names = new Set(evidentia.errorCodes().map((c) => c.name))
  const jwks = evidentia.SigningKey.generate().publicJwk()
  for (const text of GARBAGE) {
    const calls = [
      () => evidentia.SigningKey.fromJwk(text),
      () => evidentia.SigningKey.fromPem(text),
      () => evidentia.jwkThumbprint(text),
      () => evidentia.verifyJws(text, jwks),
      () => evidentia.verifyJws('a.b.c', text),
      () => evidentia.verifyReceipt(text, jwks),
      () => evidentia.verifyCheckpoint(text, jwks),
      () => evidentia.verifyInclusion(text, text, text, jwks),
      () => evidentia.verifyConsistency(text, text, text, jwks),
      () => evidentia.verifyInclusionProof(text, Buffer.alloc(0), Buffer.alloc(32)),
      () => evidentia.verifyConsistencyProof(text, Buffer.alloc(32), Buffer.alloc(32)),
      () => evidentia.verifyLogEntries([{ entry: text }], text),
    ]
    for (const call of calls) {
      assert.throws(call, (error) => error instanceof Error && names.has(error.code), JSON.stringify(text))
    }
  }
})

test('arguments of the wrong JavaScript type are refused before Evidentia runs', () => {
  const key = evidentia.SigningKey.generate()
  // napi-rs refuses them with its own status as the code; text arguments, read
  // strictly, with INVALID_ARGUMENT (hostile.test.js tries every one).
  assert.throws(() => key.signJws('not bytes'), (e) => e instanceof Error && typeof e.code === 'string')
  throwsCode(() => evidentia.verifyJws(42, key.publicJwk()), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.verifyJws('a.b.c', 42), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.verifyInclusionProof('{"type":"inclusion","leaf_index":0,"tree_size":1,"hashes":[]}', Buffer.alloc(0), Buffer.from('short')), 'INVALID_ARGUMENT')
})

test('keys do not show their secret', () => {
  const key = evidentia.SigningKey.generate()
  assert.equal(String(key), `SigningKey(kid=${key.kid})`)
  assert.ok(!String(key).includes(JSON.parse(key.toJwk()).d))
  assert.equal(JSON.parse(key.publicJwk()).d, undefined)
})

test('randomized signing is opt-in', () => {
  const key = evidentia.SigningKey.generate()
  const fast = key.withRandomizedSignatures()
  assert.deepEqual([key.randomized, fast.randomized, fast.kid], [false, true, key.kid])
  const payload = Buffer.from('{"amount":"1250.00"}')
  assert.equal(key.signJws(payload), key.signJws(payload))
  const signatures = new Set([fast.signJws(payload), fast.signJws(payload), fast.signJws(payload)])
  assert.equal(signatures.size, 3)
  for (const jws of signatures) assert.deepEqual(evidentia.verifyJws(jws, key.publicJwk()).payload, payload)
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, fast)
  const receipt = log.append({ n: 1 })
  assert.ok(evidentia.verifyReceipt(receipt, log.keys(), { n: 1 }, log.salt(0)).valid)
  log.close()
  assert.ok(evidentia.verifyLog(dir).valid)
})

test('a receipt chain in memory issues receipts that verify as a log', () => {
  const key = evidentia.SigningKey.generate()
  const jwks = `{"keys":[${key.publicJwk()}]}`
  const chain = new evidentia.ReceiptChain('example.com/own-db')
  const events = [{ n: 1 }, '{"n": 2, "b": [1, 2]}', Buffer.from('{"n":3}')]
  const receipts = [chain.issue(key, events[0], { nonce: 'r-1' }), chain.issue(key, events[1])]
  assert.deepEqual([chain.logId, chain.length, String(chain)], ['example.com/own-db', 2, 'ReceiptChain(logId=example.com/own-db, length=2)'])
  // After a restart, the chain continues from its newest receipt.
  const resumed = evidentia.ReceiptChain.resume(receipts[1])
  receipts.push(resumed.issue(key.withRandomizedSignatures(), events[2]))
  assert.equal(resumed.length, 3)
  receipts.forEach((receipt, i) => assert.ok(evidentia.verifyReceipt(receipt, jwks, events[i]).valid))
  const entries = receipts.map((entry, i) => ({ entry, event: Buffer.from(evidentia.canonicalize(events[i])).toString() }))
  assert.ok(evidentia.verifyLogEntries(entries, jwks).valid)
  // The chain is checked: leaving a record out breaks it.
  assert.ok(!evidentia.verifyLogEntries([entries[0], entries[2]], jwks).valid)
  // Deterministic signing: the same chain, key, event and time give the same receipt.
  const issueOnce = () => new evidentia.ReceiptChain('x.example/a').issue(key, { n: 1 }, { time: '2026-11-22T10:00:00Z' })
  assert.equal(issueOnce(), issueOnce())
  // Garbage is refused with a code.
  throwsCode(() => new evidentia.ReceiptChain('has spaces'), 'LOG_ID_INVALID')
  throwsCode(() => new evidentia.ReceiptChain('a.example/x').issue(key, '{nope'), 'JSON_SYNTAX')
  throwsCode(() => new evidentia.ReceiptChain('a.example/x').issue(key, { n: 1 }, { time: 'yesterday' }), 'TIME_INVALID')
  assert.throws(() => evidentia.ReceiptChain.resume('not.a.receipt'), (e) => e instanceof Error && typeof e.code === 'string')
})

test('an evidence file verifies with the keys it holds, or with trusted keys instead', () => {
  const key = evidentia.SigningKey.generate()
  const stranger = evidentia.SigningKey.generate()
  const jwks = `{"keys":[${key.publicJwk()}]}`
  const receipt = new evidentia.ReceiptChain('example.com/evidence').issue(key, { n: 1, a: [true] })
  const evidence = JSON.stringify({ receipt, jwks: JSON.parse(jwks), event: { a: [true], n: 1 } }, null, 2)
  for (const given of [evidence, Buffer.from(evidence), new TextEncoder().encode(evidence)]) {
    const report = evidentia.verifyEvidenceFile(given)
    assert.ok(report.valid, report.toText())
    assert.equal(report.subject, 'receipt')
  }
  // Keys the verifier trusts replace the file's.
  assert.ok(evidentia.verifyEvidenceFile(evidence, jwks).valid)
  assert.ok(evidentia.verifyEvidenceFile(evidence, undefined).valid)
  const report = evidentia.verifyEvidenceFile(evidence, stranger.publicJwk())
  assert.deepEqual([report.valid, report.failureCodes], [false, ['KEY_NOT_FOUND']])
  const noKeys = JSON.stringify({ receipt, jwks: '{}' })
  throwsCode(() => evidentia.verifyEvidenceFile(noKeys), 'KEY_SET_MALFORMED')
  assert.ok(evidentia.verifyEvidenceFile(noKeys, jwks).valid)
  // Another event than the one recorded is a report, not an error.
  const other = JSON.stringify({ receipt, jwks, event: { n: 2 } })
  assert.deepEqual(evidentia.verifyEvidenceFile(other).failureCodes, ['EVENT_MISMATCH'])
  for (const [text, code] of [
    ['{"receipt":', 'JSON_SYNTAX'],
    ['[]', 'INVALID_ARGUMENT'],
    ['{"receipt": "a.b.c", "batch_receipt": "{}", "jwks": {}}', 'INVALID_ARGUMENT'],
    ['{"receipt": 1, "jwks": {}}', 'INVALID_ARGUMENT'],
    ['{"receipt": "a.b.c", "jwks": {"keys": []}}', 'JWS_MALFORMED'],
    [new Uint8Array([0xff]), 'JSON_INVALID_UTF8'],
    // An evidence file is text: a JavaScript value is not read as one.
    [JSON.parse(evidence), 'INVALID_ARGUMENT'],
  ]) {
    throwsCode(() => evidentia.verifyEvidenceFile(text, jwks), code)
  }
})

test('JWS: detached and unencoded payloads, wrong payloads', () => {
  const key = evidentia.SigningKey.generate()
  const payload = Buffer.from('{"amount":100}')
  for (const options of [{}, { detached: true }, { unencoded: true }, { detached: true, unencoded: true }]) {
    const jws = key.signJws(payload, options)
    assert.equal(jws, key.signJws(payload, options), 'deterministic')
    const verified = evidentia.verifyJws(jws, key.publicJwk(), options.detached ? payload : undefined)
    assert.deepEqual(verified.payload, payload)
    const other = Buffer.from('{"amount":999}')
    const expected = options.detached ? 'SIGNATURE_INVALID' : 'JWS_PAYLOAD_MISMATCH'
    throwsCode(() => evidentia.verifyJws(jws, key.publicJwk(), other), expected)
  }
  throwsCode(() => evidentia.verifyJws(key.signJws(payload), evidentia.SigningKey.generate().publicJwk()), 'KEY_NOT_FOUND')
})

test('log lifecycle: create, append, rotate, close, reopen, prove, verify', () => {
  const [oldKey, newKey] = [evidentia.SigningKey.generate(), evidentia.SigningKey.generate()]
  const dir = path.join(tempDir(), 'log')
  let log = evidentia.Log.create(dir, oldKey, { logId: 'example.com/node' })
  assert.deepEqual([log.logId, log.mode, log.length], ['example.com/node', 'receipts', 0])
  const first = log.append({ n: 1 }, { nonce: 'r-1' })
  log.rotate(newKey)
  const afterRotation = log.append({ n: 1.5 })
  assert.equal(evidentia.verifyJws(afterRotation, newKey.publicJwk()).kid, newKey.kid)
  throwsCode(() => evidentia.Log.open(dir, newKey), 'LOG_LOCKED')
  log.close()
  throwsCode(() => log.append({ n: 2 }), 'INVALID_HANDLE')
  log = evidentia.Log.open(dir, newKey)
  log.append({ n: 2 })
  const checkpoint = log.checkpoint()
  const proof = log.inclusionProof(0)
  // Records: n 1, the rotation's key record (SPEC §23), n 1.5, n 2.
  assert.equal(JSON.parse(log.consistencyProof(1)).new_size, 4)
  throwsCode(() => log.append({ n: 3 }, { nonce: 'req-\ud800' }), 'JSON_LONE_SURROGATE')
  throwsCode(() => log.append({ n: 3 }, { nonce: 42 }), 'INVALID_ARGUMENT')
  throwsCode(() => log.receipt(-1), 'INVALID_ARGUMENT')
  throwsCode(() => log.receipt(0.5), 'INVALID_ARGUMENT')
  throwsCode(() => log.receipt(99), 'INVALID_ARGUMENT')
  const packageDir = path.join(tempDir(), 'package')
  assert.equal(log.exportPackage(0, packageDir), `${packageDir}.tar.gz`)
  assert.ok(fs.existsSync(path.join(packageDir, 'verify.sh')))
  throwsCode(() => log.exportPackage(0, packageDir), 'INVALID_ARGUMENT')
  throwsCode(() => log.exportPackage(-1, `${packageDir}-2`), 'INVALID_ARGUMENT')
  throwsCode(() => log.exportPackage(0, 42), 'INVALID_ARGUMENT')
  assert.ok(log.verify().valid)
  const keys = log.keys()
  assert.ok(keys.includes('"exp"') && !keys.includes('revoked'))
  log.close()
  evidentia.verifyInclusion(first, proof, checkpoint, keys)
  const checkpointKeys = fs.readFileSync(path.join(dir, 'keys.jwks'), 'utf8')
  assert.equal(evidentia.verifyCheckpoint(checkpoint, checkpointKeys).size, 4)
  assert.ok(evidentia.verifyLog(dir).valid)
  const reader = evidentia.Log.open(dir)
  throwsCode(() => reader.append({ n: 3 }), 'KEY_NOT_PRIVATE')
  reader.close()
  throwsCode(() => evidentia.Log.open(path.join(tempDir(), 'missing')), 'LOG_NOT_FOUND')
  throwsCode(() => evidentia.Log.create(path.join(tempDir(), 'x'), oldKey, { mode: 'sometimes' }), 'INVALID_ARGUMENT')
})

test('revoke: the current key records the revocation of a retired key; an edited keys.jwks is caught', async () => {
  const [oldKey, newKey] = [evidentia.SigningKey.generate(), evidentia.SigningKey.generate()]
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, oldKey)
  log.append({ n: 1 })
  log.rotate(newKey)
  // Two seconds from now, in whole seconds: after the retired key's last record.
  const later = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z')
  throwsCode(() => log.revoke(newKey.kid, later), 'INVALID_ARGUMENT')
  throwsCode(() => log.revoke(oldKey.kid, 'yesterday'), 'TIME_INVALID')
  throwsCode(() => log.revoke('no-such-kid', later), 'KEY_NOT_FOUND')
  throwsCode(() => log.revoke(oldKey.kid, later, 42), 'INVALID_ARGUMENT')
  assert.equal(await log.revokeAsync(oldKey.kid, later, 'superseded'), undefined)
  await assert.rejects(log.revokeAsync(oldKey.kid, later), (e) => e.code === 'INVALID_ARGUMENT')
  assert.ok(log.keys().includes('"reason":"superseded"'))
  assert.equal(log.length, 3, 'one event, the key records of the rotation and the revocation')
  assert.ok(log.verify().valid)
  log.close()
  const jwks = path.join(dir, 'keys.jwks')
  fs.writeFileSync(jwks, fs.readFileSync(jwks, 'utf8').replace(/,"revoked":\{[^}]*\}/, ''))
  assert.deepEqual(evidentia.verifyLog(dir).failureCodes, ['KEY_HISTORY_MISMATCH'])
})

test('a batch takes a nonce for each event; an idempotent retry gets the original receipts', async () => {
  const key = evidentia.SigningKey.generate()
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), key, { mode: 'batch' })
  const acks = log.appendBatch([{ order: 1 }, { order: 2 }, { n: 3 }], { nonces: ['order-1', 'order-2', null] })
  assert.deepEqual([log.findNonce('order-1'), log.findNonce('order-2'), log.length], [0, 1, 3])
  throwsCode(() => log.appendBatch([{ order: 1 }], { nonces: ['order-1'] }), 'NONCE_IN_USE')
  const retried = log.appendBatch([{ order: 1 }, { order: 2 }], { nonces: ['order-1', 'order-2'], idempotent: true })
  assert.deepEqual(retried, acks.slice(0, 2))
  // A retry that adds an event appends only that one, on a worker thread too.
  const more = await log.appendBatchAsync([{ order: 2 }, { order: 4 }], {
    nonces: ['order-2', undefined],
    idempotent: true,
  })
  assert.equal(more[0], acks[1])
  assert.deepEqual([JSON.parse(more[1]).seq, JSON.parse(more[1]).checkpoint_size], [3, 4])
  // Refused, appending nothing.
  throwsCode(() => log.appendBatch([{ n: 5 }, { n: 6 }], { nonces: ['a'] }), 'INVALID_ARGUMENT')
  throwsCode(() => log.appendBatch([{ n: 5 }, { n: 6 }], { nonces: ['b', 'b'] }), 'NONCE_IN_USE')
  throwsCode(() => log.appendBatch([{ n: 5 }], { nonces: [5] }), 'INVALID_ARGUMENT')
  throwsCode(() => log.appendBatch([{ order: 9 }], { nonces: ['order-1'], idempotent: true }), 'NONCE_IN_USE')
  await assert.rejects(log.appendBatchAsync([{ n: 5 }], { nonces: [] }), { code: 'INVALID_ARGUMENT' })
  assert.equal(log.length, 4)
  assert.equal(log.verify().valid, true)
  log.close()
})

test('a nonce is used once; an idempotent retry gets the original receipt', async () => {
  const key = evidentia.SigningKey.generate()
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, key, { logId: 'example.com/nonces' })
  const first = log.append({ order: 1 }, { nonce: 'order-1' })
  assert.throws(() => log.append({ order: 1 }, { nonce: 'order-1' }), (error) => {
    assert.equal(error.code, 'NONCE_IN_USE')
    assert.match(error.message, /record 0/)
    return true
  })
  assert.equal(log.length, 1)
  // A retry of the same request gets the original receipt, and appends nothing.
  assert.equal(log.append({ order: 1 }, { nonce: 'order-1', idempotent: true }), first)
  assert.equal(log.append('{ "order": 1.0 }', { nonce: 'order-1', idempotent: true }), first)
  assert.equal(await log.appendAsync({ order: 1 }, { nonce: 'order-1', idempotent: true }), first)
  assert.equal(log.length, 1)
  // Another event under the same nonce is refused, idempotent or not.
  throwsCode(() => log.append({ order: 2 }, { nonce: 'order-1', idempotent: true }), 'NONCE_IN_USE')
  await assert.rejects(log.appendAsync({ order: 2 }, { nonce: 'order-1' }), { code: 'NONCE_IN_USE' })
  assert.equal(log.length, 1)
  assert.equal(log.findNonce('order-1'), 0)
  assert.equal(log.findNonce('unknown'), null)
  throwsCode(() => log.findNonce(42), 'INVALID_ARGUMENT')
  log.append({ order: 2 }, { nonce: 'order-2' })
  assert.equal(log.findNonce('order-2'), 1)
  log.close()
  throwsCode(() => log.findNonce('order-1'), 'INVALID_HANDLE')
  const reader = evidentia.Log.open(dir)
  assert.deepEqual([reader.findNonce('order-1'), reader.findNonce('order-2'), reader.findNonce('x')], [0, 1, null])
  reader.close()
})

test('record times are checked against the key and the last record', () => {
  const key = evidentia.SigningKey.generate()
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), key)
  // Before the key became valid (the log's creation), or far ahead of the clock.
  for (const time of ['2000-01-01T00:00:00Z', '2999-01-01T00:00:00Z']) {
    throwsCode(() => log.append({ n: 1 }, { time }), 'TIME_REFUSED')
  }
  throwsCode(() => log.appendBatch([{ n: 1 }], { time: '2000-01-01T00:00:00Z' }), 'TIME_REFUSED')
  assert.equal(log.length, 0)
  log.close()
  // A key valid from an earlier time takes records of that time, in order.
  const imported = evidentia.Log.create(path.join(tempDir(), 'log'), key, { validFrom: '2020-01-01T00:00:00Z' })
  imported.append({ n: 1 }, { time: '2020-06-01T00:00:00Z' })
  throwsCode(() => imported.append({ n: 2 }, { time: '2020-05-01T00:00:00Z' }), 'TIME_REFUSED')
  imported.appendBatch([{ n: 2 }, { n: 3 }], { time: '2020-07-01T00:00:00Z' })
  assert.equal(imported.length, 3)
  assert.ok(imported.verify().valid)
  imported.close()
  throwsCode(() => evidentia.Log.create(path.join(tempDir(), 'log'), key, { validFrom: 'yesterday' }), 'TIME_INVALID')
})

test('openAsync waits for a locked log on a worker thread, then opens it with its key', async () => {
  const key = evidentia.SigningKey.generate()
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, key)
  log.append({ n: 0 })
  // The JavaScript thread goes on while the open waits for the writer.
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  await assert.rejects(evidentia.Log.openAsync(dir, key, { wait: 0.3 }), { code: 'LOG_LOCKED' })
  clearInterval(timer)
  assert.ok(ticks >= 5, `the event loop ran ${ticks} times during the wait`)
  await assert.rejects(evidentia.Log.openAsync(dir, key, { wait: -1 }), { code: 'INVALID_ARGUMENT' })
  await assert.rejects(evidentia.Log.openAsync(42), { code: 'INVALID_ARGUMENT' })
  await assert.rejects(evidentia.Log.openAsync(dir, 'not a key'), { code: 'INVALID_ARGUMENT' })
  log.close()
  await assert.rejects(evidentia.Log.openAsync(path.join(dir, 'none')), (e) => e.code === 'LOG_NOT_FOUND' || e.code === 'IO')
  const opened = await evidentia.Log.openAsync(dir, key)
  opened.append({ n: 1 })
  assert.equal(opened.length, 2)
  opened.close()
  const reader = await evidentia.Log.openAsync(dir, null)
  throwsCode(() => reader.append({ n: 2 }), 'KEY_NOT_PRIVATE')
  assert.ok(reader.verify().valid)
  reader.close()
})

test('opening a locked log waits, then fails with LOG_LOCKED; recovery of a clean log', () => {
  const key = evidentia.SigningKey.generate()
  const dir = path.join(tempDir(), 'log')
  let log = evidentia.Log.create(dir, key)
  const clean = log.recovery()
  assert.equal(clean.repaired, false)
  assert.deepEqual(clean.messages, [])
  const started = process.hrtime.bigint()
  assert.throws(() => evidentia.Log.open(dir, key, { wait: 0.2 }), (error) => {
    assert.equal(error.code, 'LOG_LOCKED')
    assert.match(error.message, /waited/)
    return true
  })
  assert.ok(Number(process.hrtime.bigint() - started) / 1e9 >= 0.2)
  for (const wait of [-1, Infinity, NaN, 86401]) {
    throwsCode(() => evidentia.Log.open(dir, key, { wait }), 'INVALID_ARGUMENT')
  }
  log.close()
  throwsCode(() => log.recovery(), 'INVALID_HANDLE')
  // Once the writer is gone, a waiting open gets the log, with nothing to repair.
  log = evidentia.Log.open(dir, key, { wait: 0.2 })
  const recovery = log.recovery()
  assert.equal(recovery.repaired, false)
  assert.deepEqual(recovery.messages, [])
  assert.equal(recovery.truncated_bytes, 0)
  assert.equal(recovery.unsealed_records, 0)
  log.close()
})

for (const mode of ['receipts', 'batch']) {
  test(`the open log serves the receipts and proofs a fresh reader does (${mode})`, () => {
    const [oldKey, newKey] = [evidentia.SigningKey.generate(), evidentia.SigningKey.generate()]
    const dir = path.join(tempDir(), 'log')
    const log = evidentia.Log.create(dir, oldKey, { mode })
    const acknowledgements = [log.append({ n: 0 }, { nonce: 'n-0' }), ...log.appendBatch([{ n: 1 }, { n: 2 }])]
    const keyRecord = acknowledgements.length
    log.rotate(newKey)
    acknowledgements.push(log.append({ n: 3 }))
    const checkpoint = log.checkpoint()
    const indexes = [...Array(log.length).keys()]
    const receipts = indexes.map((i) => log.receipt(i))
    const proofs = indexes.map((i) => log.inclusionProof(i))
    const consistency = log.consistencyProof(1)
    // The rotation's key record (SPEC §23) is a record of the log too.
    if (mode === 'receipts') assert.deepEqual(receipts.filter((_, i) => i !== keyRecord), acknowledgements)
    log.close()
    const reader = evidentia.Log.open(dir)
    assert.deepEqual(indexes.map((i) => reader.receipt(i)), receipts)
    assert.deepEqual(indexes.map((i) => reader.inclusionProof(i)), proofs)
    assert.equal(reader.consistencyProof(1), consistency)
    const keys = reader.keys()
    reader.close()
    receipts.forEach((receipt, i) => evidentia.verifyInclusion(receipt, proofs[i], checkpoint, keys))
    assert.ok(evidentia.verifyLog(dir).valid)
  })
}

test('async appends and verification run off the main thread', async () => {
  const key = evidentia.SigningKey.generate()
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, key, { mode: 'batch' })
  const writers = []
  for (let t = 0; t < 4; t++) {
    writers.push((async () => {
      for (let i = 0; i < 5; i++) {
        await log.appendBatchAsync(Array.from({ length: 20 }, (_, j) => ({ t, i, j })))
      }
    })())
  }
  writers.push(log.appendAsync({ single: true }))
  await Promise.all(writers)
  assert.equal(log.length, 401)
  log.close()

  // Sign 1,500 receipts, then verify them while the event loop keeps ticking.
  const receipts = evidentia.Log.create(path.join(tempDir(), 'log'), key)
  receipts.appendBatch(Array.from({ length: 1500 }, (_, i) => ({ i })))
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const started = process.hrtime.bigint()
  const report = await receipts.verifyAsync()
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6
  clearInterval(timer)
  receipts.close()
  assert.ok(report instanceof evidentia.Report)
  assert.ok(report.valid && report.records === 1500, report.toText())
  assert.ok(elapsedMs < 20 || ticks >= 5, `${elapsedMs} ms, ${ticks} ticks`)

  assert.ok((await evidentia.verifyLogAsync(dir)).valid)
  await assert.rejects(evidentia.verifyLogAsync(path.join(tempDir(), 'missing')), (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, 'LOG_NOT_FOUND')
    return true
  })
  await assert.rejects(log.appendAsync({ n: 1 }), { code: 'INVALID_HANDLE' })
  await assert.rejects(log.verifyAsync(), { code: 'INVALID_HANDLE' })
  await assert.rejects(evidentia.verifyLogEntriesAsync([], 'not a jwks'), { code: 'KEY_SET_MALFORMED' })
  await assert.rejects(receipts.appendBatchAsync([{ ok: 1 }, { bad: NaN }]), { code: 'JSON_NON_FINITE' })
})

test('report shape', () => {
  const key = evidentia.SigningKey.generate()
  throwsCode(() => evidentia.verifyReceipt(key.signJws(Buffer.from('x')), key.publicJwk()), 'RECEIPT_MALFORMED')
  const report = evidentia.verifyLogEntries([], key.publicJwk())
  assert.equal(report.subject, 'log')
  assert.equal(report.records, 0)
  assert.ok(report.valid)
  assert.deepEqual(report.checks.slice(0, 3).map((c) => c.check), ['format', 'key', 'signature'])
  assert.ok(report.summary.startsWith('VALID'))
  assert.equal(String(report), report.summary)
  assert.equal(JSON.parse(report.toJson()).valid, true)
  assert.ok(report.toText().includes('VALID'))
})

test('version', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'))
  assert.equal(evidentia.version(), pkg.version)
})

/** A time-stamping authority made with OpenSSL: a P-256 root and a TSA certificate. */
function localTsa(dir) {
  const { execFileSync } = require('node:child_process')
  fs.mkdirSync(dir)
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  fs.writeFileSync(path.join(dir, 'tsa.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n')
  openssl('req', '-x509', '-new', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650',
    '-subj', '/CN=Evidentia test TSA root', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  openssl('req', '-new', ...ec, '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/CN=Evidentia test TSA')
  openssl('x509', '-req', '-in', 'tsa.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
    '-days', '3000', '-out', 'tsa.pem', '-extfile', 'tsa.ext')
  fs.writeFileSync(path.join(dir, 'serial'), '01\n')
  fs.writeFileSync(path.join(dir, 'tsa.cnf'), `[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = ${dir}\n` +
    'serial = $dir/serial\nsigner_cert = $dir/tsa.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n' +
    'default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\ness_cert_id_alg = sha256\n')
  return {
    root: fs.readFileSync(path.join(dir, 'root.pem'), 'utf8'),
    reply(request) {
      fs.writeFileSync(path.join(dir, 'request.tsq'), request)
      openssl('ts', '-reply', '-config', 'tsa.cnf', '-queryfile', 'request.tsq', '-out', 'response.tsr')
      return fs.readFileSync(path.join(dir, 'response.tsr'))
    },
  }
}

test("a log's checkpoint is stamped by a local authority, and its package carries the timestamp", () => {
  const dir = tempDir()
  const tsa = localTsa(path.join(dir, 'tsa'))
  const log = evidentia.Log.create(path.join(dir, 'log'), evidentia.SigningKey.generate(), { logId: 'example.com/stamped' })
  for (let n = 0; n < 3; n++) log.append({ n })
  const note = log.checkpoint()
  const request = evidentia.timestampRequest(note, 'sha512')
  const response = tsa.reply(request)
  const verified = evidentia.verifyTimestamp(response, note, tsa.root, { request })
  assert.equal(verified.hash, 'sha512')
  assert.deepEqual(verified.chain, ['CN=Evidentia test TSA', 'CN=Evidentia test TSA root'])
  assert.deepEqual(log.attachTimestamp(response, tsa.root, { request }), { ...verified, size: 3 })
  const packageDir = path.join(dir, 'package')
  log.exportPackage(2, packageDir)
  assert.ok(fs.statSync(path.join(packageDir, 'timestamp.tst')).isFile())

  // Another request's answer, or another authority's root: refused, nothing stored.
  const other = evidentia.timestampRequest('something else')
  throwsCode(() => log.attachTimestamp(tsa.reply(other), tsa.root), 'TIMESTAMP_MISMATCH')
  throwsCode(() => log.attachTimestamp(response, tsa.root, { request: other }), 'TIMESTAMP_MISMATCH')
  const stranger = localTsa(path.join(dir, 'stranger'))
  throwsCode(() => log.attachTimestamp(response, stranger.root), 'TIMESTAMP_UNTRUSTED')
  // A response that is not bytes: napi-rs refuses it with its own status as the code.
  assert.throws(() => log.attachTimestamp('not bytes', tsa.root), (e) => e instanceof Error && typeof e.code === 'string')
  log.close()
})

test('a log exports a tlog-proof of a record that verifies against its policy', () => {
  const key = evidentia.SigningKey.generate()
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), key, { logId: 'example.com/tlog' })
  for (let n = 0; n < 3; n++) log.append({ n })
  const note = log.checkpoint()
  const { proof, entry } = log.tlogProof(1)
  assert.ok(proof.startsWith('c2sp.org/tlog-proof@v1\nindex 1\n') && proof.endsWith(note))
  assert.ok(Buffer.isBuffer(entry))
  assert.equal(JSON.parse(entry.toString()).seq, 1)
  // The log's ECDSA note verifier key (SPEC §10): origin, SHA-256(SPKI DER)[:4], 0x02 ‖ DER.
  const der = require('node:crypto').createPublicKey(key.publicPem()).export({ type: 'spki', format: 'der' })
  const id = require('node:crypto').createHash('sha256').update(der).digest().subarray(0, 4).toString('hex')
  const policy = `log example.com/tlog+${id}+${Buffer.concat([Buffer.from([2]), der]).toString('base64')}\nquorum none\n`
  const result = evidentia.verifyTlogProof(proof, entry, policy)
  assert.deepEqual([result.size, result.quorumMet], [3, true])
  throwsCode(() => evidentia.verifyTlogProof(proof, Buffer.from('{}'), policy), 'INCLUSION_PROOF_INVALID')
  throwsCode(() => log.tlogProof(3), 'INVALID_ARGUMENT')
  log.close()
})

test('a log verifies from a trusted checkpoint, and a fork of it does not', async () => {
  const key = evidentia.SigningKey.generate()
  const dir = tempDir()
  const log = evidentia.Log.create(path.join(dir, 'log'), key, { logId: 'example.com/from' })
  for (let n = 0; n < 4; n++) log.append({ n })
  const trusted = log.checkpoint()
  for (let n = 4; n < 10; n++) log.append({ n })
  const report = log.verify(undefined, trusted)
  assert.ok(report.valid, report.summary)
  assert.deepEqual([report.firstRecord, report.records], [4, 6])
  assert.equal((await log.verifyAsync(null, trusted)).firstRecord, 4)
  assert.equal(log.verify().firstRecord, 0)
  log.close()
  assert.ok(evidentia.verifyLog(path.join(dir, 'log'), undefined, trusted).valid)
  assert.equal((await evidentia.verifyLogAsync(path.join(dir, 'log'), null, trusted)).firstRecord, 4)
  const fork = evidentia.Log.create(path.join(dir, 'fork'), key, { logId: 'example.com/from' })
  for (let n = 0; n < 10; n++) fork.append({ other: n })
  fork.close()
  assert.deepEqual(evidentia.verifyLog(path.join(dir, 'fork'), null, trusted).failureCodes, ['CHECKPOINT_MISMATCH'])
  throwsCode(() => evidentia.verifyLog(path.join(dir, 'log'), null, 42), 'INVALID_ARGUMENT')
  assert.throws(() => evidentia.verifyLog(path.join(dir, 'log'), null, 'not a checkpoint'), (e) => /^CHECKPOINT_/.test(e.code))
})
