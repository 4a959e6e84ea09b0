// Keys in a PKCS#11 token (SoftHSM2), named by RFC 7512 `pkcs11:` URIs wherever a
// key is taken: the methods that block open the token on the JavaScript thread,
// the …Async methods on a libuv worker.
//
// Skipped when SoftHSM2 is not installed, unless EVIDENTIA_REQUIRE_SOFTHSM is set
// (as `cargo xtask test` does).
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

const MODULE = process.env.EVIDENTIA_PKCS11_MODULE || '/usr/lib/softhsm/libsofthsm2.so'
const PIN = '482913'

const present = fs.existsSync(MODULE)
if (!present && process.env.EVIDENTIA_REQUIRE_SOFTHSM) {
  throw new Error(`EVIDENTIA_REQUIRE_SOFTHSM is set but ${MODULE} is missing`)
}
const skip = present ? false : `SoftHSM2 is not installed (${MODULE} is missing)`

// Everything the tests write (the tokens, the logs) is here, removed on exit.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-pkcs11-'))
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }))
const tempDir = () => fs.mkdtempSync(path.join(scratch, 'log-'))

/**
 * SoftHSM2 with two tokens of its own: "node" for the keys that sign, and
 * "node-errors" for the failures. PKCS#11 shares a login between all sessions of a
 * process, so a wrong PIN is only refused by a token no live signer is logged in
 * to (and signers here are freed when the garbage collector runs). Each has two
 * P-256 keys and a P-384 one; `uri(label, pin, token)` names a key.
 */
