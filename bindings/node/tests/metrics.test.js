// Metrics of the log-integrity indicators, read back in the Prometheus text format.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const evidentia = require('..')

function series (text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  assert.ok(line, `no ${name} in:\n${text}`)
  return Number(line.slice(name.length + 1))
}

test('appends and verifications are counted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidentia-metrics-'))
  try {
    const log = evidentia.Log.create(path.join(dir, 'log'), evidentia.SigningKey.generate(), { logId: 'example.com/node-metrics' })
    for (const n of [1, 2, 3]) log.append({ n })
    assert.equal(log.verify().valid, true)
    log.close()
    const text = evidentia.metrics()
    assert.equal(series(text, 'evidentia_records_appended_total{log="example.com/node-metrics"}'), 3)
    assert.ok(series(text, 'evidentia_append_seconds_count') >= 3)
    assert.ok(series(text, 'evidentia_verifications_total{result="valid"}') >= 1)
    assert.match(text, /# TYPE evidentia_append_seconds histogram/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
