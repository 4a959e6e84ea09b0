'use strict'
// Conformance adapter for the Node package, or the WASM build when
// EVIDENTIA_JS_PACKAGE names it: `node conformance-adapter.js CASE_DIR`.
//
// Performs the case's operation (testvectors/conformance/README.md, "Operations"),
// exits 0, 1 or 2 and prints {"code": ..., "codes": [...]} as its last line.
// Operations the package does not offer are skipped, saying why.

const fs = require('node:fs')
const path = require('node:path')

const WASM = Boolean(process.env.EVIDENTIA_JS_PACKAGE)
const evidentia = require(process.env.EVIDENTIA_JS_PACKAGE || '..')
const errors = require(path.join(__dirname, '../../../testvectors/errors.json')).codes

const REPORT_OPS = new Set(['receipt', 'evidence', 'log', 'tiles'])

/** The exit class of an error code's name (SPEC §15): 1 for family 6, else 2. */
function exitOf(name) {
  const entry = errors.find((e) => e.name === name)
  return entry && Math.floor(entry.code / 100) === 6 ? 1 : 2
}

function perform(operation, inputs, data, text) {
  switch (operation) {
    case 'receipt':
      return evidentia.verifyReceipt(
        text('receipt'),
        text('jwks'),
        inputs.event ? data('event') : undefined,
        inputs.salt ? data('salt') : undefined,
      )
    case 'evidence':
      return evidentia.verifyEvidenceFile(data('evidence'), inputs.jwks ? text('jwks') : undefined)
    case 'log':
      return evidentia.verifyLog(inputs.log, inputs.jwks ? text('jwks') : undefined)
    case 'tiles':
      return evidentia.verifyPublication(inputs.publication, text('jwks'))
    case 'checkpoint':
      evidentia.verifyCheckpoint(text('checkpoint'), text('jwks'))
      return null
    case 'inclusion':
      evidentia.verifyInclusion(text('receipt'), text('proof'), text('checkpoint'), text('jwks'))
      return null
    case 'consistency':
      evidentia.verifyConsistency(text('proof'), text('old_checkpoint'), text('checkpoint'), text('jwks'))
      return null
    default:
      throw new Error(`unknown operation ${operation}`)
  }
}

function main(caseDir) {
  const expected = JSON.parse(fs.readFileSync(path.join(caseDir, 'expected.json'), 'utf8'))
  const { operation } = expected
  const inputs = Object.fromEntries(Object.entries(expected.inputs).map(([role, name]) => [role, path.join(caseDir, name)]))
  if (operation === 'package') {
    // The Node package reads a folder or a .tar.gz by its path; the browser build
    // takes a .tar.gz's bytes, as a page holds a file, and cannot open a folder.
    let given = inputs.package
    if (WASM) {
      if (fs.statSync(inputs.package).isDirectory()) {
        return [0, { skip: "the browser build reads a package's .tar.gz, not a folder" }]
      }
      given = fs.readFileSync(inputs.package)
    }
    try {
      const report = evidentia.verifyPackage(given)
      if (!WASM && fs.statSync(inputs.package).isFile()) {
        // A .tar.gz by its bytes gives the report it gives by its path.
        require('node:assert/strict').deepEqual(evidentia.verifyPackage(fs.readFileSync(inputs.package)), report)
      }
      return [report.valid ? 0 : 1, { code: null }]
    } catch (error) {
      if (typeof error.code !== 'string' || !errors.some((e) => e.name === error.code)) throw error
      return [exitOf(error.code), { code: error.code }]
    }
  }
  if (operation === 'log' && typeof evidentia.verifyLog !== 'function') {
    return [0, { skip: 'a browser build cannot open a log directory' }]
  }
  if (operation === 'tiles' && typeof evidentia.verifyPublication !== 'function') {
    return [0, { skip: 'a browser build cannot open a publication folder' }]
  }
  if (operation === 'inclusion' && inputs.record) {
    return [0, { skip: "the package verifies a receipt's inclusion, not a bare record's" }]
  }
  const data = (role) => fs.readFileSync(inputs[role])
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  const text = (role) => decoder.decode(data(role))
  let report
  try {
    report = perform(operation, inputs, data, text)
  } catch (error) {
    if (error instanceof TypeError && error.code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      return [0, { skip: 'an input is not UTF-8 text, which a JavaScript string cannot hold' }]
    }
    if (typeof error.code !== 'string' || !errors.some((e) => e.name === error.code)) throw error
    return [exitOf(error.code), { code: error.code }]
  }
  if (report === null) return [0, { code: null }]
  const codes = report.failureCodes
  const answer = { code: codes.length ? codes[0] : null }
  if (REPORT_OPS.has(operation)) answer.codes = codes
  return [report.valid ? 0 : 1, answer]
}

const [exitCode, answer] = main(process.argv[2])
console.log(JSON.stringify(answer))
process.exitCode = exitCode
