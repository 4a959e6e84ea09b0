// Keys held elsewhere: signer objects { publicJwk, sign } in place of a SigningKey,
// with a synchronous sign (an HSM client) or one returning a Promise (a cloud
// KMS, here a stand-in shaped like the AWS SDK's KMSClient, backed by node:crypto).
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-signer-'))

/** A key pair: Evidentia's key (for its public JWK) and the same key in node:crypto. */
function keyPair() {
  const key = evidentia.SigningKey.generate()
  return { publicJwk: key.publicJwk(), privateKey: crypto.createPrivateKey(key.toPem()) }
}

// A stand-in for `@aws-sdk/client-kms`: `send(new SignCommand(input))` resolves to
// `{ Signature }`, a DER-encoded ECDSA signature, and `GetPublicKeyCommand` to the
// key's SubjectPublicKeyInfo (DER), as AWS KMS answers.
class SignCommand {
  constructor(input) {
    this.input = input
  }
}
class GetPublicKeyCommand {
  constructor(input) {
    this.input = input
  }
}
class KMSClient {
  constructor(keys) {
    this.keys = keys
    this.calls = 0
  }
  async send(command) {
    await new Promise((resolve) => setTimeout(resolve, 1))
    const key = this.keys[command.input.KeyId]
    if (command instanceof GetPublicKeyCommand) {
      return { KeyId: command.input.KeyId, PublicKey: new Uint8Array(crypto.createPublicKey(key).export({ format: 'der', type: 'spki' })) }
    }
    const { KeyId, Message, MessageType, SigningAlgorithm } = command.input
    assert.equal(MessageType, 'RAW')
    assert.equal(SigningAlgorithm, 'ECDSA_SHA_256')
    assert.ok(Message.length <= 4096)
    this.calls += 1
    const Signature = new Uint8Array(crypto.sign('sha256', Message, { key, dsaEncoding: 'der' }))
    return { KeyId, Signature, SigningAlgorithm }
  }
}

// The adapter of bindings/node/README.md: an AWS KMS key as an Evidentia signer.
async function awsKmsSigner(client, keyId) {
  const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }))
  const jwk = crypto.createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' })
  return {
    publicJwk: JSON.stringify(jwk),
    async sign(message) {
      // KMS hashes the message (RAW, at most 4096 bytes: Evidentia signs records
      // and checkpoints, which hold events only by their digest) and returns DER.
      const command = new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })
      return (await client.send(command)).Signature
    },
  }
}

/** A synchronous signer (a local HSM client), answering R || S. */
function localSigner({ publicJwk, privateKey }) {
  return { publicJwk, sign: (message) => crypto.sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }) }
}

const jwksOf = (...jwks) => `{"keys":[${jwks.join(',')}]}`

async function rejectsCode(promise, code, pattern) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return true
  })
}

function throwsCode(call, code, pattern) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof Error)
    assert.equal(error.code, code, error.message)
    if (pattern) assert.match(error.message, pattern)
    return true
  })
}

test('a KMS-shaped signer issues receipts that verify', async () => {
  const pair = keyPair()
  const client = new KMSClient({ 'alias/evidence': pair.privateKey })
  const signer = await awsKmsSigner(client, 'alias/evidence')
  const chain = new evidentia.ReceiptChain('example.com/kms')
  const events = [{ n: 1 }, { n: 2 }, { n: 3 }]
  const receipts = []
  for (const event of events) receipts.push(await chain.issueAsync(signer, event, { nonce: `n-${event.n}` }))
  assert.equal(chain.length, 3)
  assert.equal(client.calls, 3)
  const jwks = jwksOf(pair.publicJwk)
  receipts.forEach((receipt, i) => assert.ok(evidentia.verifyReceipt(receipt, jwks, events[i]).valid))
  const entries = receipts.map((entry, i) => ({ entry, event: evidentia.canonicalize(events[i]).toString() }))
  assert.ok(evidentia.verifyLogEntries(entries, jwks).valid)
  // A synchronous signer and a SigningKey work in issueAsync too, and the chain continues.
  receipts.push(await chain.issueAsync(localSigner(pair), { n: 4 }))
  assert.ok(evidentia.verifyReceipt(receipts[3], jwks, { n: 4 }).valid)
  assert.equal(chain.length, 4)
})

