// Erasure (SPEC.md §27): a version-2 log erases an event, keeps verifying and
// reports the record erased; legal holds refuse it; every refusal has its code.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const SECRET = 'Katherine-Johnson-91ab'

function throwsCode(call, code) {
  assert.throws(call, (error) => {
    assert.equal(error.code, code, error.message)
    return true
  })
}

function filesHolding(folder, needle) {
  const found = []
  for (const entry of fs.readdirSync(folder, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name)
    if (entry.isFile() && fs.readFileSync(file).includes(needle)) found.push(file)
  }
  return found
}

for (const mode of ['receipts', 'batch']) {
  test(`an erased event is in no file and the ${mode} log stays valid`, () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-')), 'log')
    const key = evidentia.SigningKey.generate()
    const log = evidentia.Log.create(dir, key, { mode, recordVersion: 2, indexFields: ['name'] })
    for (const name of ['Bob', SECRET, 'Carol']) log.append({ name, amount: 12 })
    assert.equal(filesHolding(dir, SECRET).length, 1)

    log.hold(1, 'case 2026-17')
    assert.deepEqual(log.holds().map((h) => [h.seq, h.reason]), [[1, 'case 2026-17']])
    throwsCode(() => log.erase(1, 'GDPR Art. 17'), 'ERASURE_REFUSED')
    assert.equal(log.release(1), true)
    assert.equal(log.release(1), false)

    log.checkpoint()
    const archive = log.exportPackage(2, path.join(path.dirname(dir), 'package'), { disclose: ['amount'] })
    const packaged = evidentia.verifyPackage(archive)
    assert.ok(packaged.valid, JSON.stringify(packaged))
    assert.deepEqual(packaged.disclosed, { disclosed: { amount: 12 }, names: ['amount'], undisclosed: 1 })
    assert.deepEqual(filesHolding(path.join(path.dirname(dir), 'package'), 'Carol'), [])
    throwsCode(() => log.exportPackage(2, path.join(path.dirname(dir), 'other'), { disclose: ['nope'] }), 'INVALID_ARGUMENT')

    // The salt checks the event against its receipt without the log, until erased.
    const salt = log.salt(1)
    assert.ok(salt instanceof Uint8Array && salt.length === 16)
    const [receipt, event] = [log.receipt(1), { name: SECRET, amount: 12 }]
    assert.ok(evidentia.verifyReceipt(receipt, log.keys(), event, salt).valid)
    assert.deepEqual(evidentia.verifyReceipt(receipt, log.keys(), { ...event, amount: 13 }, salt).failureCodes, ['EVENT_MISMATCH'])
    throwsCode(() => evidentia.verifyReceipt(receipt, log.keys(), event), 'INVALID_ARGUMENT', /salt/)

    assert.ok(log.erase(1, 'GDPR Art. 17 request 118'))
    assert.deepEqual(filesHolding(dir, SECRET), [])
    throwsCode(() => log.salt(1), 'RECORD_ERASED')
    // The holder who kept the salt still proves the erased event.
    assert.ok(evidentia.verifyReceipt(receipt, log.keys(), event, salt).valid)
    const report = log.verify()
    assert.ok(report.valid, report.toText())
    assert.deepEqual(JSON.parse(report.toJson()).erased, [{ by: 3, index: 1, reason: 'GDPR Art. 17 request 118', seq: 1 }])

    throwsCode(() => log.erase(1, 'again'), 'RECORD_ERASED')
    throwsCode(() => log.erase(3, 'the erasure record'), 'ERASURE_REFUSED')
    throwsCode(() => log.erase(9, 'beyond'), 'INVALID_ARGUMENT')
    throwsCode(() => log.erase(1.5, 'not an index'), 'INVALID_ARGUMENT')
    throwsCode(() => log.hold(0, ''), 'INVALID_ARGUMENT')
  })
}

test('a version-1 log does not erase, and only versions 1 and 2 are made', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-'))
  const key = evidentia.SigningKey.generate()
  const log = evidentia.Log.create(path.join(tmp, 'log'), key, { recordVersion: 1 })
  const receipt = log.append({ name: 'x' })
  assert.equal(log.salt(0), null)
  assert.ok(evidentia.verifyReceipt(receipt, log.keys(), { name: 'x' }).valid)
  throwsCode(() => evidentia.verifyReceipt(receipt, log.keys(), { name: 'x' }, new Uint8Array(16)), 'INVALID_ARGUMENT')
  throwsCode(() => log.erase(0, 'request'), 'ERASURE_REFUSED')
  throwsCode(() => evidentia.Log.create(path.join(tmp, 'other'), key, { recordVersion: 3 }), 'INVALID_ARGUMENT')
})
