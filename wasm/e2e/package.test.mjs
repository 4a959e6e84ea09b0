// Evidence packages (.tar.gz) checked by the verifier page (examples/web) in real
// headless Chromium, offline: valid receipt and batch packages, one with a real
// RFC 3161 timestamp, tampered ones, files that are no package, a package dropped
// on the page, and every conformance case given as a .tar.gz. Run by
// `cargo xtask test wasm`.
//
//   EVIDENTIA_WEB_PKG     the web build of the WASM package
//   EVIDENTIA_CLI         the evidentia command, which makes the timestamped package
//   EVIDENTIA_SCREENSHOT  where the screenshots go (…-package.png, …-package-tampered.png)

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { openVerifier } from './browser.mjs'

const CASES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testvectors/conformance/cases')
const archive = (name) => readFileSync(path.join(CASES, 'package', name, 'package.tar.gz'))
const screenshot = (suffix) => (process.env.EVIDENTIA_SCREENSHOT || 'verifier.png').replace(/\.png$/, `-${suffix}.png`)

/** The files of a tar archive: name, and where the data starts and how long it is. */
function members(tar) {
  const found = []
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const field = (start, length) => tar.subarray(at + start, at + start + length).toString('latin1').replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim(), 8)
    found.push({ name: field(0, 100), offset: at + 512, size })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return found
}

/**
 * A valid package with its event changed, and its SHA256SUMS line made to match:
 * the sums hold, but the event is no longer the one the record commits to.
 */
function withEventChanged(gz) {
  const tar = gunzipSync(gz)
  const file = (name) => members(tar).find((m) => m.name === `package/${name}`)
  const event = file('event.json')
  const original = tar.subarray(event.offset, event.offset + event.size).toString('utf8')
  const changed = original.replace('"200.00"', '"900.00"')
  assert.notEqual(changed, original)
  tar.write(changed, event.offset, 'utf8')
  const sums = file('SHA256SUMS')
  const text = tar.subarray(sums.offset, sums.offset + sums.size).toString('utf8')
  const digest = (data) => createHash('sha256').update(data).digest('hex')
  tar.write(text.replace(digest(original), digest(changed)), sums.offset, 'utf8')
  return gzipSync(tar)
}

/**
 * A package whose checkpoint has a real RFC 3161 timestamp: a log made with the
 * CLI, stamped by `openssl ts -reply` with a throwaway CA, and exported.
 */
