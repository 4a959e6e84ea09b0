// Every file of testvectors/ through the Node package, as every binding runs them.
// The same file runs against the WebAssembly build (EVIDENTIA_JS_PACKAGE names its
// Node.js module), which has every name here but `Log`: it has no file system.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require(process.env.EVIDENTIA_JS_PACKAGE || '..')

const NO_LOG = Boolean(process.env.EVIDENTIA_JS_PACKAGE) && 'the WASM build has no Log (it needs a file system)'

const VECTORS = process.env.EVIDENTIA_VECTORS || path.resolve(__dirname, '../../../testvectors')

const load = (name) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8'))
const hex = (text) => Buffer.from(text, 'hex')
// Bytes as a Buffer: the Node package returns Buffers, the WASM build Uint8Arrays.
const buf = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-node-'))

function key(name) {
  const entry = load('keys.json').keys.find((k) => k.name === name)
  return evidentia.SigningKey.fromJwk(entry.private_jwk)
}

/** Asserts that `call` throws an Error whose `code` is the name `code`. */
function throwsCode(call, code, message) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof Error, message)
    assert.equal(error.code, code, message)
    return true
  })
}

/** A verify case: either an error code name, or validity and failure codes. */
function expectReport(kase, call) {
  if ('error' in kase) {
    throwsCode(call, kase.error, kase.name)
  } else {
    const report = call()
    assert.equal(report.valid, kase.valid, kase.name)
    assert.deepEqual(report.failureCodes, kase.failures, kase.name)
  }
}

test('canonicalization', () => {
  const cases = load('canonicalization.json').cases
  for (const kase of cases) {
    const input = hex(kase.input_hex)
    if ('canonical' in kase) {
      const canonical = evidentia.canonicalize(input)
      assert.ok(canonical instanceof Uint8Array, kase.name)
      assert.equal(buf(canonical).toString('utf8'), kase.canonical, kase.name)
    } else {
      throwsCode(() => evidentia.canonicalize(input), kase.error, kase.name)
    }
  }
  assert.equal(cases.length, 34)
})

test('digests', () => {
  const doc = load('digests.json')
  for (const kase of doc.json) {
    assert.equal(buf(evidentia.canonicalize(kase.input)).toString('utf8'), kase.canonical)
    assert.equal(evidentia.digest(kase.input), kase.digest)
  }
  for (const kase of doc.raw) {
    assert.equal(evidentia.sha256(hex(kase.input_hex)), kase.digest)
  }
})

test('keys', () => {
  const doc = load('keys.json')
  for (const entry of doc.keys) {
    const k = evidentia.SigningKey.fromJwk(entry.private_jwk)
    assert.equal(k.toJwk(), entry.private_jwk)
    assert.equal(k.publicJwk(), entry.public_jwk)
    assert.equal(k.toPem(), entry.private_pem)
    assert.equal(k.publicPem(), entry.public_pem)
    assert.equal(k.kid, entry.kid)
    assert.equal(evidentia.jwkThumbprint(entry.public_jwk), entry.kid)
    assert.equal(evidentia.SigningKey.fromPem(entry.private_pem).kid, entry.kid)
  }
  for (const kase of doc.invalid_private_keys) {
    const load = kase.input.startsWith('-') ? evidentia.SigningKey.fromPem : evidentia.SigningKey.fromJwk
    throwsCode(() => load(kase.input), kase.error, kase.name)
  }
  for (const kase of doc.invalid_key_sets) {
    throwsCode(() => evidentia.verifyJws('a.b.c', kase.input), kase.error, kase.name)
  }
})

