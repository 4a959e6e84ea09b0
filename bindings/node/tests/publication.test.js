// A log published as C2SP tlog-tiles (SPEC.md §24): published, published again with
// what is new, and verified from its folder with the log's keys.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

test('a log is published and its publication verifies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-tiles-'))
  try {
    const logDir = path.join(dir, 'log')
    const published = path.join(dir, 'published')
    const log = evidentia.Log.create(logDir, evidentia.SigningKey.generate(), { logId: 'example.com/node-tiles' })
    log.appendBatch(Array.from({ length: 300 }, (_, n) => ({ n })))
    log.checkpoint()
    const jwks = log.keys()
    assert.deepEqual(evidentia.publishLog(logDir, published), { files_written: 5, note_signed: false, previous_size: 0, size: 300 })
    log.append({ n: 300 })
    log.checkpoint()
    log.close()
    const again = evidentia.publishLog(logDir, published)
    assert.deepEqual([again.previous_size, again.size], [300, 301])
    assert.ok(fs.statSync(path.join(published, 'tile/entries/001.p/45')).isFile())
    const report = evidentia.verifyPublication(published, jwks)
    assert.equal(report.valid, true)
    assert.equal(report.records, 301)

    // A changed leaf hash is found; a missing tile makes the publication unreadable.
    const tile = path.join(published, 'tile/0/000')
    const bytes = fs.readFileSync(tile)
    bytes[0] ^= 1
    fs.writeFileSync(tile, bytes)
    assert.deepEqual(evidentia.verifyPublication(published, jwks).failureCodes, ['TREE_MISMATCH'])
    fs.rmSync(tile)
    assert.throws(() => evidentia.verifyPublication(published, jwks), { code: 'LOG_CORRUPT' })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
