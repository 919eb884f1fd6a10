'use strict'

// `rheapdump redact`: a snapshot of a real process holding secrets, made shareable. The copy must
// hold none of the secrets, in any encoding, and keep everything else: nodes, edges, the class
// summary, a file DevTools and an independent reader load.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir } = require('./helpers/proc')
const { validateFile } = require('../tools/heapsnapshot')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8' })

// Each secret is assembled at run time from parts, so that the script's own source (a string
// in the heap too) is not the only place it is found.
const SECRETS = {
  token: ['ghp_', 'R3dactM3', 'Pl3ase9xQ7vLk2Zt'],
  password: ['hunter2', '-Corr3ct-', 'Horse!Battery'],
  email: ['jane.doe+', 'vip', '@example-customer.com'],
  card: ['4111', '1111', '1111', '1234'],
  jwt: ['eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiJjdXN0LTQ0MiJ9', '.c2lnbmF0dXJlLXNlY3JldA'],
}

// The process keeps each secret as a plain string, as a Map key and value, inside a
// concatenated string, as a sliced string and (the card) as a heap number.
const HOLDER = `
const parts = ${JSON.stringify(SECRETS)}
const secret = (name) => parts[name].join('')
globalThis.config = { apiToken: secret('token'), adminPassword: secret('password') }
globalThis.users = new Map([[secret('email'), { card: secret('card') }]])
globalThis.vault = new Map([['jwt', secret('jwt')], ['pw', secret('password')]])
// Concatenated: a cons string of two halves, never flattened.
globalThis.cons = 'Bearer ' + secret('jwt')
// Sliced: a substring (13 characters or more) of a longer flat string.
const flat = ('x'.repeat(40) + secret('token') + 'y'.repeat(40)).split('').join('')
globalThis.sliced = flat.slice(40, 40 + secret('token').length)
globalThis.cardNumber = Number(secret('card'))
globalThis.boxed = { cardNumber: Number(secret('card')) + 0.5 }
require('node:v8').writeHeapSnapshot(process.argv[1], { exposeNumericValues: true })
`

function forms(secret) {
  return [Buffer.from(secret), Buffer.from(JSON.stringify(secret).slice(1, -1)), Buffer.from(secret, 'utf16le')]
}

test('redact removes every planted secret and keeps nodes, edges, locations and the class summary', (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'prod.heapsnapshot')
  const made = spawnSync(process.execPath, ['-e', HOLDER, file], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const original = fs.readFileSync(file)
  const secrets = Object.values(SECRETS).map((parts) => parts.join(''))
  // The snapshot holds them to begin with, or the test would prove nothing.
  for (const secret of secrets) assert.ok(original.includes(secret), `the snapshot holds ${secret}`)

  const out = path.join(dir, 'shareable.heapsnapshot')
  const result = cli('redact', file, out, '--json')
  assert.equal(result.status, 0, result.stderr)
  const report = JSON.parse(result.stdout)
  assert.equal(report.output, out)
  assert.ok(report.redacted > 0 && report.redacted <= report.strings, result.stdout)
  assert.equal((fs.statSync(out).mode & 0o777).toString(8), '600')

  const redacted = fs.readFileSync(out)
  assert.equal(report.bytes, redacted.length)
  for (const secret of secrets) {
    for (const form of forms(secret)) assert.ok(!redacted.includes(form), `no trace of ${secret} (${form.length} bytes)`)
  }
  for (const part of ['R3dactM3', 'Corr3ct', 'example-customer', 'c2lnbmF0dXJlLXNlY3JldA']) {
    assert.ok(!redacted.includes(part), `no part ${part}`)
  }

  const [before, after] = [JSON.parse(original), JSON.parse(redacted)]
  for (const key of ['snapshot', 'nodes', 'edges', 'locations', 'trace_function_infos', 'trace_tree', 'samples']) {
    assert.deepEqual(after[key], before[key], key)
  }
  assert.equal(after.strings.length, before.strings.length)
  let replaced = 0
  for (let i = 0; i < before.strings.length; i++) {
    if (after.strings[i] === before.strings[i]) continue
    replaced++
    // The same length in UTF-16 units, as V8 and DevTools count.
    assert.equal(after.strings[i], '*'.repeat(before.strings[i].length), `string ${i}`)
  }
  // A value that was already all asterisks, or empty, reads the same redacted.
  const unchanged = before.strings.filter((s) => /^\**$/.test(s)).length
  assert.ok(replaced <= report.redacted && replaced >= report.redacted - unchanged, `${replaced} of ${report.redacted}`)
  // Names are kept: classes, properties, functions and scripts.
  for (const name of ['Map', 'apiToken', 'adminPassword', 'cardNumber', 'secret', 'writeHeapSnapshot']) {
    assert.ok(after.strings.includes(name), name)
  }

  validateFile(out)
  const summaries = [file, out].map((f) => {
    const summary = cli('summary', f, '--json', '--top', '0')
    assert.equal(summary.status, 0, summary.stderr)
    return JSON.parse(summary.stdout)
  })
  assert.deepEqual(summaries[1].classes, summaries[0].classes)
  assert.deepEqual(
    summaries[1].largest.map(({ id, self_size: s, retained_size: r }) => [id, s, r]),
    summaries[0].largest.map(({ id, self_size: s, retained_size: r }) => [id, s, r]),
  )
  assert.equal(cli('validate', out).status, 0)
})