test('jws', () => {
  const doc = load('jws.json')
  for (const kase of doc.sign) {
    const jws = key(kase.key).signJws(hex(kase.payload_hex), { detached: kase.detached, unencoded: kase.unencoded })
    assert.equal(jws, kase.jws, kase.name)
  }
  for (const kase of doc.verify) {
    const payload = kase.payload_hex === null ? undefined : hex(kase.payload_hex)
    if (kase.valid) {
      const verified = evidentia.verifyJws(kase.jws, kase.jwks, payload)
      assert.deepEqual(buf(verified.payload), hex(kase.verified_payload_hex), kase.name)
      assert.equal(verified.kid, kase.kid, kase.name)
      assert.equal(verified.header.alg, 'ES256', kase.name)
    } else {
      throwsCode(() => evidentia.verifyJws(kase.jws, kase.jwks, payload), kase.error, kase.name)
    }
  }
})

test('receipts issued by a log', { skip: NO_LOG }, () => {
  const doc = load('receipts.json')
  const signer = key(doc.key)
  // The records carry fixed past times: the key is valid from the first. The
  // vectors are of version-1 records, whose events are not salted.
  const validFrom = doc.issue[0].time
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), signer, { logId: doc.log_id, validFrom, recordVersion: 1 })
  try {
    for (const entry of doc.issue) {
      const options = { nonce: entry.nonce ?? undefined, time: entry.time ?? undefined }
      assert.equal(log.append(entry.event, options), entry.receipt)
    }
    // The log verifies against the key itself and against its own key history.
    assert.ok(log.verify(signer.publicJwk()).valid)
    assert.ok(log.verify().valid)
  } finally {
    log.close()
  }
})

test('receipts verified', () => {
  for (const kase of load('receipts.json').verify) {
    expectReport(kase, () => evidentia.verifyReceipt(kase.receipt, kase.jwks, kase.event))
  }
})

test('logs', () => {
  const doc = load('logs.json')
  for (const kase of doc.cases) {
    const entries = kase.entries.map((e) => ({ entry: e.receipt, event: e.event ?? undefined }))
    const report = evidentia.verifyLogEntries(entries, doc.jwks)
    assert.equal(report.valid, kase.valid, kase.name)
    const found = report.findings.map((f) => [f.name, f.index])
    assert.deepEqual(found, kase.findings.map((f) => [f.code, f.index]), kase.name)
  }
})

test('merkle', () => {
  const doc = load('merkle.json')
  const leaves = doc.leaves.map((leaf) => hex(leaf.data_hex))
  const roots = doc.roots.map((r) => Buffer.from(r, 'base64'))
  for (const kase of doc.inclusion) {
    const proof = JSON.parse(kase.proof)
    evidentia.verifyInclusionProof(kase.proof, leaves[proof.leaf_index], roots[proof.tree_size])
  }
  for (const kase of doc.consistency) {
    const proof = JSON.parse(kase.proof)
    evidentia.verifyConsistencyProof(kase.proof, roots[proof.old_size], roots[proof.new_size])
  }
  for (const kase of doc.invalid_inclusion) {
    throwsCode(() => evidentia.verifyInclusionProof(kase.proof, leaves[5], roots[13]), kase.error, kase.name)
  }
})

test('checkpoints', () => {
  const doc = load('checkpoints.json')
  for (const kase of doc.verify) {
    if (kase.valid) {
      const checkpoint = evidentia.verifyCheckpoint(kase.note, doc.jwks)
      assert.equal(checkpoint.size, kase.size, kase.name)
      assert.equal(checkpoint.origin, doc.origin, kase.name)
      assert.equal(checkpoint.root.length, 32, kase.name)
    } else {
      throwsCode(() => evidentia.verifyCheckpoint(kase.note, doc.jwks), kase.error, kase.name)
    }
  }
})

test('batch receipts issued by a log', { skip: NO_LOG }, () => {
  const doc = load('batch_receipts.json')
  const options = { logId: doc.log_id, mode: 'batch', validFrom: doc.time, recordVersion: 1 }
  const log = evidentia.Log.create(path.join(tempDir(), 'log'), key(doc.key), options)
  try {
    log.appendBatch(doc.issue.map((entry) => entry.canonical_event), { time: doc.time })
    doc.issue.forEach((entry, index) => assert.equal(log.receipt(index), entry.batch_receipt))
    assert.equal(log.checkpoint(), doc.checkpoint)
    assert.ok(log.verify().valid)
  } finally {
    log.close()
  }
})