for (const mode of ['receipts', 'batch']) {
  test(`a KMS-shaped signer appends to a log in ${mode} mode`, async () => {
    const pair = keyPair()
    const client = new KMSClient({ k: pair.privateKey })
    const signer = await awsKmsSigner(client, 'k')
    const dir = tempDir()
    // The key signs once before it becomes the log's key: through a Promise, on a worker.
    throwsCode(() => evidentia.Log.create(dir, signer, { mode }), 'SIGNER_FAILED', /Promise/)
    const log = await evidentia.Log.createAsync(dir, signer, { mode })
    assert.ok(log instanceof evidentia.Log)
    const first = await log.appendAsync({ n: 1 }, { nonce: 'a' })
    const batch = await log.appendBatchAsync([{ n: 2 }, { n: 3 }])
    assert.equal(batch.length, 2)
    const note = await log.checkpointAsync()
    assert.equal(evidentia.verifyCheckpoint(note, log.keys()).size, 3)
    assert.ok(client.calls >= 2)
    assert.equal(log.length, 3)
    const report = await log.verifyAsync()
    assert.ok(report.valid, report.toText())
    if (mode === 'receipts') assert.ok(evidentia.verifyReceipt(first, log.keys(), { n: 1 }, log.salt(0)).valid)
    assert.ok(evidentia.verifyReceipt(log.receipt(2), log.keys(), { n: 3 }, log.salt(2)).valid)
    // A Promise-returning signer cannot answer the methods that block: in receipts
    // mode nothing is appended; in batch mode the record is stored, and sealed by
    // the next checkpoint.
    if (mode === 'receipts') {
      throwsCode(() => log.append({ n: 4 }), 'SIGNER_FAILED', /Promise/)
      assert.equal(log.length, 3)
    } else {
      throwsCode(() => log.append({ n: 4 }), 'RECORDS_UNSEALED', /Promise/)
      assert.equal(log.length, 4)
      await log.checkpointAsync()
    }
    log.close()
    // Opened again with the signer, the log continues.
    const again = evidentia.Log.open(dir, signer)
    await again.appendAsync({ n: 5 })
    assert.equal(again.length, mode === 'receipts' ? 4 : 5)
    again.close()
    assert.ok(evidentia.verifyLog(dir).valid)
  })
}

test('a synchronous signer signs in every method, blocking or not', async () => {
  const pair = keyPair()
  const signer = localSigner(pair)
  const chain = new evidentia.ReceiptChain('example.com/hsm')
  const receipt = chain.issue(signer, { n: 1 })
  assert.ok(evidentia.verifyReceipt(receipt, jwksOf(pair.publicJwk), { n: 1 }).valid)
  const dir = tempDir()
  const log = evidentia.Log.create(dir, signer)
  log.append({ n: 1 })
  log.appendBatch([{ n: 2 }, { n: 3 }])
  await log.appendAsync({ n: 4 })
  await log.appendBatchAsync([{ n: 5 }])
  assert.ok(evidentia.verifyCheckpoint(log.checkpoint(), log.keys()).size === 5)
  // Rotation: from the signer to a SigningKey, and on to another signer.
  const key = evidentia.SigningKey.generate()
  log.rotate(key)
  log.append({ n: 6 })
  const next = keyPair()
  log.rotate(localSigner(next))
  log.append({ n: 7 })
  assert.equal(log.length, 9, 'seven events and the key records of two rotations')
  assert.ok(log.verify().valid)
  log.close()
})

