// docs/API.md is complete and true for JavaScript: every export appears in the
// JavaScript column, and every name there exists.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const evidentia = require('..')

const API_MD = process.env.EVIDENTIA_API_DOC || path.resolve(__dirname, '../../../docs/API.md')
const JS_COLUMN = 4
const CLASSES = ['SigningKey', 'Log', 'Report']

function documentedNames() {
  const text = fs.readFileSync(API_MD, 'utf8')
  const names = []
  for (const line of text.slice(text.indexOf('## Canonical JSON and digests')).split('\n')) {
    const cells = line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim())
    if (line.startsWith('|') && cells.length === 5 && !['Concept', '---'].includes(cells[0])) {
      for (const match of cells[JS_COLUMN].matchAll(/`([^`]+)`/g)) names.push(match[1])
    }
  }
  return names
}

/** A static member, or a method or accessor of instances. */
function exists(name) {
  const [head, member] = name.split('.')
  const target = evidentia[head]
  if (target === undefined) return false
  if (member === undefined) return true
  return member in target || Object.getOwnPropertyDescriptor(target.prototype || {}, member) !== undefined
}

test('every documented name exists', () => {
  const names = documentedNames()
  assert.ok(names.length > 50)
  assert.deepEqual(names.filter((n) => !exists(n)), [])
})

test('every export is documented', () => {
  const names = new Set(documentedNames())
  const exported = Object.keys(evidentia).filter((n) => !n.startsWith('__'))
  for (const cls of CLASSES) {
    const members = [
      ...Object.getOwnPropertyNames(evidentia[cls]).filter((m) => !['length', 'name', 'prototype', 'arguments', 'caller'].includes(m)),
      ...Object.getOwnPropertyNames(evidentia[cls].prototype).filter((m) => !['constructor', 'toString'].includes(m)),
    ]
    exported.push(...members.map((m) => `${cls}.${m}`))
  }
  assert.deepEqual(exported.filter((n) => !names.has(n)), [])
})
