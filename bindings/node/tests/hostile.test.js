// The hostile-input corpus (testvectors/hostile.json) through every function of the
// package that takes outside data: each call returns a value or throws an Error
// whose `code` is a name of the error table other than INTERNAL; nothing else is
// thrown, nothing crashes or hangs.
//
// The same file runs against the WebAssembly build (EVIDENTIA_JS_PACKAGE names its
// Node.js module), which has every function used here.
//
// Text arguments are strings: bytes that are not UTF-8 arrive as lone surrogates,
// one per byte (as Python's surrogateescape makes them), and again as JavaScript's
// own decoding makes them (U+FFFD for each bad sequence).
//
// Note verifier keys (vkey) go into tlog-policies (checkPolicy), checkpoints also to
// checkPolicy and inside a tlog-proof. RFC 3161 responses, requests and certificates
// go to verifyTimestamp (as the response, the request, the roots, the intermediates
// and the pinned TSA certificate). Kinds with no JavaScript entry point are skipped:
// timestamp_token (a bare token is checked inside packages, by the CLI) and package
// (sets of package files, run through the core by the CLI; the package
// functions here run over the conformance packages). Evidence files go to
// verifyEvidenceFile as bytes and as strings, with the key set each holds and with
// trusted keys (and to the verifier page, run by the WASM tests in a browser).
//
// Last, every text argument and text option of every function, one at a time, given
// a lone surrogate (which UTF-8 cannot carry, and a lax conversion would silently
// turn into U+FFFD) and given a value that is not a string.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require(process.env.EVIDENTIA_JS_PACKAGE || '..')

const VECTORS = process.env.EVIDENTIA_VECTORS || path.resolve(__dirname, '../../../testvectors')
const CORPUS = JSON.parse(fs.readFileSync(path.join(VECTORS, 'hostile.json'), 'utf8'))
const CONTEXT = CORPUS.context
const CODES = new Set(evidentia.errorCodes().map((c) => c.name).filter((n) => n !== 'INTERNAL'))
const SKIPPED = new Set(['timestamp_token', 'package'])
const TIME_LIMIT_MS = 5000

const raw = (text) => (text === null || text === undefined ? undefined : Buffer.from(text, 'base64'))

/** Bytes as a string, each byte of a sequence that is not UTF-8 a lone surrogate. */
function escaped(bytes) {
  if (bytes === undefined) return undefined
  const units = []
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]
    // The length of the sequence a lead byte starts, and the smallest code point it may hold.
    const [n, min] = b < 0x80 ? [1, 0] : b >= 0xc2 && b < 0xe0 ? [2, 0x80] : b >= 0xe0 && b < 0xf0 ? [3, 0x800]
      : b >= 0xf0 && b < 0xf5 ? [4, 0x10000] : [0, 0]
    let cp = n === 1 ? b : n === 2 ? b & 0x1f : n === 3 ? b & 0x0f : b & 0x07
    let ok = n > 0 && i + n <= bytes.length
    for (let k = 1; ok && k < n; k++) {
      ok = (bytes[i + k] & 0xc0) === 0x80
      cp = (cp << 6) | (bytes[i + k] & 0x3f)
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)
    if (ok) {
      if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff))
      else units.push(cp)
      i += n
    } else {
      units.push(0xdc00 + b)
      i += 1
    }
  }
  let out = ''
  for (let k = 0; k < units.length; k += 8192) out += String.fromCharCode(...units.slice(k, k + 8192))
  return out
}

/** The string forms of bytes: escaped, and JavaScript's own decoding when it differs. */
function texts(bytes) {
  const strict = escaped(bytes)
  const lossy = bytes.toString('utf8')
  return strict === lossy ? [strict] : [strict, lossy]
}