function timestampedPackage() {
  const cli = process.env.EVIDENTIA_CLI
  if (!cli) throw new Error('EVIDENTIA_CLI must name the evidentia command (cargo xtask test wasm sets it)')
  const dir = mkdtempSync(path.join(tmpdir(), 'evidentia-stamped-'))
  try {
    const run = (command, ...args) => execFileSync(command, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const write = (name, text) => writeFileSync(path.join(dir, name), text)
    run(cli, 'keygen', '--out', 'log.jwk')
    run(cli, 'log', 'init', 'log', '--key', 'log.jwk', '--id', 'example.com/stamped')
    write('event.json', '{"type":"payment.approved","amount":"75.00","currency":"EUR"}')
    run(cli, 'log', 'append', 'log', 'event.json')
    run(cli, 'log', 'checkpoint', 'log')
    const p256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    run('openssl', 'req', '-x509', '-new', ...p256, '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650',
      '-subj', '/O=Evidentia tests/CN=Test TSA Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    run('openssl', 'req', '-new', ...p256, '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/O=Evidentia tests/CN=Test TSA')
    write('tsa.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n')
    run('openssl', 'x509', '-req', '-in', 'tsa.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
      '-days', '3000', '-out', 'tsa.pem', '-extfile', 'tsa.ext')
    write('serial', '01\n')
    write('tsa.cnf', `[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = ${dir}\nserial = $dir/serial\n` +
      'signer_cert = $dir/tsa.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n' +
      'digests = sha256\naccuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n')
    run(cli, 'timestamp', 'request', 'log', '--out', 'stamp.tsq')
    run('openssl', 'ts', '-reply', '-config', 'tsa.cnf', '-queryfile', 'stamp.tsq', '-out', 'stamp.tsr')
    run(cli, 'timestamp', 'attach', 'log', '--response', 'stamp.tsr', '--request', 'stamp.tsq', '--ca', 'root.pem')
    run(cli, 'export', 'log', '--index', '0', '--out', 'package')
    return readFileSync(path.join(dir, 'package.tar.gz'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

let verifier
let page

before(async () => {
  verifier = await openVerifier()
  page = verifier.page
})

after(async () => {
  await verifier?.close()
})

/** Chooses a file in the page's package picker; returns the package result's text once shown. */
async function choose(name, buffer) {
  const result = page.getByTestId('package-result')
  await result.evaluate((node) => node.replaceChildren())
  await page.getByTestId('package-input').setInputFiles({ name, mimeType: 'application/gzip', buffer })
  await page.waitForFunction(() => /^(VALID|INVALID)/.test(document.querySelector('[data-testid=package-result]').innerText))
  return (await result.innerText()).trim()
}

/** The status shown for each check of the package result, by number. */
async function statuses() {
  const rows = await page.getByTestId('package-result').locator('li').allInnerTexts()
  return Object.fromEntries(rows.map((row) => {
    const [, status, number] = row.match(/^(✓ Passed|✗ Failed|– Does not apply)\s+(\d+)\./)
    return [Number(number), status]
  }))
}

test('a valid receipt package shows VALID, every check in plain words, and what the record says', async () => {
  const text = await choose('package.tar.gz', archive('002-receipt-package-archive'))
  assert.match(text, /^VALID — every check of this evidence package passed \(7 of 7\)/)
  assert.deepEqual(await statuses(), {
    1: '✓ Passed', 2: '✓ Passed', 3: '✓ Passed', 4: '✓ Passed', 5: '✓ Passed', 6: '✓ Passed', 7: '✓ Passed',
    8: '– Does not apply', 11: '– Does not apply',
  })
  assert.match(text, /1\. Every file matches its SHA-256 in SHA256SUMS/)
  assert.match(text, /The package has no trusted timestamp: the record's time is the signer's own statement/)
  assert.match(text, /Confirm with the signer, out of band, that the key \S+ is theirs/)
  assert.match(text, /Entry number\s+1/)
  assert.match(text, /7\. event\.json is the event the record commits to/)
  assert.match(text, /Recorded at \(UTC\)\s+\d{4}-\d\d-\d\dT/)
  await page.screenshot({ path: screenshot('package'), fullPage: true })
})

test('a batch package, and one whose checkpoint carries a real RFC 3161 timestamp', async () => {
  assert.match(await choose('batch.tar.gz', archive('004-batch-package-archive')), /^VALID/)
  const text = await choose('stamped.tar.gz', timestampedPackage())
  // A new log's record is of version 2: its package discloses the event's members (check 13).
  assert.match(text, /^VALID — every check of this evidence package passed \(9 of 9\)/)
  assert.equal((await statuses())[8], '✓ Passed')
  assert.equal((await statuses())[13], '✓ Passed')
  assert.match(text, /The checkpoint existed at \d{4}-\d\d-\d\dT\S+ by \S[^\n]*Test TSA/)
  assert.match(text, /Log\s+example\.com\/stamped/)
})

test('a witnessed package shows which witnesses cosigned its checkpoint, and one whose quorum is not met fails check 12', async () => {
  const named = (suffix) => readdirSync(path.join(CASES, 'package')).find((name) => name.endsWith(suffix))
  const text = await choose('witnessed.tar.gz', archive(named('-witnessed-package-archive')))
  assert.match(text, /^VALID — every check of this evidence package passed \(8 of 8\)/)
  assert.equal((await statuses())[12], '✓ Passed')
  assert.match(text, /12\. Witnesses named in witness-policy\.txt cosigned the checkpoint/)
  assert.match(text, /cosigned by w1 at \d{4}-\d\d-\d\dT\S+, w2 at/)
  assert.match(text, /compare it with the policy you trust/)
  await page.screenshot({ path: screenshot('package-witnessed'), fullPage: true })
  const refused = await choose('witnessed.tar.gz', archive(named('-witnessed-quorum-of-all-archive')))
  assert.match(refused, /^INVALID — this evidence package proves nothing: 1 of 8 checks failed/)
  assert.equal((await statuses())[12], '✗ Failed')
  assert.match(refused, /do not meet the quorum of witness-policy\.txt/)
})

test('a package disclosing two members of the event shows them, and that the others are hidden', async () => {
  const named = readdirSync(path.join(CASES, 'package')).find((name) => name.endsWith('-disclosing-two-members-archive'))
  const text = await choose('disclosed.tar.gz', archive(named))
  assert.match(text, /^VALID — every check of this evidence package passed/)
  assert.equal((await statuses())[13], '✓ Passed')
  assert.match(text, /The members of the event this package discloses \(2 of 4\):/)
  assert.match(text, /amount\s+"1250\.00"/)
  assert.match(text, /currency\s+"EUR"/)
  assert.match(text, /2 other members are hidden: the record commits to them, but the package does not hold/)
  assert.doesNotMatch(text, /Ada Lovelace|DE89|iban/)
  await page.screenshot({ path: screenshot('package-disclosed'), fullPage: true })
})

test('the package of an erased record shows that its event was erased, by which record, when and why', async () => {
  const named = readdirSync(path.join(CASES, 'package')).find((name) => name.endsWith('-erased-record-archive'))
  const text = await choose('erased.tar.gz', archive(named))
  assert.match(text, /^VALID — every check of this evidence package passed \(7 of 7\)/)
  const shown = await statuses()
  assert.equal(shown[7], '– Does not apply')
  assert.equal(shown[14], '✓ Passed')
  assert.match(text, /The event of this record was erased: the log no longer holds it/)
  assert.match(text, /erased by\s+record 2 of the same log/)
  assert.match(text, /reason\s+GDPR Art\. 17 request 2026-118/)
  assert.doesNotMatch(text, /Ada Lovelace|DE89/)
  await page.screenshot({ path: screenshot('package-erased'), fullPage: true })
})

test('tampered packages show INVALID, naming the check that failed and why', async () => {
  const event = await choose('package.tar.gz', withEventChanged(archive('002-receipt-package-archive')))
  assert.match(event, /^INVALID — this evidence package proves nothing: 1 of 7 checks failed/)
  assert.equal((await statuses())[7], '✗ Failed')
  assert.equal((await statuses())[1], '✓ Passed')
  assert.match(event, /What the record claims \(not to be trusted, see above\)/)
  assert.doesNotMatch(event, /Confirm with the signer/)
  await page.screenshot({ path: screenshot('package-tampered'), fullPage: true })
  const record = await choose('package.tar.gz', archive('017-archive-file-changed-after-the-sums'))
  assert.match(record, /^INVALID/)
  assert.equal((await statuses())[1], '✗ Failed')
  assert.match(record, /record\.json/)
})

test('what is no package is refused, saying why, and the page keeps working', async () => {
  for (const [name, bytes, why] of [
    ['notes.tar.gz', Buffer.from('hello, world'), /not a package \.tar\.gz/],
    ['empty.tar.gz', Buffer.alloc(0), /not a package \.tar\.gz/],
    ['link.tar.gz', archive('046-archive-symlink'), /symbolic link/],
    ['twice.tar.gz', archive('050-archive-duplicate-name'), /in it twice/],
    ['after.tar.gz', archive('058-archive-data-after-the-end'), /data after the end of the archive/],
  ]) {
    const text = await choose(name, bytes)
    assert.match(text, /^INVALID — this is not an evidence package that can be read, so it proves nothing\./, name)
    assert.match(text, why, name)
    assert.match(text, /INVALID_ARGUMENT: /, name)
  }
  assert.match(await choose('package.tar.gz', archive('002-receipt-package-archive')), /^VALID/)
})

test('a package dropped on the page is checked as a package', async () => {
  await page.getByTestId('package-result').evaluate((node) => node.replaceChildren())
  const bytes = [...archive('002-receipt-package-archive')]
  const transfer = await page.evaluateHandle((bytes) => {
    const transfer = new DataTransfer()
    transfer.items.add(new File([new Uint8Array(bytes)], 'evidence-0.tar.gz'))
    return transfer
  }, bytes)
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer })
  await page.waitForFunction(() => /^VALID/.test(document.querySelector('[data-testid=package-result]').innerText))
  assert.match(await page.getByTestId('package-result').innerText(), /evidence-0\.tar\.gz/)
  assert.equal(await page.getByTestId('receipt-input').inputValue(), '')
})

test('every conformance package given as a .tar.gz gets its expected verdict in the browser', async () => {
  const cases = readdirSync(path.join(CASES, 'package'))
    .map((name) => ({ name, folder: path.join(CASES, 'package', name) }))
    .map((c) => ({ ...c, expected: JSON.parse(readFileSync(path.join(c.folder, 'expected.json'), 'utf8')) }))
    .filter((c) => statSync(path.join(c.folder, c.expected.inputs.package)).isFile())
    .map((c) => ({
      name: c.name,
      verdict: c.expected.verdict,
      code: c.expected.code,
      archive: readFileSync(path.join(c.folder, c.expected.inputs.package)).toString('base64'),
    }))
  assert.equal(cases.length, 33)
  const wrong = await page.evaluate(async (cases) => {
    const { verifyPackage } = await import('/pkg/index.js')
    const wrong = []
    for (const kase of cases) {
      const bytes = Uint8Array.from(atob(kase.archive), (c) => c.charCodeAt(0))
      let got
      try {
        got = verifyPackage(bytes).valid ? 'valid' : 'invalid'
      } catch (error) {
        got = kase.code === error.code ? 'malformed' : `thrown ${error.code}: ${error.message}`
      }
      if (got !== kase.verdict) wrong.push(`${kase.name}: ${got}, expected ${kase.verdict}`)
    }
    return wrong
  }, cases)
  assert.deepEqual(wrong, [])
})

test('nothing but the page itself was loaded, and nothing went wrong in it', () => {
  assert.deepEqual(verifier.problems, [])
})
