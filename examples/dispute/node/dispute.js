// A disputed payment, two years on. The card issuer signs an authorization (PS256,
// with `jose`); the scheme's service records it in a log with the issuer's keys as
// they were and where it got them. The issuer then rotates its keys. Two years
// later a cardholder disputes the payment: the service finds the record by its
// instruction id, checks the signature again with the keys recorded with it (the
// issuer's current key set no longer has that key), and hands over an evidence
// package that anyone can check with OpenSSL alone.
const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
const { execFileSync } = require('node:child_process')
const evidentia = require('evidentia')

const DAY = 24 * 3600 * 1000
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

async function main() {
  const jose = await import('jose')
  const now = Date.now()
  const twoYearsAgo = now - 730 * DAY

  // The issuer's key of two years ago, and its published key set (JWKS) then.
  const old = await jose.generateKeyPair('PS256', { modulusLength: 2048, extractable: true })
  const oldJwk = { ...(await jose.exportJWK(old.publicKey)), kid: 'issuer-2024', alg: 'PS256', use: 'sig' }
  const jwksThen = { keys: [oldJwk] }

  // The issuer authorizes a payment.
  const authorization = {
    instruction_id: 'INS-2024-000042',
    amount: '1250.00',
    currency: 'EUR',
    payee: 'Hotel Example',
    decision: 'approved',
    iat: Math.floor(twoYearsAgo / 1000),
  }
  const jws = await new jose.CompactSign(Buffer.from(JSON.stringify(authorization)))
    .setProtectedHeader({ alg: 'PS256', kid: 'issuer-2024' })
    .sign(old.privateKey)

  // The scheme's service records it, with the keys and where they came from.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-dispute-'))
  const logDir = path.join(dir, 'authorizations')
  const log = evidentia.Log.create(logDir, evidentia.SigningKey.generate(), {
    logId: 'scheme.example/authorizations',
    validFrom: iso(twoYearsAgo - DAY),
    indexFields: ['instruction_id'],
  })
  const ack = log.recordMessage(jws, jwksThen, {
    direction: 'inbound',
    provenance: {
      jwks_url: 'https://issuer.example/.well-known/jwks.json',
      fetched_at: iso(twoYearsAgo - 3600 * 1000),
      partner_id: 'issuer.example',
      established_by: 'onboarding agreement 2023-117, key set fetched over TLS',
    },
    time: iso(twoYearsAgo),
  })
  console.log(`recorded ${iso(twoYearsAgo)}: ${ack.slice(0, 40)}…`)

  // The issuer rotates its keys: its key set no longer has the old one.
  const fresh = await jose.generateKeyPair('PS256', { modulusLength: 2048, extractable: true })
  const jwksNow = { keys: [{ ...(await jose.exportJWK(fresh.publicKey)), kid: 'issuer-2026', alg: 'PS256', use: 'sig' }] }

  // Two years later, the dispute.
  const [index, ...more] = log.find('instruction_id', 'INS-2024-000042')
  if (index === undefined || more.length > 0) throw new Error('the authorization should be recorded once')
  const message = log.message(index)
  console.log(`found record ${index}: ${message.direction} message, ${message.verification.alg}, key ${message.verification.key_thumbprint}`)
  console.log(`  payload: ${JSON.stringify(message.payload)}`)
  console.log(`  provenance: ${JSON.stringify(message.provenance)}`)
  try {
    evidentia.verifyPartnerJws(jws, jwksNow)
    throw new Error('the issuer\'s current keys should not verify the old authorization')
  } catch (error) {
    if (!error.code) throw error
    console.log(`with the issuer's current key set: ${error.code}`)
  }
  const checked = log.verifyMessage(index)
  console.log(`checked again with the keys recorded: ${checked.status} (agrees with the result recorded: ${checked.agrees})`)
  const report = log.verify()
  console.log(`the log: ${report.summary}`)

  // The evidence package, checked with OpenSSL alone.
  log.checkpoint()
  const archive = log.exportPackage(index, path.join(dir, 'package'))
  console.log(`exported ${path.basename(archive)}; sh verify.sh:`)
  const output = execFileSync('sh', ['verify.sh'], { cwd: path.join(dir, 'package'), encoding: 'utf8' })
  process.stdout.write(output)
  log.close()
  fs.rmSync(dir, { recursive: true })
  if (!checked.valid || !report.valid) process.exit(1)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
