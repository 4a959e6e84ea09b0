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
// Kinds with no JavaScript entry point are skipped: vkey (note verifier keys),
// timestamp_* and certificate (RFC 3161 is in the Rust core and the CLI only) and
// package (evidence packages are checked by the CLI). Evidence files are read by the
// verifier page (run by the WASM tests in a browser); here they go where a program
// handed one in place of a receipt would pass it, as receipts do.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const evidentia = require(process.env.EVIDENTIA_JS_PACKAGE || '..')

const VECTORS = process.env.EVIDENTIA_VECTORS || path.resolve(__dirname, '../../../testvectors')
const CORPUS = JSON.parse(fs.readFileSync(path.join(VECTORS, 'hostile.json'), 'utf8'))
const CONTEXT = CORPUS.context
const CODES = new Set(evidentia.errorCodes().map((c) => c.name).filter((n) => n !== 'INTERNAL'))
const SKIPPED = new Set(['vkey', 'timestamp_response', 'timestamp_token', 'timestamp_request', 'certificate', 'package'])
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
const ROOT = raw(CONTEXT.root)
const OLD_ROOT = raw(CONTEXT.old_root)

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
      break
    case 'jws':
      for (const jws of texts(data)) run.call(name, 'verifyJws', () => evidentia.verifyJws(jws, JWKS, second))
      break
    case 'jwks':
      for (const jwks of texts(data)) {
        run.call(name, 'verifyReceipt (the key set)', () => evidentia.verifyReceipt(CONTEXT.receipt, jwks, EVENT))
        run.call(name, 'verifyJws (the key set)', () => evidentia.verifyJws(CONTEXT.jws, jwks))
        run.call(name, 'verifyCheckpoint (the key set)', () => evidentia.verifyCheckpoint(CONTEXT.checkpoint, jwks))
      }
      break
    case 'jwk':
      for (const jwk of texts(data)) {
        run.call(name, 'jwkThumbprint', () => evidentia.jwkThumbprint(jwk))
        run.call(name, 'SigningKey.fromJwk', () => evidentia.SigningKey.fromJwk(jwk))
        run.call(name, 'verifyJws (the key set)', () => evidentia.verifyJws(CONTEXT.jws, jwk))
      }
      break
    case 'pem':
      for (const pem of texts(data)) run.call(name, 'SigningKey.fromPem', () => evidentia.SigningKey.fromPem(pem))
      break
    case 'receipt':
    case 'batch_receipt':
    case 'evidence':
      receiptLike(run, name, data, second)
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