const JWKS = CONTEXT.jwks
const KEY = evidentia.SigningKey.fromJwk(CONTEXT.private_jwk)
const EVENT = raw(CONTEXT.event)
const LEAF = raw(CONTEXT.leaf)
// A partner's JWS that verifies (RFC 7515 A.3, ES256), for the partner functions.
const PARTNER = JSON.parse(fs.readFileSync(path.join(VECTORS, 'partner.json'), 'utf8')).jws.find((k) => k.source === 'RFC 7515 A.3')
const PARTNER_KEYS = JSON.stringify(PARTNER.keys)
const PARTNER_JWK = JSON.stringify(PARTNER.keys.keys[0])
const PARTNER_INPUT = Buffer.from(PARTNER.jws.split('.').slice(0, 2).join('.'))
const PARTNER_SIGNATURE = Buffer.from(PARTNER.jws.split('.')[2], 'base64url')
const ROOT = raw(CONTEXT.root)
const OLD_ROOT = raw(CONTEXT.old_root)
const TSA_DATA = raw(CONTEXT.timestamp_data)
const TSA_RESPONSE = raw(CONTEXT.timestamp_response)
const TSA_ROOTS = raw(CONTEXT.timestamp_roots[0])
const TSA_INTERMEDIATES = raw(CONTEXT.timestamp_intermediates[0])
// A response that verifies for the text "hello" (timestamps.json), for the text arguments.
const STAMP = (() => {
  const kase = JSON.parse(fs.readFileSync(path.join(VECTORS, 'timestamps.json'), 'utf8')).cases
    .find((c) => c.name === 'sigstore staging, SHA-256')
  const end = '-----END CERTIFICATE-----\n'
  return {
    response: Buffer.from(kase.response_hex, 'hex'),
    roots: kase.roots,
    options: { intermediates: kase.intermediates },
    tsa: kase.intermediates.slice(0, kase.intermediates.indexOf(end) + end.length),
  }
})()

class Runner {
  constructor() {
    this.failures = []
    this.calls = 0
    this.entryPoints = new Set()
  }

  check(kase, entry, error) {
    if (!(error instanceof Error) || !CODES.has(error.code)) {
      this.failures.push(`${kase}: ${entry} threw ${error && error.code} ${error && error.message}`)
    }
  }

  result(kase, entry, value) {
    if (value && typeof value === 'object' && Array.isArray(value.failureCodes)) {
      for (const code of value.failureCodes) {
        if (!CODES.has(code)) this.failures.push(`${kase}: ${entry} reported ${code}`)
      }
      value.toJson()
      value.toText()
    }
  }

  call(kase, entry, f) {
    this.calls++
    this.entryPoints.add(entry)
    const started = Date.now()
    try {
      this.result(kase, entry, f())
    } catch (error) {
      this.check(kase, entry, error)
    }
    const elapsed = Date.now() - started
    if (elapsed > TIME_LIMIT_MS) this.failures.push(`${kase}: ${entry} took ${elapsed} ms`)
  }

  async callAsync(kase, entry, f) {
    this.calls++
    this.entryPoints.add(entry)
    try {
      this.result(kase, entry, await f())
    } catch (error) {
      this.check(kase, entry, error)
    }
  }
}

function receiptLike(run, name, data, event) {
  for (const receipt of texts(data)) {
    run.call(name, 'verifyReceipt', () => evidentia.verifyReceipt(receipt, JWKS, event))
    if (event !== undefined) {
      for (const eventText of texts(event)) {
        run.call(name, 'verifyReceipt (event as a string)', () => evidentia.verifyReceipt(receipt, JWKS, eventText))
      }
    }
    run.call(name, 'verifyInclusion', () =>
      evidentia.verifyInclusion(receipt, CONTEXT.inclusion_proof, CONTEXT.checkpoint, JWKS))
    run.call(name, 'ReceiptChain.resume', () => evidentia.ReceiptChain.resume(receipt))
    const entry = { entry: receipt, event: event === undefined ? undefined : escaped(event) }
    run.call(name, 'verifyLogEntries', () => evidentia.verifyLogEntries([entry], JWKS))
  }
}

function evidenceFile(run, name, data) {
  run.call(name, 'verifyEvidenceFile (bytes)', () => evidentia.verifyEvidenceFile(data))
  for (const text of texts(data)) {
    run.call(name, 'verifyEvidenceFile (string)', () => evidentia.verifyEvidenceFile(text))
  }
  run.call(name, 'verifyEvidenceFile (trusted keys)', () => evidentia.verifyEvidenceFile(data, JWKS))
}

