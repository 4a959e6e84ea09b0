// Cross-language evidence, Node side (run by `cargo xtask test cross`).
//
//   node cross.js produce SPEC OUT    write OUT/evidence.json and OUT's logs
//   node cross.js verify SPEC ROOT    verify ROOT/*/evidence.json, whoever produced it
//
// The WASM build verifies too (EVIDENTIA_CROSS_NAME=wasm, EVIDENTIA_NODE_PACKAGE
// naming its Node.js module); it has no file system, so it skips the logs on disk.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const evidentia = require(process.env.EVIDENTIA_NODE_PACKAGE || 'evidentia')
const NAME = process.env.EVIDENTIA_CROSS_NAME || 'node'
const READS_FILES = NAME !== 'wasm'

function produce(spec, out) {
  const key = evidentia.SigningKey.fromJwk(spec.private_jwk)
  const evidence = { producer: 'node' }
  evidence.canonical = spec.documents.map((d) => evidentia.canonicalize(d.json).toString('utf8'))
  evidence.digests = spec.documents.map((d) => evidentia.digest(d.json))
  evidence.jws = spec.payloads.flatMap((p) => {
    const payload = Buffer.from(p.payload_hex, 'hex')
    return [
      key.signJws(payload),
      key.signJws(payload, { detached: true }),
      key.signJws(payload, { detached: true, unencoded: true }),
    ]
  })
  // The records carry fixed past times: the key is valid from the first. The
  // fixed receipts are of version-1 records, whose events are not salted.
  const validFrom = spec.receipts[0].time
  const fixed = evidentia.Log.create(path.join(out, 'fixed'), key, { logId: spec.log_id, validFrom, recordVersion: 1 })
  evidence.receipts = spec.receipts.map((r) => fixed.append(r.event, { nonce: r.nonce, time: r.time }))
  fixed.close()

  const fresh = evidentia.SigningKey.generate()
  const log = evidentia.Log.create(path.join(out, 'log'), fresh, { logId: 'node.example/cross' })
  const receipt = log.append(spec.fresh_event)
  const salt = log.salt(0)
  log.appendBatch([{ n: 2 }, { n: 3 }])
  const checkpoint = log.checkpoint()
  const proof = log.inclusionProof(0)
  const jwks = log.keys()
  const archive = log.exportPackage(0, path.join(out, 'package-receipt'))
  if (!archive.endsWith('package-receipt.tar.gz')) throw new Error(`exportPackage returned ${archive}`)
  log.close()
  const batch = evidentia.Log.create(path.join(out, 'batch'), fresh, { logId: 'node.example/cross-batch', mode: 'batch' })
  batch.appendBatch([spec.fresh_event, { n: 2 }, { n: 3 }])
  const batchReceipt = batch.receipt(0)
  const batchSalt = batch.salt(0)
  batch.exportPackage(0, path.join(out, 'package-batch'))
  batch.close()
  evidence.fresh = {
    public_jwk: fresh.publicJwk(),
    jws: fresh.signJws(Buffer.from(spec.fresh_payload_hex, 'hex'), { detached: true }),
    log: path.resolve(out, 'log'),
    jwks,
    receipt,
    salt_hex: Buffer.from(salt).toString('hex'),
    checkpoint,
    size: 3,
    inclusion_proof: proof,
    batch_log: path.resolve(out, 'batch'),
    batch_receipt: batchReceipt,
    batch_salt_hex: Buffer.from(batchSalt).toString('hex'),
  }
  fs.writeFileSync(path.join(out, 'evidence.json'), JSON.stringify(evidence, null, 1))
}

function verifyOne(spec, evidence) {
  let passed = 0
  const check = (condition, what) => {
    if (!condition) throw new Error(`${NAME} verifying ${evidence.producer}'s evidence: ${what}`)
    passed++
  }
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
  const expected = {
    canonical: spec.documents.map((d) => d.canonical),
    digests: spec.documents.map((d) => d.digest),
    jws: spec.payloads.flatMap((p) => [p.jws, p.detached, p.unencoded_detached]),
    receipts: spec.receipts.map((r) => r.receipt),
  }
  for (const [name, bytes] of Object.entries(expected)) {
    if (name in evidence) check(same(evidence[name], bytes), `${name} differ from the expected bytes`)
  }
  ;(evidence.receipts || []).forEach((receipt, i) => {
    check(evidentia.verifyReceipt(receipt, spec.public_jwk, spec.receipts[i].event).valid, 'a fixed receipt')
  })

  const fresh = evidence.fresh
  const payload = Buffer.from(spec.fresh_payload_hex, 'hex')
  check(evidentia.verifyJws(fresh.jws, fresh.public_jwk, payload).kid === evidentia.jwkThumbprint(fresh.public_jwk), 'the JWS kid')
  try {
    evidentia.verifyJws(fresh.jws, fresh.public_jwk, Buffer.concat([payload, Buffer.from('!')]))
    check(false, 'a JWS over another payload verified')
  } catch (error) {
    check(error.code === 'SIGNATURE_INVALID', `another payload: ${error.code}`)
  }
  const [salt, batchSalt] = [Buffer.from(fresh.salt_hex, 'hex'), Buffer.from(fresh.batch_salt_hex, 'hex')]
  const report = evidentia.verifyReceipt(fresh.receipt, fresh.jwks, spec.fresh_event, salt)
  check(report.valid, report.toText())
  const other = evidentia.verifyReceipt(fresh.receipt, fresh.jwks, { type: 'cross.check', amount: 10.51 }, salt)
  check(same(other.failureCodes, ['EVENT_MISMATCH']), `another event: ${other.failureCodes}`)
  check(evidentia.verifyCheckpoint(fresh.checkpoint, fresh.jwks).size === fresh.size, 'the checkpoint size')
  evidentia.verifyInclusion(fresh.receipt, fresh.inclusion_proof, fresh.checkpoint, fresh.jwks)
  const batch = evidentia.verifyReceipt(fresh.batch_receipt, fresh.jwks, spec.fresh_event, batchSalt)
  check(batch.valid && batch.subject === 'batch_receipt', batch.toText())
  if (READS_FILES) {
    const log = evidentia.verifyLog(fresh.log)
    check(log.valid && log.records === fresh.size, log.toText())
    check(evidentia.verifyLog(fresh.batch_log).valid, 'the batch log')
  }
  return passed
}

function main() {
  const [command, specPath, directory] = process.argv.slice(2)
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'))
  if (command === 'produce') return produce(spec, directory)
  for (const name of fs.readdirSync(directory).sort()) {
    const file = path.join(directory, name, 'evidence.json')
    if (!fs.existsSync(file)) continue
    const evidence = JSON.parse(fs.readFileSync(file, 'utf8'))
    console.log(`${NAME} verified ${evidence.producer}'s evidence: ${verifyOne(spec, evidence)} checks passed`)
  }
}

main()
