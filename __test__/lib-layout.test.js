'use strict'

// The layout the code keeps (in-process, reading files): index.js is start-up plus exports, no
// module in lib/ or the addon (crates/addon/src/) grows past ~400 lines, lib/ modules never
// require each other in a cycle, the portable crate (crates/core) uses no OS API, what a
// process that never snapshots does not need is loaded on first use, and demo/ and bench/ take
// what they share with the tests from tools/, never from __test__/.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const lines = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1
const listed = (dir, ext) => fs.readdirSync(path.join(ROOT, dir), { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f))

test('index.js is start-up plus exports; lib/ and addon modules stay small', () => {
  assert.ok(lines('index.js') <= 100, `index.js has ${lines('index.js')} lines`)
  const addon = listed('crates/addon/src', '.rs')
  assert.ok(addon.includes(path.join('crates/addon/src', 'lib.rs')), 'the addon lives in crates/addon/src')
  for (const file of [...listed('lib', '.js'), ...addon]) {
    assert.ok(lines(file) <= 400, `${file} has ${lines(file)} lines`)
  }
})

test('the portable crate (crates/core) depends on no OS API: no libc, no std::os::unix', () => {
  // What needs an OS belongs in crates/platform; the analysis and the CLI build for any target
  // (wasm32-wasip1 too) only while this holds.
  const manifest = fs.readFileSync(path.join(ROOT, 'crates/core/Cargo.toml'), 'utf8')
  assert.doesNotMatch(manifest, /^\s*libc\s*=/m, 'crates/core/Cargo.toml depends on libc')
  const sources = listed('crates/core/src', '.rs')
  assert.ok(sources.length > 0)
  for (const file of sources) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    assert.doesNotMatch(text, /std::os::unix|\blibc::|\bcompile_error!/, `${file} uses an OS API`)
  }
})

test('lib/ modules require each other without a cycle', () => {
  const requires = new Map()
  for (const file of listed('lib', '.js')) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    const local = [...text.matchAll(/require\('\.\/([\w-]+)'\)/g)].map((m) => `lib/${m[1]}.js`)
    requires.set(file, local)
  }
  const state = new Map() // file → 'visiting' | 'done'
  const visit = (file, trail) => {
    if (state.get(file) === 'done') return
    assert.notEqual(state.get(file), 'visiting', `cycle: ${[...trail, file].join(' → ')}`)
    state.set(file, 'visiting')
    for (const next of requires.get(file) ?? []) visit(next, [...trail, file])
    state.set(file, 'done')
  }
  for (const file of requires.keys()) visit(file, [])
})

test('require() loads the addon, the settings and the hand-off, nothing else: the snapshot\'s path, the API, profiler, monitor and analyses load on first use', () => {
  // A process pays at require only for answering a signal; the snapshot's path (capture, guard,
  // snapshot, writer) loads on the first request, inside the interrupt when the loop is stuck
  // (signal.test.js proves that one), everything else on its first call.
  const script = `
    const exported = require(${JSON.stringify(ROOT)})
    const loaded = () => Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(ROOT)}, f))
    const atRequire = loaded()
    // The ESM face reads every export, the analyses' too, without loading them.
    const names = Object.keys(exported).concat(Object.keys(exported.analysis)).filter((n) => typeof (exported[n] ?? exported.analysis[n]) === 'function')
    const afterReads = loaded()
    const real = ['api', 'settings', 'memory', 'analysis'].reduce((all, name) => ({ ...all, ...require(require('node:path').join(${JSON.stringify(path.join(ROOT, 'lib'))}, name)) }), {})
    const shapes = names.map((n) => [n, exported[n] ?? exported.analysis[n]]).map(([n, f]) => ({ name: f.name, length: f.length, real: real[n] && { name: real[n].name, length: real[n].length } }))
    console.log(JSON.stringify({ builtins: process.moduleLoadList.filter((m) => /^NativeModule (v8|vm|inspector)$/.test(m)), atRequire, afterReads, names, shapes }))`
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RHEAPDUMP_SIGNAL: undefined, RHEAPDUMP_SAMPLING: undefined, RHEAPDUMP_UPLOAD: undefined } })
  assert.equal(result.status, 0, result.stderr)
  const { builtins, atRequire, afterReads, names, shapes } = JSON.parse(result.stdout)
  assert.deepEqual(builtins, [])
  assert.ok(names.includes('writeSnapshot') && names.includes('summary'), names.join(', '))
  // Exactly what answers a signal: the addon (binding), the settings from the environment (config
  // with environment, options and facts; shared) and the receiver (handoff). Even lib/errors.js
  // and lib/report.js wait for the first error or line. A module added here costs every process.
  const eager = ['lib/binding.js', 'lib/config.js', 'lib/environment.js', 'lib/facts.js', 'lib/handoff.js', 'lib/options.js', 'lib/shared.js']
  assert.ok(atRequire.includes('index.js'))
  assert.deepEqual(atRequire.filter((f) => f.startsWith(`lib${path.sep}`)).sort(), eager)
  const lazy = listed('lib', '.js').filter((file) => !eager.includes(file))
  for (const file of ['lib/capture.js', 'lib/writer.js', 'lib/errors.js', 'lib/api.js', 'lib/analysis.js']) assert.ok(lazy.includes(file), file)
  for (const file of lazy) assert.ok(!afterReads.includes(file), `${file} loaded by reading the exports`)
  // What stands for a function until its module is loaded has that function's name and length.
  for (const shape of shapes.filter((s) => s.real)) assert.deepEqual({ name: shape.name, length: shape.length }, shape.real)
  assert.ok(shapes.filter((s) => s.real).length >= 15, JSON.stringify(shapes))
})

