'use strict'

// The one analysis entry point: every analysis the command line has resolves, through the JS
// API, to what `rheapdump … --json` prints on the same files — through the native analysis
// module and through the portable program (RHEAPDUMP_FALLBACK=1: lib/wasi.js) alike — and a bad
// request is refused by Rust with ERR_INVALID_ARG_VALUE, naming the field, on both paths.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT, runScript } = require('./helpers/proc')
const { makeLeakyInputs } = require('./helpers/inputs')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-entry-'))
const at = (name) => path.join(dir, name)
const [baseline, target, final] = ['baseline', 'target', 'final'].map((name) => at(`${name}.heapsnapshot`))

before(() => {
  makeLeakyInputs(dir)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The command's JSON report (check prints it when over budget too, with status 1). */
function printed(args) {
  const run = spawnSync(CLI, [...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 })
  assert.ok(run.status === 0 || (args[0] === 'check' && run.status === 1), `${args.join(' ')}: ${run.stderr}`)
  return JSON.parse(run.stdout)
}

/** A leaking object's id, as leaks names it. */
const leakId = () => printed(['leaks', baseline, target, final]).groups[0].path.at(-1).id

/**
 * Each analysis as a JS call and as a command line that must print the same report. `written`
 * names what a call writes, `${written}` standing for the file, so that each writer gets a file of
 * its own: the command `cli-…`, the JS API `<who>-…`.
 */
function calls(id, who) {
  const out = (name) => at(`${who}-${name}`)
  return [
    ['summary', [final, { top: 5 }], ['summary', final, '--top', '5']],
    ['summary', [final, { source: 'leaky-app.js', top: 3 }], ['summary', final, '--source', 'leaky-app.js', '--top', '3']],
    ['instances', [final, 'Leak', { top: 3 }], ['summary', final, '--class', 'Leak', '--top', '3']],
    ['instances', [final, 'Leak', { before: baseline, top: 2 }], ['diff', baseline, final, '--class', 'Leak', '--top', '2']],
    ['diff', [baseline, final, { top: 4, match: 'structure' }], ['diff', baseline, final, '--top', '4', '--match', 'structure']],
    ['leaks', [baseline, target, final, { top: 3, byPath: true }], ['leaks', baseline, target, final, '--top', '3', '--by-path']],
    ['leaks', [baseline, target, final, { package: '(app)' }], ['leaks', baseline, target, final, '--package', '(app)']],
    ['path', [final, id, { max: 2 }], ['path', final, String(id), '--max', '2']],
    ['validate', [final], ['validate', final]],
    ['check', [baseline, final, { maxGrowth: '1MB', maxClassGrowth: { Leak: '64KiB' }, top: 3 }], ['check', baseline, final, '--max-growth', '1MB', '--max-class-growth', 'Leak=64KiB', '--top', '3']],
    ['profileTop', [at('after.heapprofile'), { top: 5 }], ['profile', 'top', at('after.heapprofile'), '--top', '5']],
    ['profileDiff', [at('before.heapprofile'), at('after.heapprofile')], ['profile', 'diff', at('before.heapprofile'), at('after.heapprofile')]],
    ['redact', [final, out('redacted.heapsnapshot')], ['redact', final, at('cli-redacted.heapsnapshot')]],
    ['report', [baseline, target, final, { out: out('leaks.html'), top: 5 }], ['report', baseline, target, final, '--out', at('cli-leaks.html'), '--top', '5']],
    ['run', [{ kind: 'summary', file: final, top: 2, package: '(app)' }], ['summary', final, '--top', '2', '--package', '(app)']],
  ]
}

/** A report with the file it wrote named as the command's: the rest must be equal. */
const asWrittenByCli = (report, who) => (typeof report?.output === 'string' ? { ...report, output: report.output.replace(`${path.sep}${who}-`, `${path.sep}cli-`) } : report)

/** Runs `calls` through the API of a child process (its environment choosing the path): each report or rejection. */
function inChild(who, env) {
  const script = `
    const { analysis } = require(${JSON.stringify(ROOT)})
    ;(async () => {
      const out = []
      for (const [name, args] of ${JSON.stringify(calls(leakId(), who).map(([name, args]) => [name, args]))}) {
        out.push(await analysis[name](...args).then((report) => ({ report }), (err) => ({ code: err.code, message: err.message })))
      }
      console.log(JSON.stringify(out))
    })()`
  const result = runScript(script, { env: { RHEAPDUMP_SIGNAL: '0', ...env } })
  assert.equal(result.status, 0, result.stderr)
  return JSON.parse(result.stdout)
}

test('every analysis of the command line resolves through the JS API to the report its --json prints, and writes the same files', async () => {
  const { analysis } = require(ROOT)
  const id = leakId()
  for (const [name, args, command] of calls(id, 'api')) {
    const fromApi = await analysis[name](...args)
    assert.deepEqual(asWrittenByCli(fromApi, 'api'), printed(command), `${name} ${command.join(' ')}`)
  }
  // The same page and the same redacted copy, private to their owner.
  for (const name of ['leaks.html', 'redacted.heapsnapshot']) {
    assert.ok(fs.readFileSync(at(`api-${name}`)).equals(fs.readFileSync(at(`cli-${name}`))), name)
    assert.equal(fs.statSync(at(`api-${name}`)).mode & 0o777, 0o600, name)
  }
})

test('through the portable program (no analysis module) every analysis resolves to the same report as through the module', { skip: process.env.RHEAPDUMP_FALLBACK === '1' && 'compares with the analysis module' }, () => {
  const expected = inChild('module', {})
  const portable = inChild('wasm', { RHEAPDUMP_FALLBACK: '1' })
  assert.equal(portable.length, expected.length)
  for (const [i, [name]] of calls(0, 'x').entries()) {
    assert.ok(expected[i].report, `${name}: ${expected[i].message}`)
    assert.deepEqual(asWrittenByCli(portable[i].report, 'wasm'), asWrittenByCli(expected[i].report, 'module'), `${name} (call ${i})`)
  }
  assert.ok(fs.readFileSync(at('wasm-leaks.html')).equals(fs.readFileSync(at('module-leaks.html'))), 'the same page')
})

/** Requests Rust refuses, each with what its message must name. */
const BAD = [
  ['summary', ['F', { tpo: 5 }], /unknown field `tpo`/],
  ['summary', ['F', { top: 1.5 }], /^rheapdump: top: invalid type: floating point `1.5`/],
  ['summary', ['F', { top: Number.NaN }], /^rheapdump: top: invalid type: string "NaN"/],
  ['summary', ['F', { package: '' }], /package must not be empty/],
  ['path', ['F', -1], /^rheapdump: id: invalid value: integer `-1`/],
  ['path', ['F', 1, { top: 3 }], /top does not apply to path/],
  ['leaks', ['F'], /missing field `target`/],
  ['diff', ['F', 'F', { match: 'names' }], /^rheapdump: match: unknown variant `names`/],
  ['redact', ['F', ''], /output must be a file name/],
  ['validate', ['F', { package: 'x' }], /package applies to summary, instances, diff and leaks, not validate/],
  ['check', ['F', 'F'], /check needs a budget/],
  ['check', ['F', 'F', { maxGrowth: '1XB' }], /^rheapdump: maxGrowth: a size is bytes/],
  ['profileTop', ['F', { source: 'x' }], /source applies to summary, instances, diff and leaks, not profileTop/],
  ['run', [{ kind: 'heapsort', file: 'F' }], /^rheapdump: kind: unknown variant `heapsort`/],
  ['run', [{ file: 'F' }], /kind is missing/],
]

/** Each bad request's rejection, in a child process whose environment chooses the path. */
function refusals(env) {
  const result = runScript(`
    const { analysis } = require(${JSON.stringify(ROOT)})
    ;(async () => {
      const out = []
      for (const [name, args] of ${JSON.stringify(BAD.map(([name, args]) => [name, args]), (_k, v) => (Number.isNaN(v) ? '__NaN__' : v))}) {
        const real = args.map((a) => (a && typeof a === 'object' ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v === '__NaN__' ? Number.NaN : v])) : a))
        out.push(await analysis[name](...real).then(() => ({ resolved: true }), (err) => ({ code: err.code, message: err.message, path: err.path ?? null, type: err.constructor.name })))
      }
      console.log(JSON.stringify(out))
    })()`, { env: { RHEAPDUMP_SIGNAL: '0', ...env } })
  assert.equal(result.status, 0, result.stderr)
  return JSON.parse(result.stdout)
}

test('a bad request rejects with ERR_INVALID_ARG_VALUE naming the field, checked by Rust, through the module and the portable program alike', async () => {
  const native = refusals({})
  for (const [i, [name, args, message]] of BAD.entries()) {
    assert.equal(native[i].code, 'ERR_INVALID_ARG_VALUE', `${name} ${JSON.stringify(args)}: ${native[i].message}`)
    assert.match(native[i].message, message, name)
    assert.equal(native[i].path, null, 'a request is about no file')
    assert.equal(native[i].type, 'TypeError')
  }
  if (process.env.RHEAPDUMP_FALLBACK !== '1') assert.deepEqual(refusals({ RHEAPDUMP_FALLBACK: '1' }), native)
  const { analysis } = require(ROOT)
  await assert.rejects(analysis.run(1n), { code: 'ERR_INVALID_ARG_VALUE', message: /cannot be written as JSON/ })
})

test('a profile the analysis cannot read, or two it cannot compare, is named with its code', async () => {
  const { analysis } = require(ROOT)
  const missing = at('missing.heapprofile')
  await assert.rejects(analysis.profileTop(missing), { code: 'ENOENT', path: missing })
  await assert.rejects(analysis.profileTop(final), { code: 'ERR_PROFILE_SYNTAX', path: final })
  await assert.rejects(analysis.profileDiff(at('after.heapprofile'), at('before.heapprofile')), { code: 'ERR_PROFILE_MISMATCH', path: at('before.heapprofile') })
})
