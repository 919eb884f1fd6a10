'use strict'

// index.d.ts and index.d.mts describe the real exports: an example using every export compiles
// with tsc --noEmit under strict settings, and every runtime export has a type. index.js and
// lib/ type-check against the addon's contract, lib/addon.d.ts, which is what the Rust side
// generates (scripts/binding-types.js).

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const tsc = (project) => spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' })

test('the typed example compiles with tsc --noEmit', () => {
  const result = tsc(path.join(__dirname, 'types'))
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('index.js and lib/ type-check against the binding generated from the Rust side', () => {
  const result = tsc(ROOT)
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('lib/addon.d.ts is what the Rust side generates now (no diff after regenerating it)', () => {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'binding-types.js'), '--check'], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})

test('a call the binding does not have fails the type check', () => {
  // The check must be able to fail: a copy of lib/ with one call misspelt, one with a wrong
  // argument, checked with the same settings.
  const copy = fs.mkdtempSync(path.join(ROOT, 'target', 'tscheck-'))
  try {
    fs.cpSync(path.join(ROOT, 'lib'), path.join(copy, 'lib'), { recursive: true })
    fs.copyFileSync(path.join(ROOT, 'index.js'), path.join(copy, 'index.js'))
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))
    config.compilerOptions.typeRoots = [path.join(ROOT, 'node_modules', '@types')]
    fs.writeFileSync(path.join(copy, 'tsconfig.json'), JSON.stringify(config))
    const handoff = path.join(copy, 'lib', 'handoff.js')
    const source = fs.readFileSync(handoff, 'utf8')
    for (const [from, to, expected] of [
      ['native.claimRequest()', 'native.claimRequests()', /Property 'claimRequests' does not exist/],
      ['native.setInterrupts(config.watchdog)', 'native.setInterrupts()', /Expected 1 arguments, but got 0/],
      ['native.setInterrupts(config.watchdog)', "native.setInterrupts('on')", /not assignable to parameter of type 'boolean'/],
    ]) {
      assert.ok(source.includes(from), from)
      fs.writeFileSync(handoff, source.replace(from, to))
      const result = tsc(copy)
      assert.notEqual(result.status, 0, `${to} passed the type check`)
      assert.match(result.stdout, expected)
    }
  } finally {
    fs.rmSync(copy, { recursive: true, force: true })
  }
})

test('every runtime export is declared in index.d.ts', () => {
  const declared = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const exported = Object.keys(require(ROOT))
  for (const name of exported) assert.match(declared, new RegExp(`export (function ${name}\\(|const ${name}: )`), name)
})