function checkpointNote(run, name, data) {
  for (const note of texts(data)) {
    run.call(name, 'verifyCheckpoint', () => evidentia.verifyCheckpoint(note, JWKS))
    run.call(name, 'verifyInclusion (the checkpoint)', () =>
      evidentia.verifyInclusion(CONTEXT.receipt, CONTEXT.inclusion_proof, note, JWKS))
    run.call(name, 'verifyConsistency (the new checkpoint)', () =>
      evidentia.verifyConsistency(CONTEXT.consistency_proof, CONTEXT.old_checkpoint, note, JWKS))
    run.call(name, 'verifyConsistency (the old checkpoint)', () =>
      evidentia.verifyConsistency(CONTEXT.consistency_proof, note, CONTEXT.checkpoint, JWKS))
    run.call(name, 'verifyLogEntries (the checkpoint)', () =>
      evidentia.verifyLogEntries([], JWKS, [{ size: 0, note }]))
    run.call(name, 'checkPolicy (the note)', () => evidentia.checkPolicy(note, 'quorum none\n'))
    const proof = `c2sp.org/tlog-proof@v1\nindex 0\n\n${note}`
    run.call(name, 'verifyTlogProof (the note)', () => evidentia.verifyTlogProof(proof, '', 'quorum none\n'))
  }
}

async function runCase(run, kase) {
  const kind = kase.kind
  const name = `${kind}: ${kase.name}`
  const data = raw(kase.input)
  const second = raw(kase.input2)
  switch (kind) {
    case 'json':
      run.call(name, 'canonicalize (bytes)', () => evidentia.canonicalize(data))
      for (const text of texts(data)) run.call(name, 'canonicalize (string)', () => evidentia.canonicalize(text))
      run.call(name, 'digest', () => evidentia.digest(data))
      run.call(name, 'readSignedMessage (bytes)', () => evidentia.readSignedMessage(data))
      for (const text of texts(data)) run.call(name, 'readSignedMessage (string)', () => evidentia.readSignedMessage(text))
      break
    case 'jws':
      for (const jws of texts(data)) {
        run.call(name, 'verifyJws', () => evidentia.verifyJws(jws, JWKS, second))
        run.call(name, 'verifyPartnerJws', () => evidentia.verifyPartnerJws(jws, PARTNER_KEYS, second))
      }
      break
    case 'jwks':
      for (const jwks of texts(data)) {
        run.call(name, 'verifyReceipt (the key set)', () => evidentia.verifyReceipt(CONTEXT.receipt, jwks, EVENT))
        run.call(name, 'verifyJws (the key set)', () => evidentia.verifyJws(CONTEXT.jws, jwks))
        run.call(name, 'verifyCheckpoint (the key set)', () => evidentia.verifyCheckpoint(CONTEXT.checkpoint, jwks))
        run.call(name, 'verifyPartnerJws (the key set)', () => evidentia.verifyPartnerJws(PARTNER.jws, jwks))
      }
      break
    case 'jwk':
      for (const jwk of texts(data)) {
        run.call(name, 'jwkThumbprint', () => evidentia.jwkThumbprint(jwk))
        run.call(name, 'SigningKey.fromJwk', () => evidentia.SigningKey.fromJwk(jwk))
        run.call(name, 'verifyJws (the key set)', () => evidentia.verifyJws(CONTEXT.jws, jwk))
        run.call(name, 'verifyPartnerJws (the key)', () => evidentia.verifyPartnerJws(PARTNER.jws, jwk))
        for (const alg of ['ES256', 'RS256', 'PS384', 'EdDSA']) {
          run.call(name, `verifyPartnerSignature (${alg})`, () =>
            evidentia.verifyPartnerSignature(alg, jwk, PARTNER_INPUT, PARTNER_SIGNATURE))
        }
      }
      break
    case 'pem':
      for (const pem of texts(data)) run.call(name, 'SigningKey.fromPem', () => evidentia.SigningKey.fromPem(pem))
      break
    case 'receipt':
    case 'batch_receipt':
      receiptLike(run, name, data, second)
      break
    case 'evidence':
      evidenceFile(run, name, data)
      break
    case 'inclusion_proof':
    case 'inclusion': {
      const note = second === undefined ? CONTEXT.checkpoint : escaped(second)
      for (const proof of texts(data)) {
        run.call(name, 'verifyInclusionProof', () => evidentia.verifyInclusionProof(proof, LEAF, ROOT))
        run.call(name, 'verifyInclusion', () => evidentia.verifyInclusion(CONTEXT.receipt, proof, note, JWKS))
      }
      break
    }
    case 'consistency_proof':
    case 'consistency': {
      const note = second === undefined ? CONTEXT.checkpoint : escaped(second)
      for (const proof of texts(data)) {
        run.call(name, 'verifyConsistencyProof', () => evidentia.verifyConsistencyProof(proof, OLD_ROOT, ROOT))
        run.call(name, 'verifyConsistency', () =>
          evidentia.verifyConsistency(proof, CONTEXT.old_checkpoint, note, JWKS))
      }
      break
    }
    case 'checkpoint':
      checkpointNote(run, name, data)
      break
    case 'log_entries': {
      const entries = kase.entries.map((e) => {
        const entry = { entry: escaped(raw(e.entry)) }
        if (e.event !== null) entry.event = escaped(raw(e.event))
        return entry
      })
      const checkpoints = kase.checkpoints.map((c) => ({ size: c.size, note: escaped(raw(c.note)) }))
      run.call(name, 'verifyLogEntries', () => evidentia.verifyLogEntries(entries, JWKS, checkpoints))
      await run.callAsync(name, 'verifyLogEntriesAsync', () =>
        evidentia.verifyLogEntriesAsync(entries, JWKS, checkpoints))
      break
    }
    case 'log_id':
      for (const id of texts(data)) run.call(name, 'new ReceiptChain', () => new evidentia.ReceiptChain(id))
      break
    case 'time':
      for (const time of texts(data)) {
        const chain = new evidentia.ReceiptChain('hostile.example/log')
        run.call(name, 'ReceiptChain.issue (time)', () => chain.issue(KEY, '{}', { time }))
      }
      break
    case 'nonce':
      for (const nonce of texts(data)) {
        const chain = new evidentia.ReceiptChain('hostile.example/log')
        run.call(name, 'ReceiptChain.issue (nonce)', () =>
          chain.issue(KEY, '{}', { nonce, time: '2026-01-01T00:00:00Z' }))
      }
      break
    case 'vkey':
      for (const vkey of texts(data)) {
        run.call(name, 'checkPolicy (a log key)', () =>
          evidentia.checkPolicy(CONTEXT.checkpoint, `log ${vkey}\nquorum none\n`))
        run.call(name, 'checkPolicy (a witness key)', () =>
          evidentia.checkPolicy(CONTEXT.checkpoint, `witness w ${vkey}\nquorum w\n`))
      }
      break
    case 'timestamp_response':
      run.call(name, 'verifyTimestamp (the response)', () => evidentia.verifyTimestamp(data, TSA_DATA, TSA_ROOTS))
      break
    case 'timestamp_request':
      run.call(name, 'verifyTimestamp (the request)', () =>
        evidentia.verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOTS, { request: data }))
      run.call(name, 'timestampRequest (the data)', () => evidentia.timestampRequest(data))
      break
    case 'certificate':
      run.call(name, 'verifyTimestamp (the roots)', () => evidentia.verifyTimestamp(TSA_RESPONSE, TSA_DATA, data))
      run.call(name, 'verifyTimestamp (the intermediates)', () =>
        evidentia.verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOTS, { intermediates: data }))
      run.call(name, 'verifyTimestamp (the TSA certificate)', () =>
        evidentia.verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOTS, { intermediates: TSA_INTERMEDIATES, tsaCertificate: data }))
      break
    default:
      assert.ok(SKIPPED.has(kind), `unknown kind ${kind}`)
  }
}