test('batch receipts verified', () => {
  for (const kase of load('batch_receipts.json').verify) {
    expectReport(kase, () => evidentia.verifyReceipt(kase.batch_receipt, kase.jwks, kase.event))
  }
})

test('errors', () => {
  const table = new Map(evidentia.errorCodes().map((c) => [c.code, [c.name, c.family]]))
  for (const entry of load('errors.json').codes) {
    assert.deepEqual(table.get(entry.code), [entry.name, entry.family])
  }
  const explanation = evidentia.errorCodes().find((c) => c.name === 'EVENT_MISMATCH').explanation
  assert.match(explanation, /not the one that was signed/)
})

test('external JCS documents', () => {
  for (const name of ['arrays', 'french', 'structures', 'unicode', 'values', 'weird']) {
    const source = fs.readFileSync(path.join(VECTORS, 'external/jcs/input', `${name}.json`))
    const expected = fs.readFileSync(path.join(VECTORS, 'external/jcs/output', `${name}.json`))
    assert.deepEqual(buf(evidentia.canonicalize(source)), expected, name)
  }
})

test('external Wycheproof ES256 JWS', () => {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, 'external/wycheproof/json_web_signature_test.json')))
  let checked = 0
  for (const group of doc.testGroups) {
    if (!['es256', 'SpecialCaseEs256', 'ec_key_for_encryption'].includes(group.comment)) continue
    for (const t of group.tests) {
      let accepted
      try {
        evidentia.verifyJws(t.jws, JSON.stringify(group.public))
        accepted = true
      } catch (error) {
        assert.equal(typeof error.code, 'string', `tcId ${t.tcId}`)
        accepted = false
      }
      assert.equal(accepted, t.result === 'valid', `tcId ${t.tcId}`)
      checked += 1
    }
  }
  assert.equal(checked, 41)
})

test('partners\' signatures and JWS (partner.json)', () => {
  const doc = load('partner.json')
  const outcome = (call) => {
    try {
      call()
      return null
    } catch (error) {
      assert.ok(error instanceof Error)
      return error.code
    }
  }
  let signatures = 0
  for (const kase of doc.signatures) {
    const jwk = doc.keys[kase.key]
    // Keys arrive as objects and as text, alike.
    const jwkGiven = signatures % 2 === 0 ? jwk : JSON.stringify(jwk)
    const got = outcome(() => evidentia.verifyPartnerSignature(kase.alg, jwkGiven, hex(kase.message), hex(kase.signature)))
    assert.equal(got, kase.code, kase.source)
    signatures += 1
  }
  let jws = 0
  for (const kase of doc.jws) {
    const payload = kase.payload === undefined ? undefined : Buffer.from(kase.payload, 'base64url')
    const keys = jws % 2 === 0 ? kase.keys : JSON.stringify(kase.keys)
    let verified
    const got = outcome(() => {
      verified = evidentia.verifyPartnerJws(kase.jws, keys, payload)
    })
    assert.equal(got, kase.code, kase.source)
    if (kase.code === null) {
      assert.equal(verified.alg, verified.header.alg, kase.source)
      assert.equal(typeof verified.keyThumbprint, 'string', kase.source)
      assert.ok(verified.payload instanceof Uint8Array, kase.source)
      assert.equal(verified.kid ?? undefined, verified.header.kid, kase.source)
    }
    jws += 1
  }
  assert.equal(signatures, doc.signatures.length)
  assert.equal(jws, doc.jws.length)
  assert.equal(signatures, 1519)
  assert.equal(jws, 33)
})