function makeTokens() {
  const home = fs.mkdtempSync(path.join(scratch, 'hsm-'))
  fs.mkdirSync(path.join(home, 'tokens'))
  const conf = path.join(home, 'softhsm2.conf')
  fs.writeFileSync(
    conf,
    `directories.tokendir = ${path.join(home, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  )
  // Read by SoftHSM2 when the module is first loaded, in this process and the tools'.
  process.env.SOFTHSM2_CONF = conf
  const run = (tool, args) => execFileSync(tool, args, { stdio: 'pipe' })
  for (const name of ['node', 'node-errors']) {
    run('softhsm2-util', ['--init-token', '--free', '--label', name, '--pin', PIN, '--so-pin', '5678'])
    const tool = ['--module', MODULE, '--token-label', name, '--login', '--pin', PIN]
    for (const [label, kind] of [['log-key', 'EC:prime256v1'], ['next-key', 'EC:prime256v1'], ['p384', 'EC:secp384r1']]) {
      run('pkcs11-tool', [...tool, '--keypairgen', '--key-type', kind, '--label', label])
    }
  }
  const pinFile = path.join(home, 'pin')
  fs.writeFileSync(pinFile, `${PIN}\n`)
  const wrongPin = path.join(home, 'wrong-pin')
  fs.writeFileSync(wrongPin, '000000\n')
  const uri = (label, pin = pinFile, name = 'node') =>
    `pkcs11:token=${name};object=${label}?pin-source=${pin}&module-path=${MODULE}`
  return { uri, wrongPin }
}

const token = present ? makeTokens() : null

/** Neither the PIN nor the URI's PIN file is written into the log. */
function assertNoPin(dir) {
  for (const entry of fs.readdirSync(dir, { recursive: true })) {
    const file = path.join(dir, entry)
    if (fs.statSync(file).isFile()) assert.ok(!fs.readFileSync(file).includes(PIN), file)
  }
}

for (const mode of ['receipts', 'batch']) {
  test(`a log in ${mode} mode signs, rotates and verifies with token keys`, { skip }, () => {
    const dir = path.join(tempDir(), 'log')
    const log = evidentia.Log.create(dir, token.uri('log-key'), { mode })
    const receipts = [0, 1, 2].map((n) => log.append({ n }))
    const salts = [0, 1, 2].map((n) => log.salt(n))
    log.checkpoint()
    log.rotate(token.uri('next-key'))
    log.append({ n: 3 })
    log.checkpoint()
    assert.ok(log.verify().valid)
    log.close()
    assert.ok(evidentia.verifyLog(dir).valid)
    const keys = fs.readFileSync(path.join(dir, 'keys.jwks'), 'utf8')
    assert.equal(JSON.parse(keys).keys.length, 2)
    if (mode === 'receipts') receipts.forEach((r, n) => assert.ok(evidentia.verifyReceipt(r, keys, { n }, salts[n]).valid))
    assertNoPin(dir)
    // Opened again with the token key, the log continues.
    const again = evidentia.Log.open(dir, token.uri('next-key'))
    again.append({ n: 4 })
    again.close()
    assert.ok(evidentia.verifyLog(dir).valid)
    // A chain signs with a token key too (the log retired this one: checked as a JWS).
    const chain = new evidentia.ReceiptChain('node.example/token')
    const receipt = chain.issue(token.uri('log-key'), { n: 0 })
    assert.ok(evidentia.verifyJws(receipt, keys).payload.length > 0)
  })

  test(`the …Async methods open tokens on a worker (${mode} mode)`, { skip }, async () => {
    const dir = path.join(tempDir(), 'log')
    const log = await evidentia.Log.createAsync(dir, token.uri('log-key'), { mode })
    assert.ok(log instanceof evidentia.Log)
    const first = await log.appendAsync({ n: 0 })
    await log.appendBatchAsync([{ n: 1 }, { n: 2 }])
    await log.checkpointAsync()
    await log.rotateAsync(token.uri('next-key'))
    await log.appendAsync({ n: 3 })
    // The log signs with the token key rotateAsync opened, blocking or not.
    const last = log.append({ n: 4 })
    const lastSalt = log.salt(log.length - 1) // after the rotation's key record
    await log.checkpointAsync()
    assert.equal(JSON.parse(log.keys()).keys.length, 2)
    assert.ok((await log.verifyAsync()).valid)
    const firstSalt = log.salt(0)
    if (mode === 'receipts') assert.ok(evidentia.verifyReceipt(last, log.keys(), { n: 4 }, lastSalt).valid)
    log.close()
    assert.ok((await evidentia.verifyLogAsync(dir)).valid)
    const keys = fs.readFileSync(path.join(dir, 'keys.jwks'), 'utf8')
    if (mode === 'receipts') assert.ok(evidentia.verifyReceipt(first, keys, { n: 0 }, firstSalt).valid)
    assertNoPin(dir)
    const chain = new evidentia.ReceiptChain('node.example/token-async')
    const receipts = [await chain.issueAsync(token.uri('log-key'), { n: 0 })]
    receipts.push(await chain.issueAsync(token.uri('next-key'), { n: 1 }))
    receipts.forEach((r) => assert.ok(evidentia.verifyJws(r, keys).payload))
    assert.equal(chain.length, 2)
  })
}

const failing = (label, pin) => token.uri(label, pin, 'node-errors')
const cases = [
  ['wrong pin', 'TOKEN_LOGIN_FAILED', () => failing('log-key', token.wrongPin)],
  ['missing object', 'TOKEN_KEY_NOT_FOUND', () => failing('no-such-key')],
  ['missing token', 'TOKEN_NOT_FOUND', () => token.uri('log-key', undefined, 'absent')],
  ['p-384 key', 'KEY_UNSUPPORTED', () => failing('p384')],
  ['malformed', 'KEY_URI_INVALID', () => 'pkcs11:token=node-errors;object=%zz'],
]

for (const [which, code, uriOf] of cases) {
  test(`a token error is coded: ${which} is ${code}`, { skip }, async () => {
    const uri = uriOf()
    const dir = path.join(tempDir(), 'log')
    const coded = (error) => {
      assert.ok(error instanceof Error)
      assert.equal(error.code, code, error.message)
      assert.ok(!error.message.includes(PIN), error.message)
      return true
    }
    assert.throws(() => evidentia.Log.create(dir, uri), coded)
    await assert.rejects(evidentia.Log.createAsync(dir, uri), coded)
    assert.ok(!fs.existsSync(dir))
    assert.throws(() => new evidentia.ReceiptChain('node.example/e').issue(uri, { n: 0 }), coded)
    const chain = new evidentia.ReceiptChain('node.example/e')
    await assert.rejects(chain.issueAsync(uri, { n: 0 }), coded)
    assert.equal(chain.length, 0)
    // A log keeps its key when rotating to a key that cannot be opened.
    const log = evidentia.Log.create(dir, evidentia.SigningKey.generate())
    assert.throws(() => log.rotate(uri), coded)
    await assert.rejects(log.rotateAsync(uri), coded)
    assert.throws(() => evidentia.Log.open(dir, uri), coded)
    log.append({ n: 0 })
    assert.equal(JSON.parse(log.keys()).keys.length, 1)
    log.close()
  })
}

test('a string that is not a pkcs11: URI is not a key', () => {
  const dir = path.join(tempDir(), 'log')
  for (const key of ['a key file name is not a key', 'PKCS11:token=node', '']) {
    assert.throws(() => evidentia.Log.create(dir, key), { code: 'INVALID_ARGUMENT' })
  }
  assert.ok(!fs.existsSync(dir))
})