test('require() maps one native module, the addon: the analysis module is mapped by the first analysis, the uploader by upload', { skip: process.env.RHEAPDUMP_FALLBACK === '1' && 'the fallback maps no native module' }, () => {
  const script = `
    const fs = require('node:fs')
    const mapped = () => [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').match(/[^/\\s]+\\.node$/gm))].sort()
    const rheapdump = require(${JSON.stringify(ROOT)})
    const atRequire = mapped()
    rheapdump.analysis.validate('missing.heapsnapshot').catch((err) => {
      console.log(JSON.stringify({ atRequire, afterAnalysis: mapped(), code: err.code }))
    })`
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_UPLOAD: undefined, RHEAPDUMP_SAMPLING: undefined } })
  assert.equal(result.status, 0, result.stderr)
  const { atRequire, afterAnalysis, code } = JSON.parse(result.stdout)
  const suffix = `${process.platform}-${process.arch}`
  assert.deepEqual(atRequire.map((name) => name.split('.')[0]), ['rheapdump'], `mapped at require: ${atRequire}`)
  assert.ok(atRequire[0].startsWith(`rheapdump.${suffix}`), atRequire[0])
  assert.deepEqual(afterAnalysis.map((name) => name.split('.')[0]).sort(), ['rheapdump', 'rheapdump-analysis'], `mapped after an analysis: ${afterAnalysis}`)
  assert.equal(code, 'ENOENT', 'the analysis ran natively and reported the missing file')
})

/**
 * Where `text` (the JavaScript file `file`, relative to ROOT) reaches into __test__/: a require,
 * import or dynamic import whose relative specifier resolves under __test__/, or a string that
 * names __test__ as a path segment (`path.join(ROOT, '__test__', …)`, '__test__/…').
 */
function reachesIntoTests(file, text) {
  const found = []
  const seen = new Set() // where each specifier starts, so a require is not reported twice
  const specifiers = /\brequire\(\s*(['"`])([^'"`]+)\1\s*\)|\bimport\s*\(\s*(['"`])([^'"`]+)\3\s*\)|\bfrom\s*(['"])([^'"]+)\5/g
  for (const m of text.matchAll(specifiers)) {
    const spec = m[2] ?? m[4] ?? m[6]
    seen.add(m.index + m[0].indexOf(spec))
    if (!spec.startsWith('.')) continue
    const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec))
    if (target === '__test__' || target.startsWith(`__test__${path.sep}`)) found.push(`${file}: require('${spec}')`)
  }
  for (const m of text.matchAll(/(['"`])([^'"`\n]*)\1/g)) {
    if (!seen.has(m.index + 1) && /(^|[\\/])__test__([\\/]|$)/.test(m[2])) found.push(`${file}: ${m[0]}`)
  }
  return found
}

test('demo/ and bench/ require nothing under __test__/ (what they share with the tests is in tools/)', () => {
  // The check itself finds each way of reaching in, so that a check that finds nothing cannot pass.
  const broken = [
    "require('../__test__/helpers/proc')",
    'const { x } = require("../__test__")',
    "import('../__test__/fixtures/app.js')",
    "import { y } from '../__test__/z.mjs'",
    "path.join(ROOT, '__test__', 'fixtures', 'heap-app.js')",
    "spawn(node, ['__test__/fixtures/app.js'])",
  ]
  for (const line of broken) assert.equal(reachesIntoTests('bench/x.js', line).length, 1, line)
  assert.deepEqual(reachesIntoTests('bench/x.js', "require('../tools/heapsnapshot'); require('./settings'); require('..')"), [])

  const files = ['demo', 'bench'].flatMap((dir) => [...listed(dir, '.js'), ...listed(dir, '.mjs')])
  assert.ok(files.includes(path.join('demo', 'demo.js')) && files.includes(path.join('bench', 'analysis.js')), files.join(', '))
  const found = files.flatMap((file) => reachesIntoTests(file, fs.readFileSync(path.join(ROOT, file), 'utf8')))
  assert.deepEqual(found, [])
})

test('one writer: only lib/writer.js creates, names and prunes files; the rest say what to write', () => {
  for (const file of listed('lib', '.js')) {
    if (file === path.join('lib', 'writer.js') || file === path.join('lib', 'fallback.js')) continue
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    for (const call of ['createSnapshotFile(', 'pruneSnapshots(', 'checkWritePermission(', 'emitter.emit(']) {
      // lib/fork.js takes the permission check from the writer, which it calls as writer.checkWritePermission.
      const calls = text.split(call).length - 1 - (text.split(`writer.${call}`).length - 1)
      assert.equal(calls, 0, `${file} calls ${call} itself`)
    }
  }
})
