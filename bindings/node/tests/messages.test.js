// Signed messages of other parties (SPEC.md §21) through the Node package: tokens
// that `jose` signs with every algorithm partners use, recorded in a log, checked
// again, found by an indexed field; and what is refused.
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

/** How `jose` makes a key pair for each JWS algorithm. */
const ALGORITHMS = {
  ES256: {},
  ES384: {},
  ES512: {},
  RS256: { modulusLength: 2048 },
  PS256: { modulusLength: 2048 },
  PS384: { modulusLength: 2048 },
  EdDSA: { crv: 'Ed25519' },
}

/** A partner: its key pair and public JWKS, for `alg`. */
async function partner(jose, alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { ...ALGORITHMS[alg], extractable: true })
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg }
  return { privateKey, jwk, jwks: { keys: [jwk] } }
}

const provenance = {
  jwks_url: 'https://issuer.example/.well-known/jwks.json',
  fetched_at: '2026-11-30T10:00:00Z',
  partner_id: 'issuer-1',
  established_by: 'test',
}

test('interop: jose signs with every algorithm; recorded, verified, checked again', async () => {
  const jose = await import('jose')
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, evidentia.SigningKey.generate(), { indexFields: ['instruction_id'] })
  let recorded = 0
  for (const alg of Object.keys(ALGORITHMS)) {
    const issuer = await partner(jose, alg, `${alg}-key`)
    const claims = { instruction_id: `INS-${alg}`, amount: '125.00', currency: 'EUR' }
    const jws = await new jose.CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg, kid: issuer.jwk.kid })
      .sign(issuer.privateKey)

    const verified = evidentia.verifyPartnerJws(jws, issuer.jwks)
    assert.equal(verified.alg, alg)
    assert.equal(verified.kid, `${alg}-key`)
    assert.equal(verified.keyThumbprint, evidentia.jwkThumbprint(JSON.stringify(issuer.jwk)))
    assert.deepEqual(JSON.parse(verified.payload.toString()), claims)
    // The same key as text, and the one JWK alone.
    assert.equal(evidentia.verifyPartnerJws(jws, JSON.stringify(issuer.jwk)).alg, alg)

    // The raw signature over the signing input, as a partner's signature.
    const [h, p, s] = jws.split('.')
    evidentia.verifyPartnerSignature(alg, issuer.jwk, Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url'))
    throwsCode(
      () => evidentia.verifyPartnerSignature(alg, issuer.jwk, Buffer.from(`${h}.${p}x`), Buffer.from(s, 'base64url')),
      'SIGNATURE_INVALID',
    )

    const ack = log.recordMessage(jws, issuer.jwks, { provenance, direction: 'inbound' })
    assert.equal(typeof ack, 'string')
    const index = log.length - 1
    assert.deepEqual(log.find('instruction_id', `INS-${alg}`), [index])
    const message = log.message(index)
    assert.equal(message.direction, 'inbound')
    assert.equal(message.verification.result, 'valid')
    assert.equal(message.verification.alg, alg)
    assert.equal(message.verification.key_thumbprint, verified.keyThumbprint)
    assert.deepEqual(message.payload, claims)
    assert.deepEqual(message.provenance, provenance)
    const again = log.verifyMessage(index)
    assert.equal(again.valid, true)
    assert.equal(again.agrees, true)

    // A tampered token: refused, and recorded as failed only when asked.
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, amount: '999.00' })).toString('base64url')}.${s}`
    throwsCode(() => evidentia.verifyPartnerJws(tampered, issuer.jwks), 'SIGNATURE_INVALID')
    throwsCode(() => log.recordMessage(tampered, issuer.jwks, { provenance }), 'SIGNATURE_INVALID')
    recorded += 1
  }
  assert.equal(recorded, 7)
  assert.equal(log.length, 7)
  const report = log.verify()
  assert.equal(report.valid, true, report.toText())
  assert.equal(evidentia.verifyLog(dir).valid, true)
  log.close()
})

test('recordMessage: options, links, failures recorded, async, and errors with codes', async () => {
  const jose = await import('jose')
  const issuer = await partner(jose, 'ES256', 'k1')
  const sign = (claims) =>
    new jose.CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(issuer.privateKey)
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), evidentia.SigningKey.generate(), {
    validFrom: '2024-01-01T00:00:00Z',
  })
  log.append({ type: 'request', id: 'R-1' }, { time: '2024-01-02T00:00:00Z' })
  const jws = await sign({ request: 'R-1', answer: 'approved' })
  // Given a time, that is both the time of the check and the record's.
  const ack = log.recordMessage(jws, JSON.stringify(issuer.jwks), {
    provenance: JSON.stringify(provenance),
    direction: 'inbound',
    link: 0,
    nonce: 'answer-R-1',
    time: '2024-01-03T00:00:00Z',
  })
  assert.equal(log.findNonce('answer-R-1'), 1)
  assert.ok(ack.length > 0)
  const message = log.message(1)
  assert.equal(message.verification.verified_at, '2024-01-03T00:00:00Z')
  assert.equal(message.link.seq, 0)
  assert.equal(log.message(0), null)
  throwsCode(() => log.verifyMessage(0), 'INVALID_ARGUMENT')
  throwsCode(() => log.message(7), 'INVALID_ARGUMENT')

  // Detached payloads; outbound messages; a failure recorded when asked.
  const payload = Buffer.from('{"x":1}')
  const detached = await new jose.CompactSign(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(issuer.privateKey)
  const [h, , s] = detached.split('.')
  log.recordMessage(`${h}..${s}`, issuer.jwks, { payload, direction: 'outbound' })
  assert.equal(log.message(2).direction, 'outbound')
  assert.deepEqual(log.message(2).payload, { x: 1 })
  const other = await partner(jose, 'ES256', 'k1')
  throwsCode(() => log.recordMessage(jws, other.jwks), 'SIGNATURE_INVALID')
  log.recordMessage(jws, other.jwks, { recordFailure: true })
  assert.equal(log.message(3).verification.result, 'invalid')
  assert.equal(log.message(3).verification.error, 'SIGNATURE_INVALID')
  const checked = log.verifyMessage(3)
  assert.equal(checked.valid, false)
  assert.equal(checked.agrees, true)

  await log.recordMessageAsync(jws, issuer.jwks, {})
  assert.equal(log.length, 5)
  await assert.rejects(log.recordMessageAsync('garbage', issuer.jwks), (e) => e.code === 'JWS_MALFORMED')

  throwsCode(() => log.recordMessage(jws, issuer.jwks, { link: 99 }), 'INVALID_ARGUMENT')
  throwsCode(() => log.recordMessage(jws, issuer.jwks, { direction: 'sideways' }), 'INVALID_ARGUMENT')
  throwsCode(() => log.recordMessage(jws, issuer.jwks, { provenance: [1] }), 'INVALID_ARGUMENT')
  throwsCode(() => log.recordMessage(jws, issuer.jwks, { time: 'yesterday' }), 'TIME_INVALID')
  throwsCode(() => log.recordMessage(jws, '{"keys": ['), 'KEY_SET_MALFORMED')
  throwsCode(() => log.recordMessage(jws, { keys: [] }), 'KEY_SET_MALFORMED')
  throwsCode(() => log.recordMessage(42, issuer.jwks), 'INVALID_ARGUMENT')
  assert.equal(log.length, 5)
  assert.equal(log.verify().valid, true)
  log.close()
  throwsCode(() => log.message(0), 'INVALID_HANDLE')
})

test('find and addIndexField', () => {
  const dir = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(dir, evidentia.SigningKey.generate())
  log.append({ order: 'A-1', n: 1 })
  log.append({ order: 'A-2', n: 2 })
  log.append({ order: 'A-1', n: 3 })
  throwsCode(() => log.find('order', 'A-1'), 'FIELD_NOT_INDEXED')
  log.addIndexField('order')
  assert.deepEqual(log.find('order', 'A-1'), [0, 2])
  assert.deepEqual(log.find('order', 'none'), [])
  log.append({ order: 'A-2' })
  assert.deepEqual(log.find('order', 'A-2'), [1, 3])
  throwsCode(() => log.find(1, 'A-1'), 'INVALID_ARGUMENT')
  throwsCode(() => log.addIndexField(''), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.Log.create(path.join(tempDir(), 'x'), evidentia.SigningKey.generate(), { indexFields: [7] }), 'INVALID_ARGUMENT')
  log.close()
})

test('readSignedMessage and partner functions refuse garbage with codes', () => {
  assert.equal(evidentia.readSignedMessage({ type: 'payment' }), null)
  assert.equal(evidentia.readSignedMessage('{"a":1}'), null)
  throwsCode(() => evidentia.readSignedMessage({ evidentia_signed_message: 1 }), 'MESSAGE_MALFORMED')
  throwsCode(() => evidentia.readSignedMessage('{"a":1,"a":2}'), 'JSON_DUPLICATE_KEY')
  throwsCode(() => evidentia.verifyPartnerJws('a.b.c', { keys: 'x' }), 'KEY_SET_MALFORMED')
  throwsCode(() => evidentia.verifyPartnerJws(7, { kty: 'OKP' }), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.verifyPartnerSignature('none', '{}', Buffer.alloc(1), Buffer.alloc(1)), 'JWS_UNSUPPORTED_ALGORITHM')
  throwsCode(() => evidentia.verifyPartnerSignature('ES256', 'not json', Buffer.alloc(1), Buffer.alloc(1)), 'KEY_MALFORMED')
})