test('analysis.redact() writes the same copy as the command line and rejects with code and path', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'prod.heapsnapshot')
  const made = spawnSync(process.execPath, ['-e', HOLDER, file], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const { analysis } = require('..')
  const [viaApi, viaCli] = [path.join(dir, 'api.heapsnapshot'), path.join(dir, 'cli.heapsnapshot')]
  const report = await analysis.redact(file, viaApi)
  const printed = JSON.parse(cli('redact', file, viaCli, '--json').stdout)
  assert.deepEqual({ ...report, output: viaCli }, printed)
  assert.ok(fs.readFileSync(viaApi).equals(fs.readFileSync(viaCli)))
  const missing = path.join(dir, 'nope.heapsnapshot')
  await assert.rejects(analysis.redact(missing, path.join(dir, 'x.heapsnapshot')), { code: 'ENOENT', path: missing })
  await assert.rejects(analysis.redact(file), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('redact refuses to overwrite its input, and leaves no file behind when it fails', (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'a.heapsnapshot')
  const made = spawnSync(process.execPath, ['-e', "require('node:v8').writeHeapSnapshot(process.argv[1])", file], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const before = fs.readFileSync(file)
  const same = cli('redact', file, file)
  assert.equal(same.status, 1)
  assert.match(same.stderr, /EEXIST: .*the output is the snapshot itself/)
  assert.ok(fs.readFileSync(file).equals(before))

  fs.writeFileSync(path.join(dir, 'truncated.heapsnapshot'), before.subarray(0, before.length >> 1))
  const truncated = cli('redact', path.join(dir, 'truncated.heapsnapshot'), path.join(dir, 'out.heapsnapshot'))
  assert.equal(truncated.status, 1)
  assert.match(truncated.stderr, /truncated\.heapsnapshot: ERR_SNAPSHOT_SYNTAX/)
  const missingDir = cli('redact', file, path.join(dir, 'no', 'such', 'out.heapsnapshot'))
  assert.equal(missingDir.status, 1)
  assert.match(missingDir.stderr, /out\.heapsnapshot: ENOENT/)
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.heapsnapshot', 'truncated.heapsnapshot'])
})

/**
 * Writes a snapshot of `strings` strings of `length` bytes each, one string node per string under
 * the root, with `secret` as the last string: a file as large as wanted, made quickly.
 */
function writeLargeSnapshot(file, { strings, length, secret }) {
  const meta = {
    node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'detachedness'],
    node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'], 'string', 'number', 'number', 'number', 'number'],
    edge_fields: ['type', 'name_or_index', 'to_node'],
    edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  }
  const n = strings + 1
  const fd = fs.openSync(file, 'w')
  const write = (text) => fs.writeSync(fd, text)
  write(`{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${n},"edge_count":${strings}},"nodes":[9,0,1,0,${strings},0`)
  const batch = 10000
  for (let from = 1; from < n; from += batch) {
    let text = ''
    for (let i = from; i < Math.min(n, from + batch); i++) text += `,2,${i},${2 * i + 1},${length + 16},0,0`
    write(text)
  }
  write('],"edges":[')
  for (let from = 1; from < n; from += batch) {
    let text = ''
    for (let i = from; i < Math.min(n, from + batch); i++) text += `${i > 1 ? ',' : ''}1,${i},${i * 6}`
    write(text)
  }
  write('],"locations":[],"strings":[""')
  const filler = 'v'.repeat(length - 8)
  for (let from = 1; from < strings; from += batch) {
    let text = ''
    for (let i = from; i < Math.min(strings, from + batch); i++) text += `,"${String(i).padStart(8, '0')}${filler}"`
    write(text)
  }
  write(`,"${secret}"]}`)
  fs.closeSync(fd)
}

test('redact streams: a 200 MB snapshot is redacted within 64 MB of address space, where summary fails', { skip: !fs.existsSync(NATIVE) && 'no native program for this platform' }, (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'large.heapsnapshot')
  const secret = 'sk_live_' + 'Str3amingS3cret'
  writeLargeSnapshot(file, { strings: 50000, length: 4000, secret })
  assert.ok(fs.statSync(file).size > 200e6)
  const limited = (...args) => spawnSync('prlimit', [`--as=${64 << 20}`, NATIVE, ...args], { encoding: 'utf8' })
  // The limit bites: an analysis that holds the strings cannot run under it.
  const summary = limited('summary', file)
  assert.notEqual(summary.status, 0, 'summary needs more than the limit')
  const out = path.join(dir, 'out.heapsnapshot')
  const result = limited('redact', file, out, '--json')
  assert.equal(result.status, 0, result.stderr)
  assert.equal(JSON.parse(result.stdout).redacted, 50000)
  assert.equal(fs.statSync(out).size, fs.statSync(file).size)
  const fd = fs.openSync(out, 'r')
  const tail = Buffer.alloc(64)
  fs.readSync(fd, tail, 0, 64, fs.statSync(out).size - 64)
  fs.closeSync(fd)
  assert.ok(!tail.includes(secret) && tail.toString().endsWith(`"${'*'.repeat(secret.length)}"]}`), tail.toString())
})
