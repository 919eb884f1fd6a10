'use strict'

// One error table: every `code` rheapdump gives is in lib/errors.js (CODES), in index.d.ts
// (RheapdumpErrorCode), and written somewhere in the sources that make errors; none of the
// three has a code the others lack. In-process: it reads files and requires lib/errors.js.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT } = require('./helpers/proc')
const { CODES, ERRNO_CODES, guardError, binaryError, addonsForbiddenError, noAddonError, fileError, heapdumpError } = require('../lib/errors')

/** Every file the codes can come from: the JS entry and lib/, the three native modules, crates/core and crates/platform, the analysis' failures, requests and profiles. */
function sources() {
  const listed = (dir, ext) => fs.readdirSync(path.join(ROOT, dir), { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f))
  return ['index.js', ...listed('lib', '.js'), ...listed('crates/addon/src', '.rs'), ...listed('crates/upload-addon/src', '.rs'), ...listed('crates/analysis-addon/src', '.rs'), ...listed('crates/core/src', '.rs'), ...listed('crates/platform/src', '.rs'), ...listed('crates/cli/src', '.rs'), 'crates/analysis/src/failure.rs', 'crates/analysis/src/run.rs', 'crates/analysis/src/profile.rs']
    .filter((file) => file !== 'lib/errors.js')
}

/** ERR_ codes written in the sources as code (string literals), not prose in comments. */
function codesInSources() {
  const found = new Map()
  for (const file of sources()) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
      .join('\n')
    for (const [, code] of text.matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
      if (!found.has(code)) found.set(code, file)
    }
  }
  return found
}

function declaredCodes() {
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const union = (name) => {
    const match = new RegExp(`export type ${name} =([\\s\\S]*?)\\n\\n`).exec(dts)
    assert.ok(match, `index.d.ts declares ${name}`)
    return [...match[1].matchAll(/'([A-Z0-9_]+)'/g)].map((m) => m[1])
  }
  return { codes: union('RheapdumpErrorCode'), errno: union('ErrnoCode') }
}

test('every ERR_ code in the sources is in the table, and every code in the table is made somewhere', () => {
  const used = codesInSources()
  const table = Object.keys(CODES).filter((code) => code !== 'ERRNO')
  for (const [code, file] of used) assert.ok(table.includes(code), `${code} (${file}) is missing from CODES in lib/errors.js`)
  // Codes made by lib/errors.js's own constructors (after the table) count as used.
  const errors = fs.readFileSync(path.join(ROOT, 'lib', 'errors.js'), 'utf8')
  const own = errors.slice(errors.indexOf('\n}\n', errors.indexOf('const CODES')))
  for (const code of table) {
    assert.ok(used.has(code) || own.includes(`'${code}'`), `${code} is in CODES but no source makes it`)
  }
})

test('index.d.ts declares exactly the codes of the table', () => {
  const { codes, errno } = declaredCodes()
  const table = Object.keys(CODES).filter((code) => code !== 'ERRNO')
  assert.deepEqual([...codes].sort(), [...table].sort())
  assert.deepEqual([...errno].sort(), [...ERRNO_CODES].sort())
  assert.match(fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8'), /RheapdumpErrorCode =\s*\|\s*ErrnoCode/)
})

test("the errno names are the ones crates/core (by kind) and crates/platform (by the OS's number) give, EIO for the rest", () => {
  const named = ['crates/core/src/errno.rs', 'crates/platform/src/linux/errno.rs']
    .flatMap((file) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/=> "(E[A-Z]+)"/g)].map((m) => m[1]))
  assert.deepEqual([...new Set(named)].sort(), [...ERRNO_CODES].sort())
})

test('every entry says what it means, and where it is made: files, or directories ending in /, that exist and name the code', () => {
  // lib/errors.js names every code in its table: only its constructors, after the table, count.
  const read = (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    return file === 'lib/errors.js' ? text.slice(text.indexOf('\n}\n', text.indexOf('const CODES'))) : text
  }
  const under = (dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)))
  for (const [code, entry] of Object.entries(CODES)) {
    assert.ok(entry.meaning.length > 10, `${code}: meaning`)
    // ERRNO stands for the errno names: its places name one of them.
    const names = code === 'ERRNO' ? ERRNO_CODES : [code]
    for (const place of entry.at.split(', ')) {
      const stat = fs.statSync(path.join(ROOT, place), { throwIfNoEntry: false })
      assert.ok(stat && (place.endsWith('/') ? stat.isDirectory() : stat.isFile()), `${code}: ${place} is a ${place.endsWith('/') ? 'directory' : 'file'}`)
      const files = place.endsWith('/') ? under(place) : [place]
      assert.ok(files.some((file) => names.some((name) => read(file).includes(name))), `${code}: ${place} does not name it`)
    }
  }
})

test('errors carry their code, path and a message that names it', () => {
  const refused = guardError('ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', '/tmp', 100, 10, 'it would need more')
  assert.equal(refused.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.equal(refused.path, '/tmp')
  assert.equal(refused.needed, 100)
  assert.equal(refused.available, 10)
  assert.match(refused.message, /refused: it would need more; pass \{ force: true \}/)

  const failed = fileError({ code: 'ENOSPC', syscall: 'write', path: '/x', description: 'no space left on device' })
  assert.equal(failed.message, "rheapdump: cannot write heap snapshot: ENOSPC: no space left on device, write '/x'")
  const compat = heapdumpError(failed)
  assert.equal(compat.message, 'heapdump write error ENOSPC')
  assert.equal(compat.code, 'ENOSPC')
  assert.equal(compat.cause, failed)

  assert.equal(binaryError('a.node', '/pkg', [new Error('a.node: bad ELF')]).code, 'ERR_RHEAPDUMP_BINARY')
  assert.match(binaryError('a.node', '/pkg', [new Error('a.node: bad ELF')]).message, /looked for a\.node in \/pkg; a\.node: bad ELF/)
  assert.equal(addonsForbiddenError().code, 'ERR_DLOPEN_DISABLED')
  assert.equal(noAddonError('snapshot analysis').code, 'ERR_RHEAPDUMP_NO_ADDON')
})