test('RFC 3161 time-stamp responses and requests (timestamps.json)', () => {
  const doc = load('timestamps.json')
  for (const kase of doc.cases) {
    const options = {}
    if (kase.intermediates !== null) options.intermediates = kase.intermediates
    if (kase.request_hex !== null) options.request = hex(kase.request_hex)
    let code = null
    let result = null
    try {
      // The roots as PEM text and as bytes, alike.
      result = evidentia.verifyTimestamp(hex(kase.response_hex), hex(kase.data_hex), kase.roots, options)
      const again = evidentia.verifyTimestamp(hex(kase.response_hex), hex(kase.data_hex), Buffer.from(kase.roots), options)
      assert.deepEqual(again, result, kase.name)
    } catch (error) {
      assert.ok(error instanceof Error, kase.name)
      code = error.code
    }
    assert.equal(code, kase.code, kase.name)
    if (code === null) assert.deepEqual({ ...result }, kase.result, kase.name)
  }
  for (const kase of doc.requests) {
    const data = hex(kase.data_hex)
    if (kase.code !== null) {
      throwsCode(() => evidentia.timestampRequest(data, kase.hash), kase.code, kase.hash)
      continue
    }
    const [first, second] = [evidentia.timestampRequest(data, kase.hash), evidentia.timestampRequest(data, kase.hash)]
    assert.equal(first[0], 0x30, kase.hash)
    assert.ok(buf(first).includes(hex(kase.imprint_hex)), kase.hash)
    assert.notDeepEqual(buf(first), buf(second), 'each request has its own nonce')
  }
  assert.deepEqual(buf(evidentia.timestampRequest('hello')).subarray(0, 1), Buffer.from([0x30]))
  throwsCode(() => evidentia.verifyTimestamp(Buffer.from([0x30, 0x00]), 'hello', doc.cases[0].roots), 'TIMESTAMP_MALFORMED')
  throwsCode(() => evidentia.verifyTimestamp(hex(doc.cases[0].response_hex), 'hello', 'no certificate'), 'TIMESTAMP_MALFORMED')
  console.log(`timestamps.json: ${doc.cases.length} responses, ${doc.requests.length} requests`)
})

test('salted commitments, disclosures and keyed hashes (commitments.json)', () => {
  const doc = load('commitments.json')
  for (const kase of doc.commitments) {
    const made = evidentia.commitEvent(kase.event, hex(kase.salt_hex))
    assert.deepEqual({ ...made }, { commitment: kase.commitment, disclosures: kase.disclosures, event_digest: kase.event_digest }, kase.name)
    // The event as a JavaScript value commits to the same bytes as its text (a
    // string at the top is JSON text, so only objects are given as values).
    const value = JSON.parse(kase.event)
    if (typeof value === 'object') assert.deepEqual(evidentia.commitEvent(value, hex(kase.salt_hex)), made, kase.name)
    throwsCode(() => evidentia.commitEvent(kase.event, hex(kase.salt_hex).subarray(0, 15)), 'INVALID_ARGUMENT')
  }
  for (const kase of doc.checks) {
    if (kase.error) {
      throwsCode(() => evidentia.checkDisclosures(kase.event_digest, kase.commitment, kase.disclosures), kase.error, kase.name)
      continue
    }
    const shown = evidentia.checkDisclosures(kase.event_digest, Buffer.from(kase.commitment), kase.disclosures)
    assert.deepEqual([shown.disclosed, shown.undisclosed], [kase.disclosed, kase.undisclosed], kase.name)
  }
  for (const kase of doc.keyed_hashes) {
    const [key, data] = [hex(kase.key_hex), hex(kase.data_hex)]
    if (kase.error) {
      throwsCode(() => evidentia.keyedHash(key, data), kase.error, kase.name)
      continue
    }
    assert.equal(evidentia.keyedHash(key, data), kase.keyed_hash, kase.name)
    assert.equal(evidentia.keyedHash(key, data.toString()), kase.keyed_hash, kase.name)
  }
  // Member names are data, whatever they are: `__proto__` is an own member (never
  // the object's prototype), and a name with NUL is kept whole.
  for (const text of ['{"__proto__":{"admin":true},"amount":5}', '{"a":{"__proto__":[1,2]}}', '{"a\\u0000b":1}']) {
    const made = evidentia.commitEvent(text, hex('30313233343536373839616263646566'))
    const shown = evidentia.checkDisclosures(made.event_digest, made.commitment, [made.disclosures[0].disclosure])
    const name = made.disclosures[0].name
    // A computed key, like JSON.parse, makes an own member even of `__proto__`.
    assert.equal(JSON.stringify(shown.disclosed), JSON.stringify({ [name]: JSON.parse(text)[name] }), text)
    assert.equal(Object.getPrototypeOf(shown.disclosed), Object.prototype, text)
    assert.equal(shown.disclosed.admin, undefined, text)
  }
  const first = doc.checks[0]
  throwsCode(() => evidentia.checkDisclosures(first.event_digest, first.commitment, first.disclosures[0]), 'INVALID_ARGUMENT')
  throwsCode(() => evidentia.checkDisclosures(first.event_digest, first.commitment, [1]), 'INVALID_ARGUMENT')
  console.log(`commitments.json: ${doc.commitments.length} commitments, ${doc.checks.length} checks, ${doc.keyed_hashes.length} keyed hashes`)
})