test('rotateAsync moves a log to a KMS-shaped signer and on, where rotate cannot', async () => {
  const dir = tempDir()
  const log = evidentia.Log.create(dir, evidentia.SigningKey.generate())
  log.append({ n: 1 })
  const pair = keyPair()
  const client = new KMSClient({ k: pair.privateKey })
  const signer = await awsKmsSigner(client, 'k')
  // The new key signs once before it becomes the log's key: through a Promise, on a worker.
  throwsCode(() => log.rotate(signer), 'SIGNER_FAILED', /Promise/)
  assert.equal(await log.rotateAsync(signer), undefined)
  assert.equal(JSON.parse(log.keys()).keys.length, 2)
  const second = await log.appendAsync({ n: 2 })
  assert.ok(evidentia.verifyReceipt(second, log.keys(), { n: 2 }, log.salt(log.length - 1)).valid)
  // The current key, a Promise-returning signer, signs the retiring checkpoint there too.
  const next = evidentia.SigningKey.generate()
  throwsCode(() => log.rotate(next), 'SIGNER_FAILED', /Promise/)
  await log.rotateAsync(next)
  log.append({ n: 3 })
  assert.equal(JSON.parse(log.keys()).keys.length, 3)
  // A key that cannot sign for its public key is refused, and the log keeps its key.
  const wrong = { publicJwk: keyPair().publicJwk, sign: async (message) => localSigner(keyPair()).sign(message) }
  await rejectsCode(log.rotateAsync(wrong), 'SIGNER_FAILED')
  await rejectsCode(log.rotateAsync('not a key'), 'INVALID_ARGUMENT')
  log.append({ n: 4 })
  assert.equal(JSON.parse(log.keys()).keys.length, 3)
  assert.ok((await log.verifyAsync()).valid)
  log.close()
  await rejectsCode(log.rotateAsync(next), 'INVALID_HANDLE')
  const reader = evidentia.Log.open(dir)
  await rejectsCode(reader.rotateAsync(next), 'KEY_NOT_PRIVATE')
  reader.close()
})

/** A signer whose answers the test switches: good, wrong key, thrown, rejected, … */
function switchable(pair) {
  const stranger = keyPair()
  const signer = {
    publicJwk: pair.publicJwk,
    how: 'good',
    sign(message) {
      switch (this.how) {
        case 'good':
          return crypto.sign('sha256', message, { key: pair.privateKey, dsaEncoding: 'der' })
        case 'wrong':
          return crypto.sign('sha256', message, { key: stranger.privateKey, dsaEncoding: 'der' })
        case 'garbage':
          return Buffer.from([0x30, 0x02, 0x01])
        case 'text':
          return 'not a signature'
        case 'throws':
          throw new Error('the HSM is unplugged')
        case 'rejects':
          return Promise.reject(new Error('KMS throttled the request'))
        case 'never':
          return new Promise(() => {})
        default:
          throw new Error(`unknown ${this.how}`)
      }
    },
  }
  return signer
}

test('a wrong, thrown or rejected signature is SIGNER_FAILED and changes nothing', async () => {
  const pair = keyPair()
  const signer = switchable(pair)
  const dir = tempDir()
  const log = evidentia.Log.create(dir, signer)
  log.append({ n: 0 })
  const failures = [
    ['wrong', /does not verify|verify/],
    ['garbage', null],
    ['text', /Buffer or a Uint8Array/],
    ['throws', /the HSM is unplugged/],
  ]
  for (const [how, pattern] of failures) {
    signer.how = how
    throwsCode(() => log.append({ n: 1 }), 'SIGNER_FAILED', pattern)
    await rejectsCode(log.appendAsync({ n: 1 }), 'SIGNER_FAILED', pattern)
    await rejectsCode(log.appendBatchAsync([{ n: 1 }, { n: 2 }]), 'SIGNER_FAILED', pattern)
    assert.equal(log.length, 1, how)
  }
  signer.how = 'rejects'
  await rejectsCode(log.appendAsync({ n: 1 }), 'SIGNER_FAILED', /KMS throttled the request/)
  throwsCode(() => log.append({ n: 1 }), 'SIGNER_FAILED', /Promise/)
  assert.equal(log.length, 1)
  assert.ok(log.verify().valid)
  // The log continues where it was: the next record is number 1.
  signer.how = 'good'
  const receipt = log.append({ n: 1 })
  assert.equal(log.length, 2)
  assert.ok(evidentia.verifyReceipt(receipt, log.keys(), { n: 1 }, log.salt(1)).valid)
  assert.ok(log.verify().valid)
  log.close()

  // The chain too: nothing issued, and the next receipt follows the last.
  const chain = new evidentia.ReceiptChain('example.com/failing')
  const receipts = [chain.issue(signer, { n: 0 })]
  for (const [how, pattern] of [...failures, ['rejects', /KMS throttled the request/]]) {
    signer.how = how
    await rejectsCode(chain.issueAsync(signer, { n: 1 }), 'SIGNER_FAILED', pattern)
    if (how !== 'rejects') throwsCode(() => chain.issue(signer, { n: 1 }), 'SIGNER_FAILED', pattern)
    assert.equal(chain.length, 1, how)
  }
  signer.how = 'good'
  receipts.push(await chain.issueAsync(signer, { n: 1 }))
  const entries = receipts.map((entry, n) => ({ entry, event: JSON.stringify({ n }) }))
  assert.ok(evidentia.verifyLogEntries(entries, jwksOf(pair.publicJwk)).valid)
})

