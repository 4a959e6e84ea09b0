// One run of the side-by-side benchmark in Node.js (driven by `cargo xtask bench`).
//
//   node bench.js IMPLEMENTATION INPUTS [--quick | --check]
//
// IMPLEMENTATION is `evidentia` (the native package), `evidentia-wasm` (the WASM
// build, EVIDENTIA_WASM_PACKAGE), `canonicalize+node:crypto` (the `canonicalize`
// package and node:crypto, JWS by hand) or `canonicalize+jose` (JWS by `jose`).
// Each does the same work on the same inputs and prints one JSON line per workload
// with its median time per operation. With --check, receipts are exchanged and
// verified instead of timed (the smoke test of `cargo xtask test`).
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const REPEATS = 7

async function medianNs(call, perRepeat) {
  if (perRepeat === 0) {
    const start = process.hrtime.bigint()
    await call()
    return Number(process.hrtime.bigint() - start)
  }
  await call() // warm up
  const times = []
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perRepeat; i++) await call()
    times.push(Number(process.hrtime.bigint() - start) / perRepeat)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(REPEATS / 2)]
}

const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const digest = (bytes) => 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex')

// Evidentia's receipt format (SPEC.md §6-7) made with `canonicalize` and an ES256 library.
async function makePeer(jwk, jws) {
  const { default: canonicalize } = require('canonicalize')
  const dumps = (value) => Buffer.from(canonicalize(value), 'utf8')
  const peer = { dumps, kid: jwk.kid }
  if (jws === 'node:crypto') {
    const privateKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' })
    const publicKey = crypto.createPublicKey(privateKey)
    peer.sign = async (header, payload) => {
      const input = b64u(dumps(header)) + '.' + b64u(payload)
      const signature = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      return input + '.' + b64u(signature)
    }
    peer.verify = async (compact) => {
      const [head, payload, signature] = compact.split('.')
      const ok = crypto.verify('sha256', Buffer.from(head + '.' + payload), { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'))
      if (!ok) throw new Error('invalid signature')
      return [JSON.parse(Buffer.from(head, 'base64url')), Buffer.from(payload, 'base64url')]
    }
  } else {
    const jose = await import('jose')
    const privateKey = await jose.importJWK(jwk, 'ES256')
    const { d, ...pub } = jwk
    const publicKey = await jose.importJWK(pub, 'ES256')
    peer.sign = async (header, payload) => new jose.CompactSign(payload).setProtectedHeader(header).sign(privateKey)
    peer.verify = async (compact) => {
      const { payload, protectedHeader } = await jose.compactVerify(compact, publicKey, { algorithms: ['ES256'] })
      return [protectedHeader, Buffer.from(payload)]
    }
  }
  peer.receipt = async (eventText, seq, prev, now) => {
    const record = {
      event: digest(dumps(JSON.parse(eventText))),
      kid: peer.kid,
      log_id: 'bench.evidentia.dev/compare',
      prev,
      seq,
      time: now,
      v: 1,
    }
    const recordBytes = dumps(record)
    const receipt = await peer.sign({ alg: 'ES256', kid: peer.kid, typ: 'evidentia-receipt+jws' }, recordBytes)
    return [receipt, digest(recordBytes)]
  }
  peer.verifyReceipt = async (receipt, eventText) => {
    const [header, payload] = await peer.verify(receipt)
    const record = JSON.parse(payload)
    if (header.typ !== 'evidentia-receipt+jws' || header.kid !== peer.kid) throw new Error('not a receipt of this key')
    if (!dumps(record).equals(payload)) throw new Error('the record is not canonical')
    if (record.event !== digest(dumps(JSON.parse(eventText)))) throw new Error('another event')
    return record
  }
  peer.verifyLog = async (receipts, events) => {
    let prev = null
    for (let seq = 0; seq < receipts.length; seq++) {
      const record = await peer.verifyReceipt(receipts[seq], events[seq])
      if (record.seq !== seq || record.prev !== prev) throw new Error(`the chain breaks at ${seq}`)
      prev = digest(Buffer.from(receipts[seq].split('.')[1], 'base64url'))
    }
    return receipts.length
  }
  return peer
}

// RFC 6962 tree of `leaves` leaves with node:crypto; `proofs` inclusion proofs made and checked.
function merkle(leaves, proofs) {
  const sha = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest()
  const leafPrefix = Buffer.from([0])
  const nodePrefix = Buffer.from([1])
  let level = []
  for (let i = 0; i < leaves; i++) {
    const index = Buffer.alloc(8)
    index.writeBigUInt64BE(BigInt(i))
    level.push(sha(leafPrefix, index))
  }
  const levels = [level]
  while (level.length > 1) {
    const next = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(sha(nodePrefix, level[i], level[i + 1]))
    if (level.length % 2) next.push(level[level.length - 1])
    levels.push(next)
    level = next
  }
  const root = level[0]
  for (let k = 0; k < proofs; k++) {
    const index = (k * 7919) % leaves
    let h = levels[0][index]
    let i = index
    for (const lvl of levels.slice(0, -1)) {
      const sibling = i ^ 1
      if (sibling < lvl.length) h = sibling < i ? sha(nodePrefix, lvl[sibling], h) : sha(nodePrefix, h, lvl[sibling])
      i = Math.floor(i / 2)
    }
    if (!h.equals(root)) throw new Error('an inclusion proof does not verify')
  }
}

async function main() {
  const [implementation, inputs] = process.argv.slice(2)
  const quick = process.argv.includes('--quick')
  const check = process.argv.includes('--check')
  const read = (name) => fs.readFileSync(path.join(inputs, name), 'utf8')
  const event1k = read('event-1k.json')
  const doc64k = read('doc-64k.json')
  const jwk = JSON.parse(read('key.jwk'))
  const receipt = read('receipt.jws').trim()
  const receiptEvent = read('receipt-event.json')
  const logReceipts = read('log-receipts.txt').split(/\s+/).filter(Boolean)
  const logEvents = read('log-events.jsonl').split('\n').filter(Boolean)
  const jwks = read('keys.jwks')
  // A second from now, in whole seconds: the receipts must fall within the key's
  // validity, which starts (to the nanosecond) when the benchmark's log was made.
  const now = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, 'Z')
  const scale = quick ? 10 : 1
  let workloads

  if (implementation === 'evidentia' || implementation === 'evidentia-wasm') {
    const evidentia = require(implementation === 'evidentia'
      ? process.env.EVIDENTIA_NODE_PACKAGE
      : process.env.EVIDENTIA_WASM_PACKAGE)
    const peer = await makePeer(jwk, 'node:crypto')
    const key = evidentia.SigningKey.fromJwk(read('key.jwk'))
    const keys = evidentia.KeySet.fromJson(jwks)
    // Receipts in memory, as the peers make them; and with the opt-in randomized
    // signing, which is how the peers sign (in WASM it stays deterministic).
    const chain = new evidentia.ReceiptChain('bench.evidentia.dev/compare')
    const fast = key.withRandomizedSignatures()
    // A log on tmpfs where there is one, so that no disk flush is counted; removed at exit.
    let log = null
    if (evidentia.Log) {
      const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'evidentia-bench-'))
      process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
      // Records of version 1, which commit to the plain event digest the peers check.
      log = evidentia.Log.create(path.join(dir, 'log'), key, { logId: 'bench.evidentia.dev/compare', recordVersion: 1 })
    }
    if (check) {
      const [theirs] = await peer.receipt(event1k, 0, null, now)
      if (!evidentia.verifyReceipt(theirs, keys, event1k).valid) throw new Error('a peer receipt did not verify')
      if (!Buffer.from(evidentia.canonicalize(doc64k)).equals(peer.dumps(JSON.parse(doc64k)))) {
        throw new Error('canonical forms differ')
      }
      await peer.verifyReceipt(chain.issue(key, event1k, { time: now }), event1k)
      await peer.verifyReceipt(chain.issue(fast, event1k, { time: now }), event1k)
      if (log) await peer.verifyReceipt(log.append(event1k), event1k)
      console.log(JSON.stringify({ implementation, check: 'ok' }))
      return
    }
    workloads = {
      canonicalize_1k: [() => evidentia.canonicalize(event1k), 2000 / scale],
      canonicalize_64k: [() => evidentia.canonicalize(doc64k), 40 / scale],
      build_receipt: [() => chain.issue(key, event1k, { time: now }), 300 / scale],
      // Keys parsed once, as the peers import theirs once.
      verify_receipt: [() => evidentia.verifyReceipt(receipt, keys, receiptEvent), 300 / scale],
    }
    if (log) {
      workloads.build_receipt_randomized = [() => chain.issue(fast, event1k, { time: now }), 300 / scale]
      workloads.append_receipt = [() => log.append(event1k), 300 / scale]
      workloads.verify_log = [() => evidentia.verifyLog(path.join(inputs, 'log')), 0]
    }
  } else {
    const peer = await makePeer(jwk, implementation === 'canonicalize+node:crypto' ? 'node:crypto' : 'jose')
    if (check) {
      await peer.verifyReceipt(receipt, receiptEvent)
      await peer.verifyLog(logReceipts, logEvents)
      console.log(JSON.stringify({ implementation, check: 'ok' }))
      return
    }
    const state = { seq: 0, prev: null }
    workloads = {
      canonicalize_1k: [() => peer.dumps(JSON.parse(event1k)), 2000 / scale],
      canonicalize_64k: [() => peer.dumps(JSON.parse(doc64k)), 40 / scale],
      build_receipt: [async () => {
        const [, prev] = await peer.receipt(event1k, state.seq, state.prev, now)
        state.seq += 1
        state.prev = prev
      }, 300 / scale],
      verify_receipt: [() => peer.verifyReceipt(receipt, receiptEvent), 300 / scale],
      verify_log: [() => peer.verifyLog(logReceipts, logEvents), 0],
    }
    if (implementation === 'canonicalize+node:crypto') {
      const leaves = quick ? 10000 : 1000000
      workloads.merkle = [() => merkle(leaves, 1000), 0]
    }
  }
  for (const [workload, [call, perRepeat]] of Object.entries(workloads)) {
    const ns = await medianNs(call, perRepeat)
    console.log(JSON.stringify({ implementation, workload, median_ns: ns }))
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
