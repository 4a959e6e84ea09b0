// Compiled by `tsc --noEmit --strict` in the test suite: index.d.ts describes the
// API as the tests use it.
import * as evidentia from '..'

const key: evidentia.SigningKey = evidentia.SigningKey.generate()
const canonical: Buffer = evidentia.canonicalize({ a: 1 })
const jws: string = key.signJws(new Uint8Array([1, 2]), { detached: true })
const verified: evidentia.VerifiedJws = evidentia.verifyJws(jws, key.publicJwk(), canonical)
const kid: string = verified.kid
const report: evidentia.Report = evidentia.verifyReceipt('receipt', key.publicJwk(), { a: 1 })
const findings: Array<{ code: number; name: string; index: number | null }> = report.findings
const fromFile: evidentia.Report = evidentia.verifyEvidenceFile('{}')
const withKeys: evidentia.Report = evidentia.verifyEvidenceFile(new Uint8Array([123, 125]), key.publicJwk())
const log: evidentia.Log = evidentia.Log.create('dir', key, { logId: 'example.com/log', mode: 'batch' })
const receipt: string = log.append({ a: 1 }, { nonce: 'n', time: '2026-01-01T00:00:00Z' })
const later: Promise<evidentia.Report> = log.verifyAsync()
const lines: Promise<string[]> = log.appendBatchAsync([{ a: 1 }])
const checkpoint: evidentia.Checkpoint = evidentia.verifyCheckpoint(log.checkpoint(), log.keys())
const size: number = checkpoint.size + log.length
const codes: evidentia.ErrorCodeInfo[] = evidentia.errorCodes()
const imported: evidentia.Log = evidentia.Log.create('dir', key, { validFrom: '2026-01-01T00:00:00Z' })
const retried: string = imported.append({ a: 1 }, { nonce: 'n', idempotent: true })
const found: number | null = imported.findNonce('n')
const recovery: Record<string, unknown> = imported.recovery()
const waited: evidentia.Log = evidentia.Log.open('dir', key, { wait: 1.5 })
const reader: evidentia.Log = evidentia.Log.open('dir', undefined, { wait: 0 })
const indexed: evidentia.Log = evidentia.Log.create('dir', key, { indexFields: ['instruction_id'] })
const hits: number[] = indexed.find('instruction_id', 'INS-1')
indexed.addIndexField('order')
const partner: evidentia.PartnerVerified = evidentia.verifyPartnerJws('a.b.c', { keys: [] }, new Uint8Array(0))
const partnerKid: string | undefined = partner.kid
evidentia.verifyPartnerSignature('PS256', '{"kty":"RSA"}', new Uint8Array(1), new Uint8Array(1))
const ack: string = indexed.recordMessage('a.b.c', '{"keys":[]}', { provenance: { partner_id: 'p' }, direction: 'outbound', link: 0, recordFailure: true, nonce: 'n', time: '2026-01-01T00:00:00Z' })
const acked: Promise<string> = indexed.recordMessageAsync('a.b.c', { keys: [] })
const shown: Record<string, unknown> | null = indexed.message(0)
const again: Record<string, unknown> = indexed.verifyMessage(0)
const read: Record<string, unknown> | null = evidentia.readSignedMessage({ evidentia_signed_message: {} })

// Signers: a key held elsewhere, answering at once or with a Promise.
const signer: evidentia.Signer = { publicJwk: key.publicJwk(), sign: (message: Buffer) => Buffer.from(message), signTimeoutMs: 5000 }
const kms: evidentia.Signer = { publicJwk: key.publicJwk(), sign: async (message: Buffer) => new Uint8Array(message) }
const signed: string = new evidentia.ReceiptChain('a.example/s').issue(signer, { n: 1 })
const signedLater: Promise<string> = new evidentia.ReceiptChain('a.example/s').issueAsync(kms, { n: 1 })
const sealed: Promise<string> = evidentia.Log.create('dir', kms).checkpointAsync()
const created: Promise<evidentia.Log> = evidentia.Log.createAsync('dir', kms, { mode: 'batch' })
// @ts-expect-error: a signer has a public JWK
evidentia.Log.create('dir', { sign: (message: Buffer) => message })

// @ts-expect-error: payloads are bytes, not strings
key.signJws('text')
// @ts-expect-error: an evidence file is JSON text, not a value
evidentia.verifyEvidenceFile({ receipt: 'r' })
// @ts-expect-error: the mode is an option, not a positional argument
evidentia.Log.create('dir', key, 'batch')
// @ts-expect-error: the wait is an option, not a positional argument
evidentia.Log.open('dir', key, 1.5)

// @ts-expect-error: the direction is inbound or outbound
indexed.recordMessage('a.b.c', '{}', { direction: 'sideways' })

export { kid, findings, fromFile, withKeys, receipt, later, lines, size, codes, retried, found, recovery, waited, reader }
export { hits, partnerKid, ack, acked, shown, again, read, signed, signedLater, sealed, created }