test('the corpus is whole', () => {
  assert.equal(CORPUS.cases.length, CORPUS.total)
  assert.ok(CORPUS.total >= 3000)
})

for (const kind of Object.keys(CORPUS.counts).sort()) {
  const skip = SKIPPED.has(kind) && `${kind}: no JavaScript entry point`
  test(`no hostile ${kind} throws anything but an Error with a code of the table`, { skip }, async () => {
    const run = new Runner()
    const cases = CORPUS.cases.filter((c) => c.kind === kind)
    assert.equal(cases.length, CORPUS.counts[kind])
    for (const kase of cases) await runCase(run, kase)
    assert.ok(run.calls >= cases.length)
    assert.deepEqual(run.failures.slice(0, 50), [], `${run.failures.length} failures`)
  })
}

// Every text argument, one at a time: the call with `base` there must not throw, so
// that what the other arguments hold is not what is refused; the same text with a
// lone surrogate at its end ('\uD800') or before its last character ('\uDC00', so a
// path stays in its temporary folder should a build let it through) must throw
// JSON_LONE_SURROGATE (the WASM build's code too), never succeed with U+FFFD in its
// place; and a number there must throw INVALID_ARGUMENT. Arguments that take JSON
// values as well as JSON text (`json`) take a number, so only the surrogates apply.
// A function that returns a Promise rejects, and never throws.

