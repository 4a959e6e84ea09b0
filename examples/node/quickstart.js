// Sign events into a log, hand out a receipt, verify it offline (README example).
const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
const evidentia = require('evidentia')

const key = evidentia.SigningKey.generate()
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-'))
const log = evidentia.Log.create(path.join(dir, 'payments'), key, { logId: 'example.com/payments' })
const receipt = log.append({ type: 'payment.approved', amount: '1250.00', currency: 'EUR' })
const salt = log.salt(0) // the record commits to its event under this salt: keep it with the receipt
const report = evidentia.verifyReceipt(receipt, key.publicJwk(), { currency: 'EUR', amount: '1250.00', type: 'payment.approved' }, salt)
console.log(report.summary) // VALID: receipt, all 4 checks passed
log.verifyAsync().then((all) => { log.close(); fs.rmSync(dir, { recursive: true }); if (!report.valid || !all.valid) process.exit(1) })