test('a Promise that never settles times out, and releases the log', async () => {
  const pair = keyPair()
  const signer = switchable(pair)
  signer.signTimeoutMs = 150
  const dir = tempDir()
  const log = evidentia.Log.create(dir, signer)
  signer.how = 'never'
  const started = Date.now()
  await rejectsCode(log.appendAsync({ n: 0 }), 'SIGNER_FAILED', /150 ms/)
  assert.ok(Date.now() - started < 10_000)
  assert.equal(log.length, 0)
  signer.how = 'good'
  await log.appendAsync({ n: 0 })
  assert.equal(log.length, 1)
  log.close()

  const chain = new evidentia.ReceiptChain('example.com/slow')
  signer.how = 'never'
  await rejectsCode(chain.issueAsync(signer, { n: 0 }), 'SIGNER_FAILED', /150 ms/)
  signer.how = 'good'
  await chain.issueAsync(signer, { n: 0 })
  assert.equal(chain.length, 1)
})

test('signer objects are checked when given', async () => {
  const pair = keyPair()
  const dir = tempDir()
  const sign = () => Buffer.alloc(64)
  for (const publicJwk of ['garbage', '{"kty":"EC"}', '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}']) {
    assert.throws(
      () => evidentia.Log.create(dir, { publicJwk, sign }),
      (e) => e instanceof Error && /^(KEY_|JSON_)/.test(e.code),
    )
    assert.throws(
      () => new evidentia.ReceiptChain('example.com/x').issue({ publicJwk, sign }, { n: 1 }),
      (e) => e instanceof Error && /^(KEY_|JSON_)/.test(e.code),
    )
    await assert.rejects(evidentia.Log.createAsync(dir, { publicJwk, sign }), (e) => /^(KEY_|JSON_)/.test(e.code))
  }
  throwsCode(() => evidentia.Log.create(dir, { publicJwk: 42, sign }), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.Log.create(dir, { publicJwk: pair.publicJwk }), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.Log.create(dir, { publicJwk: pair.publicJwk, sign, signTimeoutMs: -1 }), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.Log.create(dir, 'a key'), 'INVALID_ARGUMENT')
  throwsCode(() => new evidentia.ReceiptChain('example.com/x').issue(new evidentia.ReceiptChain('x.example/y'), { n: 1 }), 'INVALID_ARGUMENT')
  // A signer that cannot sign for its public key never becomes a log's key.
  throwsCode(() => evidentia.Log.create(dir, { publicJwk: pair.publicJwk, sign }), 'SIGNER_FAILED')
  await rejectsCode(evidentia.Log.createAsync(dir, { publicJwk: pair.publicJwk, sign: async () => sign() }), 'SIGNER_FAILED')
  assert.ok(!fs.existsSync(path.join(dir, 'log.json')))
})

test('a chain signs one receipt at a time', async () => {
  const pair = keyPair()
  const client = new KMSClient({ k: pair.privateKey })
  const signer = await awsKmsSigner(client, 'k')
  const chain = new evidentia.ReceiptChain('example.com/one-at-a-time')
  // The first signature waits until the test releases it, so the refusals below
  // cannot race a signer that happens to answer quickly.
  let release
  const released = new Promise((resolve) => (release = resolve))
  const held = { publicJwk: signer.publicJwk, sign: async (message) => (await released, signer.sign(message)) }
  const first = chain.issueAsync(held, { n: 0 })
  // While the first waits for its signature, another is refused, not reordered.
  await rejectsCode(chain.issueAsync(signer, { n: 1 }), 'INVALID_ARGUMENT', /await/)
  throwsCode(() => chain.issue(localSigner(pair), { n: 1 }), 'INVALID_ARGUMENT', /await/)
  assert.equal(chain.length, 0)
  release()
  const receipts = [await first]
  assert.equal(chain.length, 1)
  // Awaited in turn, they all succeed in order.
  for (let n = 1; n < 4; n++) receipts.push(await chain.issueAsync(signer, { n }))
  const entries = receipts.map((entry, n) => ({ entry, event: JSON.stringify({ n }) }))
  assert.ok(evidentia.verifyLogEntries(entries, jwksOf(pair.publicJwk)).valid)
})
