'use strict'

// index.d.ts and index.d.mts describe the real exports: an example using every export compiles
// with tsc --noEmit under strict settings, and every runtime export has a type.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT } = require('./helpers/proc')

test('the typed example compiles with tsc --noEmit', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types')], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('every runtime export is declared in index.d.ts', () => {
  const declared = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const exported = Object.keys(require(ROOT))
  for (const name of exported) assert.match(declared, new RegExp(`export (function ${name}\\(|const ${name}: )`), name)
})