const EVENT_TEXT = EVENT.toString('utf8')
const PUBLIC_JWK = JSON.stringify(JSON.parse(JWKS).keys[0])
const ENTRY = { entry: CONTEXT.receipt, event: EVENT_TEXT }
const CHECKPOINT = { size: 4, note: CONTEXT.checkpoint }
const TIME = '2026-01-01T00:00:00Z'
const EVIDENCE = JSON.stringify({ receipt: CONTEXT.receipt, jwks: JSON.parse(JWKS), event: JSON.parse(EVENT_TEXT) })

/** The text arguments of the functions the Node package and the WASM build share. */
const TEXT_ARGUMENTS = [
  ['SigningKey.fromJwk: jwk', CONTEXT.private_jwk, (t) => evidentia.SigningKey.fromJwk(t)],
  ['SigningKey.fromPem: pem', KEY.toPem(), (t) => evidentia.SigningKey.fromPem(t)],
  ['jwkThumbprint: jwk', PUBLIC_JWK, (t) => evidentia.jwkThumbprint(t)],
  ['canonicalize: value', EVENT_TEXT, (t) => evidentia.canonicalize(t), { json: true }],
  ['digest: value', EVENT_TEXT, (t) => evidentia.digest(t), { json: true }],
  ['verifyJws: jws', CONTEXT.jws, (t) => evidentia.verifyJws(t, JWKS)],
  ['verifyJws: jwks', JWKS, (t) => evidentia.verifyJws(CONTEXT.jws, t)],
  ['verifyReceipt: receipt', CONTEXT.receipt, (t) => evidentia.verifyReceipt(t, JWKS, EVENT)],
  ['verifyReceipt: jwks', JWKS, (t) => evidentia.verifyReceipt(CONTEXT.receipt, t, EVENT)],
  ['verifyReceipt: event', EVENT_TEXT, (t) => evidentia.verifyReceipt(CONTEXT.receipt, JWKS, t), { json: true }],
  ['verifyEvidenceFile: evidence', EVIDENCE, (t) => evidentia.verifyEvidenceFile(t)],
  ['verifyEvidenceFile: jwks', JWKS, (t) => evidentia.verifyEvidenceFile(EVIDENCE, t)],
  ['verifyLogEntries: entry', ENTRY.entry, (t) => evidentia.verifyLogEntries([{ ...ENTRY, entry: t }], JWKS, [CHECKPOINT])],
  ['verifyLogEntries: event', ENTRY.event, (t) => evidentia.verifyLogEntries([{ ...ENTRY, event: t }], JWKS, [CHECKPOINT])],
  ['verifyLogEntries: jwks', JWKS, (t) => evidentia.verifyLogEntries([ENTRY], t, [CHECKPOINT])],
  ['verifyLogEntries: note', CHECKPOINT.note, (t) => evidentia.verifyLogEntries([ENTRY], JWKS, [{ ...CHECKPOINT, note: t }])],
  ['verifyLogEntriesAsync: entry', ENTRY.entry,
    (t) => evidentia.verifyLogEntriesAsync([{ ...ENTRY, entry: t }], JWKS, [CHECKPOINT]), { async: true }],
  ['verifyLogEntriesAsync: event', ENTRY.event,
    (t) => evidentia.verifyLogEntriesAsync([{ ...ENTRY, event: t }], JWKS, [CHECKPOINT]), { async: true }],
  ['verifyLogEntriesAsync: jwks', JWKS, (t) => evidentia.verifyLogEntriesAsync([ENTRY], t, [CHECKPOINT]), { async: true }],
  ['verifyLogEntriesAsync: note', CHECKPOINT.note,
    (t) => evidentia.verifyLogEntriesAsync([ENTRY], JWKS, [{ ...CHECKPOINT, note: t }]), { async: true }],
  ['verifyCheckpoint: note', CONTEXT.checkpoint, (t) => evidentia.verifyCheckpoint(t, JWKS)],
  ['verifyCheckpoint: jwks', JWKS, (t) => evidentia.verifyCheckpoint(CONTEXT.checkpoint, t)],
  ['verifyInclusion: receipt', CONTEXT.receipt,
    (t) => evidentia.verifyInclusion(t, CONTEXT.inclusion_proof, CONTEXT.checkpoint, JWKS)],
  ['verifyInclusion: proof', CONTEXT.inclusion_proof,
    (t) => evidentia.verifyInclusion(CONTEXT.receipt, t, CONTEXT.checkpoint, JWKS)],
  ['verifyInclusion: checkpoint', CONTEXT.checkpoint,
    (t) => evidentia.verifyInclusion(CONTEXT.receipt, CONTEXT.inclusion_proof, t, JWKS)],
  ['verifyInclusion: jwks', JWKS,
    (t) => evidentia.verifyInclusion(CONTEXT.receipt, CONTEXT.inclusion_proof, CONTEXT.checkpoint, t)],
  ['verifyConsistency: proof', CONTEXT.consistency_proof,
    (t) => evidentia.verifyConsistency(t, CONTEXT.old_checkpoint, CONTEXT.checkpoint, JWKS)],
  ['verifyConsistency: oldCheckpoint', CONTEXT.old_checkpoint,
    (t) => evidentia.verifyConsistency(CONTEXT.consistency_proof, t, CONTEXT.checkpoint, JWKS)],
  ['verifyConsistency: newCheckpoint', CONTEXT.checkpoint,
    (t) => evidentia.verifyConsistency(CONTEXT.consistency_proof, CONTEXT.old_checkpoint, t, JWKS)],
  ['verifyConsistency: jwks', JWKS,
    (t) => evidentia.verifyConsistency(CONTEXT.consistency_proof, CONTEXT.old_checkpoint, CONTEXT.checkpoint, t)],
  ['verifyInclusionProof: proof', CONTEXT.inclusion_proof, (t) => evidentia.verifyInclusionProof(t, LEAF, ROOT)],
  ['verifyConsistencyProof: proof', CONTEXT.consistency_proof, (t) => evidentia.verifyConsistencyProof(t, OLD_ROOT, ROOT)],
  ['verifyPartnerJws: jws', PARTNER.jws, (t) => evidentia.verifyPartnerJws(t, PARTNER_KEYS)],
  ['verifyPartnerJws: keys', PARTNER_KEYS, (t) => evidentia.verifyPartnerJws(PARTNER.jws, t), { json: true }],
  ['verifyPartnerSignature: alg', 'ES256', (t) => evidentia.verifyPartnerSignature(t, PARTNER_JWK, PARTNER_INPUT, PARTNER_SIGNATURE)],
  ['verifyPartnerSignature: jwk', PARTNER_JWK,
    (t) => evidentia.verifyPartnerSignature('ES256', t, PARTNER_INPUT, PARTNER_SIGNATURE), { json: true }],
  ['readSignedMessage: event', EVENT_TEXT, (t) => evidentia.readSignedMessage(t), { json: true }],
  ['new ReceiptChain: logId', 'example.com/chain', (t) => new evidentia.ReceiptChain(t)],
  ['ReceiptChain.resume: receipt', CONTEXT.receipt, (t) => evidentia.ReceiptChain.resume(t)],
  ['ReceiptChain.issue: event', EVENT_TEXT,
    (t) => new evidentia.ReceiptChain('example.com/chain').issue(KEY, t, { time: TIME }), { json: true }],
  ['ReceiptChain.issue: options.nonce', 'n-1',
    (t) => new evidentia.ReceiptChain('example.com/chain').issue(KEY, EVENT, { nonce: t, time: TIME })],
  ['ReceiptChain.issue: options.time', TIME, (t) => new evidentia.ReceiptChain('example.com/chain').issue(KEY, EVENT, { time: t })],
  ['timestampRequest: data', 'a checkpoint note', (t) => evidentia.timestampRequest(t)],
  ['timestampRequest: hash', 'sha256', (t) => evidentia.timestampRequest('data', t)],
  ['verifyTimestamp: data', 'hello', (t) => evidentia.verifyTimestamp(STAMP.response, t, STAMP.roots, STAMP.options)],
  ['verifyTimestamp: roots', STAMP.roots, (t) => evidentia.verifyTimestamp(STAMP.response, 'hello', t, STAMP.options)],
  ['verifyTimestamp: options.intermediates', STAMP.options.intermediates,
    (t) => evidentia.verifyTimestamp(STAMP.response, 'hello', STAMP.roots, { intermediates: t })],
  ['verifyTimestamp: options.tsaCertificate', STAMP.tsa,
    (t) => evidentia.verifyTimestamp(STAMP.response, 'hello', STAMP.roots, { ...STAMP.options, tsaCertificate: t })],
]

