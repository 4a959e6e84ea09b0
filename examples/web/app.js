// The verifier page: reads what the user pasted or dropped, asks Evidentia (the
// WebAssembly module in ./pkg) to verify it, and explains the report in plain words.
// Every check is done by Evidentia's core, which also reads evidence files; this
// file only sorts inputs and shows results. Nothing is sent anywhere (the page's
// Content-Security-Policy forbids it).

import { verifyReceipt, verifyEvidenceFile, errorCodes, version } from './pkg/index.js'

const $ = (id) => document.getElementById(id)
const inputs = { receipt: $('receipt'), jwks: $('jwks'), event: $('event') }
const button = $('verify')
const result = $('result')

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
  if (!receipt) throw new InputError('Paste or drop a receipt first.', 'INVALID_ARGUMENT')
  if (isEvidenceFile(receipt)) {
    if (event) {
      throw new InputError('An evidence file brings its own event: to compare another event, paste the receipt ' +
        'itself instead of the evidence file, or empty the event.', 'INVALID_ARGUMENT')
    }
    return { evidence: receipt, jwks: jwks || undefined, keysFromFile: !jwks }
  }
  if (!jwks) throw new InputError('Paste or drop the signer\'s public keys (a JWKS) too: without them nothing can be checked.', 'INVALID_ARGUMENT')
  return { receipt, jwks, event: event || undefined, keysFromFile: false }
}

/**
 * Verifies an evidence file. What is JSON but no evidence file (INVALID_ARGUMENT)
 * was not checked at all: the page says so, in Evidentia's words.
 */
function verifyEvidence(evidence, jwks) {
  try {
    return verifyEvidenceFile(evidence, jwks)
  } catch (error) {
    if (error.code !== 'INVALID_ARGUMENT') throw error
    throw new InputError(`${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`, error.code)
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

function showReport(report, receipt, keysFromFile) {
  const checks = report.checks
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
    result.append(details)
  }
}

function verify() {
  try {
    const { evidence, receipt, jwks, event, keysFromFile } = collect()
    const report = evidence === undefined ? verifyReceipt(receipt, jwks, event) : verifyEvidence(evidence, jwks)
    try {
      showReport(report, evidence === undefined ? receipt : receiptOf(evidence), keysFromFile)
    } finally {
      report.free()
    }
  } catch (error) {
    showError(error)
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
document.addEventListener('drop', async (e) => {
  e.preventDefault()
  document.body.classList.remove('dragging')
  for (const file of e.dataTransfer.files) place(await file.text())
})

button.addEventListener('click', verify)
button.disabled = false
button.textContent = 'Verify'
$('version').textContent = version()
