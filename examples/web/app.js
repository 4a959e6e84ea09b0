// The verifier page: reads what the user pasted or dropped, asks Evidentia (the
// WebAssembly module in ./pkg) to verify it, and explains the report in plain words:
// receipts and evidence files with their keys, and whole evidence packages (.tar.gz).
// Every check is done by Evidentia's core, which also reads evidence files; this
// file only sorts inputs and shows results. Nothing is sent anywhere (the page's
// Content-Security-Policy forbids it).

import {
  verifyReceiptAsync, verifyEvidenceFile, readSignedMessage, verifyPackage, maxPackageArchiveSize, errorCodes, version,
} from './pkg/index.js'

const $ = (id) => document.getElementById(id)
const inputs = { receipt: $('receipt'), jwks: $('jwks'), event: $('event'), salt: $('salt') }
const button = $('verify')
const result = $('result')
const packageInput = $('package')
const packageResult = $('package-result')

/** Each error code's plain-words explanation, from the table every language shares. */
const EXPLANATIONS = new Map(errorCodes().map((c) => [c.name, c.explanation]))

/** The checks of a report, named for people, and what "skipped" means for each. */
const CHECK_NAMES = {
  format: ['The receipt is complete and readable', ''],
  key: ['It was signed with one of the given keys, while that key was in force', ''],
  signature: ['Nothing in it has changed since it was signed', ''],
  checkpoint: ['The log it belongs to was signed by the same organisation', ''],
  inclusion: ['It is one of the entries of that signed log', ''],
  event: ['The event given matches the one recorded', 'No original event was given, so it was not compared.'],
  message: ['The other party\'s signature checks out again with the keys recorded with it, as recorded', ''],
}