/** The text arguments of `Log` and the functions that read logs on disk (the Node package only). */
function logTextArguments() {
  const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-surrogate-'))
  const VALID_FROM = '2020-01-01T00:00:00Z'
  /** Runs `f` on a new log, closing it after (after the Promise `f` returns settles). */
  const onLog = (f) => {
    const log = evidentia.Log.create(path.join(tempDir(), 'log'), KEY, { validFrom: VALID_FROM })
    let result
    try {
      result = f(log)
    } catch (error) {
      log.close()
      throw error
    }
    if (result instanceof Promise) return result.finally(() => log.close())
    log.close()
    return result
  }
  const closed = path.join(tempDir(), 'log')
  const log = evidentia.Log.create(closed, KEY)
  log.append(EVENT)
  const logKeys = log.keys()
  log.close()
  return [
    ['Log.create: path', path.join(tempDir(), 'log'), (t) => evidentia.Log.create(t, KEY).close()],
    ['Log.create: options.logId', 'example.com/log',
      (t) => evidentia.Log.create(path.join(tempDir(), 'log'), KEY, { logId: t }).close()],
    ['Log.create: options.mode', 'batch', (t) => evidentia.Log.create(path.join(tempDir(), 'log'), KEY, { mode: t }).close()],
    ['Log.create: options.validFrom', VALID_FROM,
      (t) => evidentia.Log.create(path.join(tempDir(), 'log'), KEY, { validFrom: t }).close()],
    ['Log.open: path', closed, (t) => evidentia.Log.open(t).close()],
    ['Log.append: event', EVENT_TEXT, (t) => onLog((l) => l.append(t)), { json: true }],
    ['Log.append: options.nonce', 'n-1', (t) => onLog((l) => l.append(EVENT, { nonce: t }))],
    ['Log.append: options.time', TIME, (t) => onLog((l) => l.append(EVENT, { time: t }))],
    ['Log.appendAsync: event', EVENT_TEXT, (t) => onLog((l) => l.appendAsync(t)), { async: true, json: true }],
    ['Log.appendAsync: options.nonce', 'n-1', (t) => onLog((l) => l.appendAsync(EVENT, { nonce: t })), { async: true }],
    ['Log.appendAsync: options.time', TIME, (t) => onLog((l) => l.appendAsync(EVENT, { time: t })), { async: true }],
    ['Log.appendBatch: events', EVENT_TEXT, (t) => onLog((l) => l.appendBatch([EVENT, t])), { json: true }],
    ['Log.appendBatchAsync: events', EVENT_TEXT, (t) => onLog((l) => l.appendBatchAsync([EVENT, t])), { async: true, json: true }],
    ['Log.appendBatch: options.time', TIME, (t) => onLog((l) => l.appendBatch([EVENT], { time: t }))],
    ['Log.appendBatchAsync: options.time', TIME, (t) => onLog((l) => l.appendBatchAsync([EVENT], { time: t })), { async: true }],
    ['Log.findNonce: nonce', 'n-1', (t) => onLog((l) => l.findNonce(t))],
    ['Log.create: options.indexFields', 'order',
      (t) => evidentia.Log.create(path.join(tempDir(), 'log'), KEY, { indexFields: [t] }).close()],
    ['Log.addIndexField: name', 'order', (t) => onLog((l) => l.addIndexField(t))],
    ['Log.find: field', 'order', (t) => onLog((l) => (l.addIndexField('order'), l.find(t, 'A-1')))],
    ['Log.find: value', 'A-1', (t) => onLog((l) => (l.addIndexField('order'), l.find('order', t)))],
    ['Log.recordMessage: jws', PARTNER.jws, (t) => onLog((l) => l.recordMessage(t, PARTNER_KEYS))],
    ['Log.recordMessage: keys', PARTNER_KEYS, (t) => onLog((l) => l.recordMessage(PARTNER.jws, t)), { json: true }],
    ['Log.recordMessage: options.provenance', '{"partner_id":"joe"}',
      (t) => onLog((l) => l.recordMessage(PARTNER.jws, PARTNER_KEYS, { provenance: t })), { json: true }],
    ['Log.recordMessage: options.direction', 'inbound',
      (t) => onLog((l) => l.recordMessage(PARTNER.jws, PARTNER_KEYS, { direction: t }))],
    ['Log.recordMessage: options.nonce', 'n-1', (t) => onLog((l) => l.recordMessage(PARTNER.jws, PARTNER_KEYS, { nonce: t }))],
    ['Log.recordMessage: options.time', TIME, (t) => onLog((l) => l.recordMessage(PARTNER.jws, PARTNER_KEYS, { time: t }))],
    ['Log.recordMessageAsync: jws', PARTNER.jws, (t) => onLog((l) => l.recordMessageAsync(t, PARTNER_KEYS)), { async: true }],
    ['Log.recordMessageAsync: keys', PARTNER_KEYS,
      (t) => onLog((l) => l.recordMessageAsync(PARTNER.jws, t)), { async: true, json: true }],
    ['Log.exportPackage: out', path.join(tempDir(), 'package'), (t) => onLog((l) => {
      l.append(EVENT)
      l.checkpoint()
      return l.exportPackage(0, t)
    })],
    ['Log.verify: jwks', logKeys, (t) => onLog((l) => l.verify(t))],
    ['Log.verifyAsync: jwks', logKeys, (t) => onLog((l) => l.verifyAsync(t)), { async: true }],
    ['verifyLog: path', closed, (t) => evidentia.verifyLog(t)],
    ['verifyLog: jwks', logKeys, (t) => evidentia.verifyLog(closed, t)],
    ['verifyLogAsync: path', closed, (t) => evidentia.verifyLogAsync(t), { async: true }],
    ['verifyLogAsync: jwks', logKeys, (t) => evidentia.verifyLogAsync(closed, t), { async: true }],
  ]
}