test('witness cosignatures and policies, tlog-proofs (witness.json)', () => {
  const doc = load('witness.json')
  const outcome = (call) => {
    try {
      return [null, call()]
    } catch (error) {
      assert.ok(error instanceof Error)
      return [error.code, null]
    }
  }
  const same = (result, expected, name) => {
    assert.equal(result.origin, expected.origin, name)
    assert.equal(result.size, expected.size, name)
    assert.deepEqual(buf(result.root), Buffer.from(expected.root, 'base64'), name)
    assert.deepEqual(result.signedBy, expected.signed_by, name)
    assert.deepEqual(
      result.cosigned.map((c) => ({ witness: c.witness, keyName: c.keyName, timestamp: c.timestamp })),
      expected.cosigned.map((c) => ({ witness: c.witness, keyName: c.key_name, timestamp: c.timestamp })),
      name,
    )
    assert.equal(result.quorumMet, true, name)
  }
  let policies = 0
  for (const kase of doc.policies) {
    const [code, result] = outcome(() => evidentia.checkPolicy(kase.note, kase.policy))
    assert.equal(code, kase.code, kase.name)
    if (code === null) same(result, kase.result, kase.name)
    policies += 1
  }
  let proofs = 0
  for (const kase of doc.proofs) {
    // The entry as bytes and as a string, alike.
    const entry = proofs % 2 === 0 ? Buffer.from(kase.entry, 'utf8') : kase.entry
    const [code, result] = outcome(() => evidentia.verifyTlogProof(kase.proof, entry, kase.policy))
    assert.equal(code, kase.code, kase.name)
    if (code === null) same(result, kase.result, kase.name)
    proofs += 1
  }
  assert.ok(policies >= 9 && proofs >= 6)
  // The issue's cases by name: 2 of 3 satisfied, 1 of 3 refused, a malformed policy.
  const named = Object.fromEntries(doc.policies.map((k) => [k.name, k]))
  const two = named['2 of 3 witnesses cosigned: the quorum is met']
  assert.deepEqual(evidentia.checkPolicy(two.note, two.policy).cosigned.map((c) => c.witness), ['w1', 'w3'])
  const one = named['1 of 3 witnesses cosigned: refused']
  throwsCode(() => evidentia.checkPolicy(one.note, one.policy), 'POLICY_NOT_SATISFIED')
  const bad = named['a group of 3 needing 4: a malformed policy']
  throwsCode(() => evidentia.checkPolicy(bad.note, bad.policy), 'POLICY_MALFORMED')
  console.log(`witness.json: ${policies} policy cases, ${proofs} proof cases`)
})