class InputError extends Error {
  constructor(message, code) {
    super(message)
    this.code = code
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * An evidence file (SPEC.md §18) is a JSON object with a `receipt` or a
 * `batch_receipt`; anything else in the first input is a receipt or batch receipt.
 * This only sorts the input: Evidentia reads the file and says what is wrong with it.
 */
function isEvidenceFile(text) {
  const parsed = text.startsWith('{') ? parseJson(text) : undefined
  return Boolean(parsed && (parsed.receipt !== undefined || parsed.batch_receipt !== undefined))
}

/** The receipt an evidence file holds, for display only (Evidentia verifies the file itself). */
function receiptOf(evidence) {
  const { receipt, batch_receipt: batch } = parseJson(evidence)
  return receipt ?? (typeof batch === 'string' ? batch : JSON.stringify(batch))
}

/**
 * What to verify, from the three inputs: an evidence file (with the keys pasted,
 * which replace the file's, or none), or a receipt (or batch receipt) with its key
 * set and its event (or undefined).
 */
function collect() {
  const receipt = inputs.receipt.value.trim()
  const jwks = inputs.jwks.value.trim()
  const event = inputs.event.value.trim()
  const salt = inputs.salt.value.trim()
  if (!receipt) throw new InputError('Paste or drop a receipt first.', 'INVALID_ARGUMENT')
  if (isEvidenceFile(receipt)) {
    if (event || salt) {
      throw new InputError('An evidence file brings its own event and salt: to compare another event, paste the ' +
        'receipt itself instead of the evidence file, or empty the event and the salt.', 'INVALID_ARGUMENT')
    }
    return { evidence: receipt, jwks: jwks || undefined, keysFromFile: !jwks }
  }
  if (!jwks) throw new InputError('Paste or drop the signer\'s public keys (a JWKS) too: without them nothing can be checked.', 'INVALID_ARGUMENT')
  if (salt && !/^([0-9A-Fa-f]{2})+$/.test(salt)) {
    throw new InputError('The salt is written in hex: an even number of the digits 0-9 and a-f.', 'INVALID_ARGUMENT')
  }
  const saltBytes = salt ? Uint8Array.from(salt.match(/../g), (pair) => parseInt(pair, 16)) : undefined
  return { receipt, jwks, event: event || undefined, salt: saltBytes, keysFromFile: false }
}

/**
 * Verifies an evidence file. What is JSON but no evidence file (INVALID_ARGUMENT)
 * was not checked at all: the page says so, in Evidentia's words.
 */
function verifyEvidence(evidence, jwks) {
  try {
    return verifyEvidenceFile(evidence, jwks)
  } catch (error) {
    throw asInputError(error)
  }
}

/**
 * Verifies a receipt, through WebCrypto. An input that cannot be judged as given
 * (INVALID_ARGUMENT: a version-2 record's event without its salt, say) was not
 * checked at all: the page says so, in Evidentia's words.
 */
async function verifyReceiptGiven(receipt, jwks, event, salt) {
  try {
    return await verifyReceiptAsync(receipt, jwks, event, salt)
  } catch (error) {
    throw asInputError(error)
  }
}

/** An INVALID_ARGUMENT error of the module as the page's InputError; any other as it is. */
function asInputError(error) {
  if (error.code !== 'INVALID_ARGUMENT') return error
  return new InputError(`${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`, error.code)
}

/** The event an evidence file holds, for display only; undefined when it has none. */
function eventOf(evidence) {
  return parseJson(evidence)?.event
}

/**
 * The signed message of another party that an event holds (Evidentia reads it),
 * or undefined: a message that cannot be read is in the report's findings already.
 */
function messageOf(event) {
  if (event === undefined || event === null) return undefined
  try {
    return readSignedMessage(event) ?? undefined
  } catch {
    return undefined
  }
}

/** What the record of a receipt says, for display only (the report says whether to trust it). */
function recordOf(receipt) {
  try {
    if (receipt.startsWith('{')) return JSON.parse(JSON.parse(receipt).record)
    const payload = receipt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function showError(error) {
  result.className = 'result invalid'
  result.replaceChildren()
  const code = error.code || 'INTERNAL'
  const headline = error instanceof InputError
    ? `INVALID — nothing was checked. ${error.message}`
    : 'INVALID — this could not be read as a receipt with its keys, so it proves nothing.'
  result.append(element('p', 'verdict', headline))
  if (!(error instanceof InputError)) {
    result.append(element('p', 'why', EXPLANATIONS.get(code) || ''))
    result.append(element('p', 'technical', `${code}: ${error.message}`))
  }
}

/** The signed message of another party a record holds: who signed what, with which key, as recorded. */
function showMessage(message, report) {
  const verification = message.verification || {}
  const again = report.checks.find((c) => c.check === 'message')
  const section = element('section', 'message')
  section.dataset.testid = 'message'
  section.append(element('h2', '', message.direction === 'outbound'
    ? 'A message sent to another party, with its signature'
    : 'A message signed by another party'))
  if (!report.valid) section.append(element('p', 'warning', 'What the record claims about this message is not to be trusted: see the checks above.'))
  const agreement = again === undefined
    ? 'not checked'
    : again.status === 'passed'
      ? 'yes: checking the signature again with the keys recorded gives the same result'
      : again.status === 'failed' ? 'NO: checking it again does not give the result recorded' : 'not checked'
  const recorded = verification.result === 'valid'
    ? 'valid'
    : `invalid${verification.failure ? ` (${verification.failure})` : ''}`
  const keys = Array.isArray(message.keys?.keys) ? message.keys.keys : []
  const used = keys.find((k) => verification.kid !== undefined && k.kid === verification.kid) ?? (keys.length === 1 ? keys[0] : undefined)
  const keyType = used ? [used.kty, used.crv].filter(Boolean).join(' ') : undefined
  const details = element('dl', 'record')
  for (const [label, value] of [
    ['Direction', message.direction === 'outbound' ? 'outbound (sent to the other party)' : 'inbound (received from the other party)'],
    ['Result recorded', recorded],
    ['Checked at (UTC)', verification.verified_at],
    ['Checking again agrees', agreement],
    ['Algorithm', verification.alg],
    ['Key thumbprint', verification.key_thumbprint],
    ['Key type', keyType],
    ['Key id', verification.kid],
  ]) {
    if (value !== undefined && value !== null) details.append(element('dt', '', label), element('dd', '', String(value)))
  }
  section.append(details)
  section.append(element('p', '', 'What it says (the signed payload):'))
  const payload = message.payload !== undefined ? JSON.stringify(message.payload, null, 2) : `base64url: ${message.payload_b64url}`
  section.append(element('pre', 'payload', payload))
  const provenance = message.provenance && typeof message.provenance === 'object' ? Object.entries(message.provenance) : []
  if (provenance.length > 0) {
    section.append(element('p', '', 'Where the keys came from, as recorded:'))
    const origin = element('dl', 'record provenance')
    for (const [name, value] of provenance) {
      origin.append(element('dt', '', name), element('dd', '', typeof value === 'string' ? value : JSON.stringify(value)))
    }
    section.append(origin)
  }
  section.append(element('p', '',
    'A valid signature shows that the holder of this key signed exactly this payload; whose key it is rests on where the keys came from.'))
  result.append(section)
}

/** What a record says (log, entry, time, key, event digest, nonce), as a list for people. */
function recordDetails(record) {
  const details = element('dl', 'record')
  for (const [label, value] of [
    ['Log', record.log_id],
    ['Entry number', record.seq],
    ['Recorded at (UTC)', record.time],
    ['Signing key id', record.kid],
    ['Event fingerprint', record.event],
    ['Reference (nonce)', record.nonce],
  ]) {
    if (value !== undefined && value !== null) details.append(element('dt', '', label), element('dd', '', String(value)))
  }
  return details
}

function showReport(report, receipt, keysFromFile, event) {
  // The signed-message check concerns only events that are another party's signed
  // message: for any other event it is not shown.
  const checks = report.checks.filter((c) => !(c.check === 'message' && c.status === 'skipped'))
  const failed = checks.filter((c) => c.status === 'failed')
  const what = report.subject === 'batch_receipt' ? 'batch receipt' : 'receipt'
  result.className = `result ${report.valid ? 'valid' : 'invalid'}`
  result.replaceChildren()
  const headline = report.valid
    ? `VALID — this ${what} is genuine: it was signed by a trusted key and has not been changed since.`
    : `INVALID — this ${what} cannot be trusted: ${failed.length} of ${checks.length} checks failed.`
  result.append(element('p', 'verdict', headline))
  if (keysFromFile) {
    result.append(element('p', 'warning',
      'The keys came with the evidence file, from whoever made it. This result means something only if those are ' +
      'the signer\'s real keys: confirm them with the signer, or paste keys you obtained yourself.'))
  }

  const list = element('ul', 'checks')
  for (const check of checks) {
    const [name, whenSkipped] = CHECK_NAMES[check.check] || [check.description, '']
    const item = element('li', check.status)
    const label = { passed: '✓ Passed', failed: '✗ Failed', skipped: '– Not checked' }[check.status] || check.status
    item.append(element('span', 'status', label), ' ', element('span', 'name', name))
    if (check.status === 'skipped' && whenSkipped) item.append(element('p', 'why', whenSkipped))
    for (const finding of report.findings.filter((f) => f.check === check.check)) {
      item.append(element('p', 'why', EXPLANATIONS.get(finding.name) || finding.message))
      item.append(element('p', 'why technical', `${finding.name}: ${finding.message}`))
    }
    list.append(item)
  }
  result.append(list)

  const record = recordOf(receipt)
  if (record && typeof record === 'object') {
    result.append(element('p', '', report.valid ? 'What the receipt records:' : 'What the receipt claims (not to be trusted, see above):'))
    result.append(recordDetails(record))
  }

  const message = messageOf(event)
  if (message) showMessage(message, report)
}

/**
 * Verifies what was given. A receipt's signature is checked by the browser's
 * WebCrypto (native code) through verifyReceiptAsync; the module decides the report.
 */
async function verify() {
  button.disabled = true
  try {
    const { evidence, receipt, jwks, event, salt, keysFromFile } = collect()
    const report = evidence === undefined ? await verifyReceiptGiven(receipt, jwks, event, salt) : verifyEvidence(evidence, jwks)
    try {
      showReport(report, evidence === undefined ? receipt : receiptOf(evidence), keysFromFile,
        evidence === undefined ? parseJson(event ?? '') : eventOf(evidence))
    } finally {
      report.free()
    }
  } catch (error) {
    showError(error)
  } finally {
    button.disabled = false
  }
}

/** Puts a dropped file's text in the input it belongs to. */
function place(text) {
  const trimmed = text.trim()
  const parsed = trimmed.startsWith('{') ? parseJson(trimmed) : undefined
  if (parsed && Array.isArray(parsed.keys)) {
    inputs.jwks.value = trimmed
  } else if (parsed && (parsed.receipt !== undefined || parsed.batch_receipt !== undefined || parsed.type === 'evidentia-batch-receipt')) {
    inputs.receipt.value = trimmed
  } else if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(trimmed)) {
    inputs.receipt.value = trimmed
  } else {
    inputs.event.value = trimmed
  }
}

document.addEventListener('dragover', (e) => {
  e.preventDefault()
  document.body.classList.add('dragging')
})
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'))
/** Whether a file is an evidence package's .tar.gz: by its name, or by gzip's first two bytes. */
async function isPackage(file) {
  if (/\.(tar\.gz|tgz)$/i.test(file.name)) return true
  const start = new Uint8Array(await file.slice(0, 2).arrayBuffer())
  return start[0] === 0x1f && start[1] === 0x8b
}

/** A sentence's first letter in upper case, unless it begins with a file name (keys.jwks stays keys.jwks). */
const sentence = (text) => /^[^\s.]+\.[a-z]/.test(text) ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`

/**
 * The checks of an evidence package in plain words: Evidentia names each check as
 * the package's verify.sh and VERIFICATION.md do, and says why one failed.
 */
function showPackage(report, name) {
  const applied = report.checks.filter((c) => c.applies)
  const failed = applied.filter((c) => c.passed === false)
  packageResult.className = `result ${report.valid ? 'valid' : 'invalid'}`
  packageResult.replaceChildren()
  packageResult.append(element('p', 'verdict', report.valid
    ? `VALID — every check of this evidence package passed (${applied.length} of ${applied.length}): the record is genuine and part of the signed log.`
    : `INVALID — this evidence package proves nothing: ${failed.length} of ${applied.length} checks failed.`))
  packageResult.append(element('p', 'file', name))
  if (report.valid) {
    packageResult.append(element('p', 'warning',
      `The key came with the package. Confirm with the signer, out of band, that the key ${report.record?.kid ?? ''} ` +
      'is theirs: the package shows that this key signed, not whose key it is.'))
  }
  const list = element('ul', 'checks package-checks')
  for (const check of report.checks) {
    const status = !check.applies ? 'skipped' : check.passed ? 'passed' : 'failed'
    const item = element('li', status)
    const label = { passed: '✓ Passed', failed: '✗ Failed', skipped: '– Does not apply' }[status]
    item.append(element('span', 'status', label), ' ', element('span', 'name', `${check.number}. ${sentence(check.check)}`))
    if (check.failure) item.append(element('p', 'why', sentence(check.failure)))
    if (check.detail) item.append(element('p', 'why detail', sentence(check.detail)))
    list.append(item)
  }
  packageResult.append(list)
  if (report.record) {
    packageResult.append(element('p', '', report.valid ? 'What the record says:' : 'What the record claims (not to be trusted, see above):'))
    packageResult.append(recordDetails(report.record))
  }
  if (report.disclosed) showDisclosed(report.disclosed, report.valid)
  if (report.erased) showErased(report.erased)
}

/**
 * What an erased record's package says of the erasure (given only when check 14
 * passed): the event is gone, and the log recorded by which record, when and why.
 */
function showErased({ by, time, reason }) {
  packageResult.append(element('p', 'hidden',
    'The event of this record was erased: the log no longer holds it, and neither does this package. ' +
    'The record, its signature and its place in the log are still proven; what the event said is not.'))
  const table = element('dl', 'record erased')
  table.append(
    element('dt', '', 'erased by'), element('dd', '', `record ${by} of the same log`),
    element('dt', '', 'at'), element('dd', '', time),
    element('dt', '', 'reason'), element('dd', '', reason),
  )
  packageResult.append(table)
}

/**
 * The members a package discloses of its record's event, each name with its value,
 * and how many it keeps hidden: those are not in the package at all.
 */
function showDisclosed({ disclosed, names, undisclosed }, valid) {
  packageResult.append(element('p', '', valid
    ? `The members of the event this package discloses (${names.length} of ${names.length + undisclosed}):`
    : 'The members the package claims to disclose (not to be trusted, see above):'))
  const table = element('dl', 'record disclosed')
  for (const name of names) {
    table.append(element('dt', '', name), element('dd', '', JSON.stringify(disclosed[name])))
  }
  packageResult.append(table)
  if (undisclosed > 0) {
    packageResult.append(element('p', 'hidden', `${undisclosed} other member${undisclosed === 1 ? ' is' : 's are'} hidden: ` +
      'the record commits to them, but the package does not hold their names or values, and they cannot be recovered from it.'))
  }
}

function showPackageError(error, name) {
  const code = error.code || 'INTERNAL'
  packageResult.className = 'result invalid'
  packageResult.replaceChildren(
    element('p', 'verdict', 'INVALID — this is not an evidence package that can be read, so it proves nothing.'),
    element('p', 'file', name),
    element('p', 'why', code === 'INVALID_ARGUMENT' ? `${sentence(error.message)}.` : EXPLANATIONS.get(code) || ''),
    element('p', 'technical', `${code}: ${error.message}`),
  )
}

/** Reads a package file (no more than one byte beyond the largest archive) and checks it. */
async function checkPackage(file) {
  packageResult.className = 'result'
  packageResult.replaceChildren(element('p', '', `Checking ${file.name}…`))
  try {
    const bytes = new Uint8Array(await file.slice(0, maxPackageArchiveSize() + 1).arrayBuffer())
    showPackage(verifyPackage(bytes), file.name)
  } catch (error) {
    showPackageError(error, file.name)
  }
  packageResult.scrollIntoView({ block: 'nearest' })
}

document.addEventListener('drop', async (e) => {
  e.preventDefault()
  document.body.classList.remove('dragging')
  for (const file of e.dataTransfer.files) {
    if (await isPackage(file)) await checkPackage(file)
    else place(await file.text())
  }
})

packageInput.addEventListener('change', async () => {
  const [file] = packageInput.files
  if (file) await checkPackage(file)
})

button.addEventListener('click', verify)
button.disabled = false
button.textContent = 'Verify'
packageInput.disabled = false
$('version').textContent = version()