/** What a call gives: its value, or the error it threw or rejected with. */
async function outcome(call, argument, async) {
  let result
  try {
    result = call(argument)
  } catch (error) {
    return { error, threw: true }
  }
  if (!async) return { value: result }
  assert.ok(result instanceof Promise, 'a Promise')
  try {
    return { value: await result }
  } catch (error) {
    return { error }
  }
}

async function checkTextArguments(cases) {
  const failures = []
  for (const [name, base, call, options = {}] of cases) {
    const clean = await outcome(call, base, options.async)
    if (clean.error) failures.push(`${name}: the call without a surrogate threw ${clean.error.code} ${clean.error.message}`)
    const low = `${base.slice(0, -1)}\uDC00${base.slice(-1)}`
    const refusals = [[`${base}\uD800`, 'JSON_LONE_SURROGATE'], [low, 'JSON_LONE_SURROGATE']]
    if (!options.json) refusals.push([42, 'INVALID_ARGUMENT'])
    for (const [argument, code] of refusals) {
      const given = typeof argument === 'string' ? 'a lone surrogate' : 'a number'
      const { error, threw } = await outcome(call, argument, options.async)
      if (!(error instanceof Error) || error.code !== code) {
        const got = error ? `${error instanceof Error ? 'Error' : typeof error} ${error.code} ${error.message}` : 'no error'
        failures.push(`${name}, given ${given}: ${got}, not ${code}`)
      } else if (options.async && threw) {
        failures.push(`${name}, given ${given}: threw instead of rejecting`)
      }
    }
  }
  assert.deepEqual(failures, [])
}

