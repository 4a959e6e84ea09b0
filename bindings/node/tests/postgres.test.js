// Logs kept in PostgreSQL, opened by URL through the same `Log` class as a folder.
//
// `cargo xtask test` starts a throwaway PostgreSQL 15 cluster and names it in
// EVIDENTIA_TEST_POSTGRES (a URL ending in `/`, with empty databases `receipts`
// and `batch`); without it these tests skip, unless EVIDENTIA_REQUIRE_POSTGRES is set.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const server = process.env.EVIDENTIA_TEST_POSTGRES
if (!server && process.env.EVIDENTIA_REQUIRE_POSTGRES) {
  throw new Error('EVIDENTIA_REQUIRE_POSTGRES is set but EVIDENTIA_TEST_POSTGRES is not')
}
const skip = server ? false : 'no PostgreSQL server for the tests (EVIDENTIA_TEST_POSTGRES)'

function throwsCode(call, code) {
  assert.throws(call, (error) => {
    assert.equal(error.code, code, error.message)
    return true
  })
}

for (const mode of ['receipts', 'batch']) {
  test(`a ${mode} log in PostgreSQL appends, proves and verifies like a folder`, { skip }, async () => {
    const url = server + mode
    const key = evidentia.SigningKey.generate()
    const logId = `example.com/node-pg-${mode}`
    const log = evidentia.Log.create(url, key, { logId, mode })
    assert.deepEqual([log.logId, log.mode, log.length], [logId, mode, 0])
    const first = log.append({ n: 0 }, { nonce: 'order-0' })
    // A second handle on the same log, as another instance of a service: both append.
    const other = await evidentia.Log.openAsync(url, key)
    const batch = await other.appendBatchAsync([{ n: 1 }, { n: 2 }], { nonces: [null, 'order-2'] })
    assert.equal(other.length, 3)
    // A retried batch gives the same acknowledgement from either handle.
    assert.deepEqual(log.appendBatch([{ n: 2 }], { nonces: ['order-2'], idempotent: true }), batch.slice(1))
    other.close()
    await log.appendAsync({ n: 3 })
    assert.equal(log.length, 4)
    // A retried request: the same acknowledgement, no second record.
    assert.equal(log.append({ n: 0 }, { nonce: 'order-0', idempotent: true }), first)
    throwsCode(() => log.append({ n: 99 }, { nonce: 'order-0' }), 'NONCE_IN_USE')
    assert.equal(log.findNonce('order-0'), 0)
    assert.equal(log.findNonce('nope'), null)
    const checkpoint = await log.checkpointAsync()
    assert.ok(checkpoint.startsWith(`${logId}\n4\n`), checkpoint)
    const jwks = log.keys()
    for (let index = 0; index < log.length; index++) {
      evidentia.verifyInclusion(log.receipt(index), log.inclusionProof(index), checkpoint, jwks)
    }
    if (mode === 'receipts') assert.equal(log.receipt(0), first)
    assert.equal(JSON.parse(log.consistencyProof(1)).new_size, 4)
    const report = await log.verifyAsync()
    assert.ok(report.valid, report.summary)
    assert.deepEqual([report.records, report.logId], [4, logId])
    assert.ok(log.verify(evidentia.KeySet.fromJson(jwks)).valid)
    // What only a folder log does yet is refused, with a message that says so.
    assert.throws(
      () => log.addIndexField('n'),
      (error) => error.code === 'INVALID_ARGUMENT' && error.message.includes('PostgreSQL'),
    )
    // Keys rotate as in a folder: the retired key's records keep verifying.
    const newKey = evidentia.SigningKey.generate()
    await log.rotateAsync(newKey)
    log.append({ n: 4 })
    assert.ok(log.verify().valid)
    throwsCode(() => log.revoke(newKey.kid, '2020-01-01T00:00:00Z'), 'INVALID_ARGUMENT')
    throwsCode(() => log.rotate(key), 'KEY_SET_MALFORMED')
    // An evidence package of a record before the rotation carries the key record
    // and verifies on its own.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-pg-'))
    try {
      const report = evidentia.verifyPackage(log.exportPackage(1, path.join(dir, 'package')))
      assert.ok(report.valid, JSON.stringify(report))
      assert.equal(report.record.seq, 1)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
    // Salted by default (version 2): an event is erased in one transaction, a held
    // record is not, and every receipt stays valid.
    const [salt, receipt] = [log.salt(5), log.receipt(5)]
    assert.ok(salt instanceof Uint8Array && salt.length === 16)
    assert.ok(evidentia.verifyReceipt(receipt, log.keys(), { n: 4 }, salt).valid)
    log.hold(5, 'case 2026-17')
    assert.deepEqual(log.holds().map((h) => [h.seq, h.reason]), [[5, 'case 2026-17']])
    throwsCode(() => log.erase(5, 'GDPR Art. 17'), 'ERASURE_REFUSED')
    assert.equal(log.release(5), true)
    assert.ok(log.erase(5, 'GDPR Art. 17 request 118'))
    throwsCode(() => log.erase(5, 'again'), 'RECORD_ERASED')
    throwsCode(() => log.salt(5), 'RECORD_ERASED')
    const erasedReport = log.verify()
    assert.ok(erasedReport.valid, erasedReport.toText())
    assert.deepEqual(JSON.parse(erasedReport.toJson()).erased, [{ by: 6, index: 5, reason: 'GDPR Art. 17 request 118', seq: 5 }])
    assert.ok(evidentia.verifyReceipt(receipt, log.keys(), { n: 4 }, salt).valid)
    log.close()
    throwsCode(() => evidentia.Log.create(url, key), 'LOG_EXISTS')
    const reader = evidentia.Log.open(url)
    assert.equal(reader.length, 7)
    assert.ok(reader.verify().valid)
    throwsCode(() => reader.append({ n: 5 }), 'KEY_NOT_PRIVATE')
    reader.close()
  })
}
