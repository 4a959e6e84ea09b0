// docs/API.md is complete and true for JavaScript: every export appears in the
// JavaScript column, and every name there exists. Run against the WASM build
// (EVIDENTIA_JS_PACKAGE), the names API.md lists as not in it must be absent.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const WASM = Boolean(process.env.EVIDENTIA_JS_PACKAGE)
const evidentia = require(process.env.EVIDENTIA_JS_PACKAGE || '..')

const API_MD = process.env.EVIDENTIA_API_DOC || path.resolve(__dirname, '../../../docs/API.md')
const JS_COLUMN = 4
const CLASSES = ['SigningKey', 'KeySet', 'Log', 'Report']

/** The names on the line of API.md that begins with `start`. */
function namesOfLine(start) {
  const line = fs.readFileSync(API_MD, 'utf8').split('\n').find((l) => l.startsWith(start))
  return new Set([...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]))
}
const notInWasm = () => namesOfLine('Not in the WASM package')
const onlyInWasm = () => namesOfLine('Only in the WASM package')

/** The names of the JavaScript column, less those absent from the build under test. */
function documentedNames() {
  const text = fs.readFileSync(API_MD, 'utf8')
  const absent = WASM ? notInWasm() : new Set()
  const names = []
  for (const line of text.slice(text.indexOf('## Canonical JSON and digests')).split('\n')) {
    const cells = line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim())
    if (line.startsWith('|') && cells.length === 7 && !['Concept', '---'].includes(cells[0])) {
      for (const match of cells[JS_COLUMN].matchAll(/`([^`]+)`/g)) {
        if (!absent.has(match[1]) && !absent.has(match[1].split('.')[0])) names.push(match[1])
      }
    }
  }
  return WASM ? [...names, ...onlyInWasm()] : names
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
  assert.ok(names.length > (WASM ? 30 : 50))
  assert.deepEqual(names.filter((n) => !exists(n)), [])
})

test('the names API.md lists as not in, or only in, the WASM package are so', () => {
  const notIn = [...notInWasm()]
  const onlyIn = [...onlyInWasm()]
  assert.ok(notIn.includes('Log') && onlyIn.includes('Report.free'))
  assert.deepEqual(notIn.filter((n) => exists(n) === WASM), [])
  assert.deepEqual(onlyIn.filter((n) => exists(n) !== WASM), [])
})

test('every export is documented', () => {
  const names = new Set(documentedNames())
  const exported = Object.keys(evidentia).filter((n) => !n.startsWith('__'))
  for (const cls of CLASSES.filter((c) => c in evidentia)) {
    const members = [
      ...Object.getOwnPropertyNames(evidentia[cls]).filter((m) => !['length', 'name', 'prototype', 'arguments', 'caller'].includes(m)),
      ...Object.getOwnPropertyNames(evidentia[cls].prototype).filter((m) => !['constructor', 'toString'].includes(m)),
    ].filter((m) => !m.startsWith('__'))
    exported.push(...members.map((m) => `${cls}.${m}`))
  }
  assert.deepEqual(exported.filter((n) => !names.has(n)), [])
})