test('a lone surrogate in any text argument is refused with JSON_LONE_SURROGATE, a number with INVALID_ARGUMENT', async () => {
  await checkTextArguments(TEXT_ARGUMENTS)
})

test('a salt that is not bytes is refused with INVALID_ARGUMENT, and undefined or null is no salt', () => {
  const failures = []
  for (const salt of [42, 'c2FsdA', {}, [1, 2, 3], true, new Uint16Array(8)]) {
    try {
      evidentia.verifyReceipt(CONTEXT.receipt, JWKS, EVENT, salt)
      failures.push(`${typeof salt} ${salt}: no error`)
    } catch (error) {
      if (!(error instanceof Error) || error.code !== 'INVALID_ARGUMENT') failures.push(`${typeof salt} ${salt}: ${error.code} ${error.message}`)
    }
  }
  assert.deepEqual(failures, [])
  for (const salt of [undefined, null]) {
    assert.equal(evidentia.verifyReceipt(CONTEXT.receipt, JWKS, EVENT, salt).valid, true)
  }
})

const NO_LOG = Boolean(process.env.EVIDENTIA_JS_PACKAGE) && 'the WASM build has no Log (it needs a file system)'

test('a lone surrogate in any text argument of a log is refused with JSON_LONE_SURROGATE, a number with INVALID_ARGUMENT',
  { skip: NO_LOG }, async () => {
    await checkTextArguments(logTextArguments())
  })
