// Per-call cost of the Node package for a 1 KB event (run by `cargo xtask bench`).
// Prints one JSON line per operation: its median time per call over 25 rounds.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const evidentia = require(process.env.EVIDENTIA_NODE_PACKAGE || 'evidentia')

const ROUNDS = 25

function medianNs(call, callsPerRound) {
  call() // warm up
  const perCall = []
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < callsPerRound; i++) call()
    perCall.push(Number(process.hrtime.bigint() - start) / callsPerRound)
  }
  perCall.sort((a, b) => a - b)
  return perCall[Math.floor(ROUNDS / 2)]
}

// With EVIDENTIA_BENCH_LOG, only the reads from that log (`cargo xtask bench log`):
// receipts and proofs of records spread over the log, from the open log.
if (process.env.EVIDENTIA_BENCH_LOG) {
  const log = evidentia.Log.open(process.env.EVIDENTIA_BENCH_LOG)
  const size = log.length
  let position = 0
  const next = () => (position = (position + 7919) % size)
  const reads = {
    log_receipt: () => log.receipt(next()),
    log_inclusion_proof: () => log.inclusionProof(next()),
  }
  for (const [op, call] of Object.entries(reads)) {
    const name = `${process.env.EVIDENTIA_BENCH_GROUP}/${op}`
    console.log(JSON.stringify({ language: 'node', op: name, median_ns: medianNs(call, 2000) }))
  }
  log.close()
  process.exit(0)
}

const here = process.argv[2]
const text = fs.readFileSync(path.join(here, 'event-1k.json'), 'utf8')
const value = JSON.parse(text)
const key = evidentia.SigningKey.fromJwk(fs.readFileSync(path.join(here, 'key.jwk'), 'utf8'))
const jwks = key.publicJwk()
const canonical = evidentia.canonicalize(text)
const jws = key.signJws(canonical)
const operations = {
  canonicalize: [() => evidentia.canonicalize(text), 2000],
  canonicalize_value: [() => evidentia.canonicalize(value), 2000],
  sign: [() => key.signJws(canonical), 300],
  verify: [() => evidentia.verifyJws(jws, jwks), 150],
}
for (const [op, [call, calls]] of Object.entries(operations)) {
  console.log(JSON.stringify({ language: process.env.EVIDENTIA_BENCH_LANGUAGE || 'node', op, median_ns: medianNs(call, calls) }))
}
