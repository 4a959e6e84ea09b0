// Receipts verified per second by the WASM build in headless Chromium and in
// Node.js, over the receipts of a log the native CLI made (run by
// `cargo xtask bench wasm`, which also times the CLI on the same log).
//
//   node bench.mjs INPUT.json   INPUT: { "jwks": "...", "receipts": ["...", ...] }
//   EVIDENTIA_WEB_PKG, EVIDENTIA_NODE_PKG: the web and Node.js builds
//
// Prints one JSON line per runtime: the median over ROUNDS passes of the time to
// verify every receipt once, and the rate that gives.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { serve, launch } from './browser.mjs'

const ROUNDS = 5
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))

/** Verifies every receipt ROUNDS times (after one warm-up pass); returns milliseconds per pass. */
function passes(evidentia, input, rounds) {
  const pass = () => {
    for (const receipt of input.receipts) {
      const report = evidentia.verifyReceipt(receipt, input.jwks)
      if (!report.valid) throw new Error(`a receipt did not verify: ${report.summary}`)
      report.free()
    }
  }
  pass()
  const times = []
  for (let r = 0; r < rounds; r++) {
    const start = performance.now()
    pass()
    times.push(performance.now() - start)
  }
  return times
}

function print(runtime, times) {
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  const line = { runtime, receipts: input.receipts.length, median_ms: median, receipts_per_s: (input.receipts.length * 1000) / median }
  console.log(JSON.stringify(line))
}

const server = await serve()
const browser = await launch()
try {
  const page = await browser.context.newPage()
  await page.goto(server.url)
  // The same loop as `passes`, in the page (whose policy forbids compiling code from text).
  const times = await page.evaluate(
    async ([input, rounds]) => {
      const evidentia = await import('/pkg/index.js')
      const pass = () => {
        for (const receipt of input.receipts) {
          const report = evidentia.verifyReceipt(receipt, input.jwks)
          if (!report.valid) throw new Error(`a receipt did not verify: ${report.summary}`)
          report.free()
        }
      }
      pass()
      const times = []
      for (let r = 0; r < rounds; r++) {
        const start = performance.now()
        pass()
        times.push(performance.now() - start)
      }
      return times
    },
    [input, ROUNDS],
  )
  print('chromium', times)
} finally {
  await browser.close()
  await server.close()
}

const node = createRequire(import.meta.url)(process.env.EVIDENTIA_NODE_PKG)
print('node', passes(node, input, ROUNDS))
