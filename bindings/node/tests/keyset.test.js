// KeySet: a JWKS parsed once, taken by every verification function in place of
// its text, with the same results and the same errors.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-keyset-'))

function throwsCode(call, code, pattern) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return true
  })
}

test('a KeySet verifies what its JWKS text verifies, in every verification function', async () => {
  const key = evidentia.SigningKey.generate()
  const stranger = evidentia.KeySet.fromJson(evidentia.SigningKey.generate().publicJwk())
  const dir = path.join(tempDir(), 'log')
  // Records of version 1: the entries checked below carry each event as such a
  // record stores it, whole and unsalted.
  const log = evidentia.Log.create(dir, key, { logId: 'example.com/keyset', recordVersion: 1 })
  const first = log.append({ n: 1 })
  const older = log.checkpoint()
  log.append({ n: 2 })
  const checkpoint = log.checkpoint()
  const proof = log.inclusionProof(0)
  const consistency = log.consistencyProof(1)
  const jwks = log.keys()
  const keys = evidentia.KeySet.fromJson(jwks)
  assert.equal(keys.length, 1)
  assert.equal(keys.toJson(), evidentia.KeySet.fromJson(keys.toJson()).toJson())
  assert.equal(String(keys), 'KeySet(keys=1)')

  for (const given of [jwks, keys]) {
    assert.ok(evidentia.verifyReceipt(first, given, { n: 1 }).valid)
    assert.deepEqual(evidentia.verifyReceipt(first, given, { n: 9 }).failureCodes, ['EVENT_MISMATCH'])
    assert.equal(evidentia.verifyJws(first, given).kid, key.kid)
    assert.equal(evidentia.verifyCheckpoint(checkpoint, given).size, 2)
    evidentia.verifyInclusion(first, proof, checkpoint, given)
    evidentia.verifyConsistency(consistency, older, checkpoint, given)
    assert.ok(log.verify(given).valid)
    assert.ok((await log.verifyAsync(given)).valid)
    const entries = [{ entry: first, event: '{"n":1}' }]
    assert.ok(evidentia.verifyLogEntries(entries, given).valid)
    assert.ok((await evidentia.verifyLogEntriesAsync(entries, given)).valid)
  }
  // Keys that are not the log's give the same findings and errors as their text.
  assert.deepEqual(
    evidentia.verifyReceipt(first, stranger, { n: 1 }).failureCodes,
    evidentia.verifyReceipt(first, stranger.toJson(), { n: 1 }).failureCodes,
  )
  assert.ok(!evidentia.verifyReceipt(first, stranger, { n: 1 }).valid)
  throwsCode(() => evidentia.verifyCheckpoint(checkpoint, stranger), 'CHECKPOINT_SIGNATURE_INVALID')
  assert.ok(!log.verify(stranger).valid)
  log.close()
  assert.ok(evidentia.verifyLog(dir, keys).valid)
  assert.ok((await evidentia.verifyLogAsync(dir, keys)).valid)
  assert.ok(!evidentia.verifyLog(dir, stranger).valid)
})

test('a KeySet is made from strict JWKS text only, and nothing else stands in for one', () => {
  throwsCode(() => evidentia.KeySet.fromJson('{"keys":[1]}'), 'KEY_SET_MALFORMED')
  throwsCode(() => evidentia.KeySet.fromJson('{'), 'KEY_SET_MALFORMED')
  throwsCode(() => evidentia.KeySet.fromJson(42), 'INVALID_ARGUMENT')
  const receipt = new evidentia.ReceiptChain('example.com/k').issue(evidentia.SigningKey.generate(), { n: 1 })
  for (const notKeys of [42, {}, { toJson: () => '{"keys":[]}' }, evidentia.SigningKey.generate(), [], null]) {
    throwsCode(() => evidentia.verifyReceipt(receipt, notKeys), 'INVALID_ARGUMENT', /string or a KeySet/)
  }
  throwsCode(() => evidentia.verifyLog(tempDir(), 42), 'INVALID_ARGUMENT', /string or a KeySet/)
})

test('an object of another copy of the addon is refused, not read as a key set or a key', () => {
  // A second copy of the native module, as two versions of a package in one process.
  const dir = path.dirname(require.resolve('..'))
  const addon = fs.readdirSync(dir).find((name) => name.endsWith('.node'))
  const copy = path.join(tempDir(), 'copy.node')
  fs.copyFileSync(path.join(dir, addon), copy)
  const other = require(copy)
  const key = evidentia.SigningKey.generate()
  const receipt = new evidentia.ReceiptChain('example.com/k').issue(key, { n: 1 })
  for (const foreign of [other.SigningKey.generate(), new other.ReceiptChain('example.com/o'), other.verifyReceipt(receipt, key.publicJwk())]) {
    throwsCode(() => evidentia.verifyReceipt(receipt, foreign, { n: 1 }), 'INVALID_ARGUMENT', /string or a KeySet/)
  }
  throwsCode(() => new evidentia.ReceiptChain('example.com/k').issue(new other.ReceiptChain('example.com/o'), { n: 1 }), 'INVALID_ARGUMENT')
  // The same class from the other copy is the same key set.
  assert.ok(evidentia.verifyReceipt(receipt, other.KeySet.fromJson(key.publicJwk()), { n: 1 }).valid)
})
