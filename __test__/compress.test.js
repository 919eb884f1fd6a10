'use strict'

// Compressed snapshots (RHEAPDUMP_COMPRESS, configure({ compress }), snapshot({ compress })) in
// real processes: the file each way of writing makes, its name, mode and content (decompressed by
// zlib and the zstd command, never by rheapdump), ids across snapshots, pruning, a full disk;
// and every analysis reading .gz and .zst files as it reads the plain one.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT, tempDir, tmpfs, waitFor, startApp, runScript, needsAddon } = require('./helpers/proc')
const { makeLeakyInputs } = require('./helpers/inputs')
const { readText, validateSnapshot, countObjectsByName, idsOfObjectsNamed } = require('../tools/heapsnapshot')
const facts = require('../lib/facts')

const FORMATS = /** @type {const} */ (['gzip', 'zstd'])
const FALLBACK = process.env.RHEAPDUMP_FALLBACK === '1'
// The fallback writes gzip where this Node's zlib has no zstd (lib/writer.js).
const written = (format) => (FALLBACK && format === 'zstd' && !require('node:zlib').zstdCompressSync ? 'gzip' : format)
const extension = (format) => facts.compression[written(format)].extension
const DEFAULT_NAME = new RegExp(facts.names.snapshot.pattern)

/** Default-named snapshots in `dir`, compressed or not, oldest first. */
function snapshotsIn(dir) {
  return fs.readdirSync(dir).filter((name) => DEFAULT_NAME.test(name)).sort().map((name) => path.join(dir, name))
}

/** The file is `format` by its first bytes, private, and decompresses to a sound snapshot. */
function assertCompressedSnapshot(file, format, fixtures = 2000) {
  const magic = Buffer.from(facts.compression[written(format)].magic)
  assert.deepEqual(fs.readFileSync(file).subarray(0, magic.length), magic, `${file} starts like ${format}`)
  assert.ok(file.endsWith(`.heapsnapshot${extension(format)}`), file)
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  const snap = JSON.parse(readText(file))
  validateSnapshot(snap)
  if (fixtures !== null) assert.equal(countObjectsByName(snap, 'FixtureLeak'), fixtures)
  return snap
}

async function appCompressing(t, format, env = {}) {
  const cwd = tempDir(t)
  const app = await startApp(t, { cwd, env: { RHEAPDUMP_COMPRESS: format, ...env } })
  await app.command({ cmd: 'require', path: ROOT })
  return { app, cwd }
}

for (const format of FORMATS) {
  test(`${format}: SIGUSR2 writes a private ${format} snapshot with a default name that keeps the object ids of the next one`, async (t) => {
    const { app, cwd } = await appCompressing(t, format)
    app.signal()
    const first = await app.waitEvent('snapshot-event')
    app.signal()
    const second = await app.waitEvent((e) => e.event === 'snapshot-event' && e.path !== first.path)
    assert.deepEqual(snapshotsIn(cwd), [first.path, second.path])
    const [a, b] = [first.path, second.path].map((file) => assertCompressedSnapshot(file, format))
    assert.equal(Number(DEFAULT_NAME.exec(path.basename(first.path))[2]), app.child.pid)
    assert.equal(first.bytes, fs.statSync(first.path).size)
    assert.deepEqual(idsOfObjectsNamed(b, 'FixtureLeak'), idsOfObjectsNamed(a, 'FixtureLeak'))
    await waitFor(() => app.stderr.includes(`rheapdump: wrote ${first.path}`), { what: 'stderr line' })
    assert.equal(app.exited, null)
  })

  test(`${format}: SIGUSR2 during a stuck event loop writes the compressed snapshot while the loop spins`, { skip: needsAddon('waits for the event loop') }, async (t) => {
    const { app, cwd } = await appCompressing(t, format)
    app.send({ cmd: 'busy', ms: 30000 })
    await app.waitEvent('busy-start')
    app.signal()
    const [file] = await waitFor(() => snapshotsIn(cwd).length && snapshotsIn(cwd), { timeout: 25000, what: 'snapshot during busy loop' })
    assert.ok(!app.events.some((e) => e.event === 'busy-end'), 'written while the loop was still stuck')
    assertCompressedSnapshot(file, format)
  })
}

test('snapshot({ compress }) compresses an explicit filename kept exactly as given; writeSnapshot(filename) stays plain', (t) => {
  const dir = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    class FixtureLeak {}
    globalThis.keep = Array.from({ length: 2000 }, () => new FixtureLeak())
    const out = (value) => console.log(JSON.stringify(value))
    rheapdump.writeSnapshot(${JSON.stringify(path.join(dir, 'compat.heapsnapshot'))})
    rheapdump.snapshot({ filename: ${JSON.stringify(path.join(dir, 'named.snap'))}, compress: 'gzip' })
      .then((info) => out(info))
      .then(() => rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, compress: 'off' })).then(out)
      .then(() => rheapdump.snapshot({ compress: 'brotli' })).catch((err) => out({ code: err.code, message: err.message }))`,
  { env: { RHEAPDUMP_COMPRESS: 'zstd', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  const [named, plain, refused] = run.stdout.trim().split('\n').map((line) => JSON.parse(line))
  assert.equal(named.path, path.join(dir, 'named.snap'))
  assert.equal(named.compress, 'gzip')
  assert.ok(named.plainBytes > named.bytes, `${named.plainBytes} > ${named.bytes}`)
  const magic = Buffer.from(facts.compression.gzip.magic)
  assert.deepEqual(fs.readFileSync(named.path).subarray(0, 3), magic)
  assert.equal(countObjectsByName(JSON.parse(readText(named.path)), 'FixtureLeak'), 2000)
  assert.equal(fs.readFileSync(path.join(dir, 'compat.heapsnapshot'), 'utf8').slice(0, 13), '{"snapshot":{')
  assert.ok(plain.path.endsWith('.heapsnapshot'), plain.path)
  assert.equal(refused.code, 'ERR_INVALID_ARG_VALUE')
  assert.match(refused.message, /'compress' must be one of off, gzip, zstd/)
})

test('RHEAPDUMP_COMPRESS with an unknown format warns and writes plain files', (t) => {
  const dir = tempDir(t)
  const run = runScript(`require(${JSON.stringify(ROOT)}).snapshot({ dir: ${JSON.stringify(dir)} }).then((info) => console.log(info.path))`,
    { env: { RHEAPDUMP_COMPRESS: 'brotli', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stderr, /RHEAPDUMP_COMPRESS: 'brotli' is not one of off, gzip, zstd/)
  assert.ok(run.stdout.trim().endsWith('.heapsnapshot'), run.stdout)
})

test('keep counts compressed and plain snapshots of the run alike', (t) => {
  const dir = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.configure({ keep: 2, dir: ${JSON.stringify(dir)} })
    ;(async () => {
      for (const compress of ['gzip', 'off', 'zstd', 'gzip']) await rheapdump.snapshot({ compress })
    })()`, { env: { RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  const left = snapshotsIn(dir).map((file) => path.extname(file))
  assert.deepEqual(left, [extension('zstd'), '.gz'])
  assert.equal((run.stderr.match(/rheapdump: removed /g) ?? []).length, 2, run.stderr)
})

test('quiet silences the pruning lines with the written ones, and keep still prunes', (t) => {
  const dir = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.configure({ keep: 1, quiet: true, dir: ${JSON.stringify(dir)} })
    ;(async () => {
      for (let i = 0; i < 3; i++) await rheapdump.snapshot()
    })()`, { env: { RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(snapshotsIn(dir).length, 1)
  assert.equal(run.stderr, '')
})

test('a full disk fails the compressed snapshot with ENOSPC and the directory, leaves no file, and the next snapshot works', (t) => {
  const dir = tmpfs(t)
  if (!dir) return
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    const crypto = require('node:crypto')
    // Random strings do not compress: ~8 MB of them cannot fit in 1 MB however compressed.
    globalThis.keep = Array.from({ length: 4000 }, () => crypto.randomBytes(1024).toString('base64'))
    const out = (value) => console.log(JSON.stringify(value))
    rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, compress: 'zstd', force: true })
      .then(out, (err) => out({ code: err.code, path: err.path, message: err.message }))
      .then(() => { globalThis.keep = null; return rheapdump.snapshot({ dir: require('node:os').tmpdir(), compress: 'gzip' }) })
      .then((info) => { out({ next: info.path }); require('node:fs').unlinkSync(info.path) })`,
  { env: { RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  const [failed, next] = run.stdout.trim().split('\n').map((line) => JSON.parse(line))
  assert.equal(failed.code, 'ENOSPC', failed.message)
  assert.equal(failed.path, dir)
  assert.deepEqual(fs.readdirSync(dir), [], 'no file, partial or temporary')
  assert.ok(next.next.endsWith('.heapsnapshot.gz'), next.next)
})

test('a fork snapshot is compressed too, and carries the fork marker inside the compressed stream', { skip: needsAddon('cannot fork') }, async (t) => {
  const { app, cwd } = await appCompressing(t, 'zstd', { RHEAPDUMP_FORK: '1' })
  const { binding } = require('../lib/binding')
  if ('fallback' in binding || binding.forkUnavailable()) return t.skip(`fork snapshots unavailable: ${binding.forkUnavailable?.()}`)
  app.signal()
  const event = await app.waitEvent('snapshot-event', 30000)
  const snap = assertCompressedSnapshot(event.path, 'zstd')
  assert.equal(snap.snapshot.rheapdump?.via, 'fork')
  const other = path.join(cwd, 'plain.heapsnapshot')
  fs.writeFileSync(other, readText(event.path))
  const diff = spawnSync(path.join(ROOT, 'bin', 'rheapdump'), ['diff', other, event.path, '--match', 'ids'], { encoding: 'utf8' })
  assert.equal(diff.status, 1)
  assert.match(diff.stderr, /ERR_SNAPSHOT_NOT_COMPARABLE/)
})

test('the pure-JS fallback compresses each way it is asked, chunk by chunk, into files the reference decoders read whole', (t) => {
  const dir = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    class FixtureLeak {}
    globalThis.keep = Array.from({ length: 2000 }, () => new FixtureLeak())
    ;(async () => {
      for (const compress of ['gzip', 'zstd']) console.log((await rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, compress })).path)
    })()`, { env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  const files = run.stdout.trim().split('\n')
  const zstdHere = typeof require('node:zlib').zstdCompressSync === 'function'
  assert.equal(run.stderr.includes('the fallback writes gzip instead'), !zstdHere, run.stderr)
  assertCompressedSnapshot(files[0], 'gzip')
  if (zstdHere) assertCompressedSnapshot(files[1], 'zstd')
  else assert.ok(files[1].endsWith('.heapsnapshot.gz'), files[1])
  assert.deepEqual(fs.readdirSync(dir).filter((name) => name.startsWith('.')), [], 'no temporary file left')
})

// The analyses: the same snapshots plain, gzip'd and zstd'd by the reference tools (gzip, zstd),
// under the same names in directories of their own (the format is told by content), and with
// their usual extensions.
const work = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rheapdump-compress-'))
const SNAPSHOTS = ['baseline', 'target', 'final']
const PROFILES = ['before', 'after']
const dirOf = (format) => path.join(work, format)

before(() => {
  fs.mkdirSync(dirOf('plain'))
  makeLeakyInputs(dirOf('plain'))
  for (const format of FORMATS) {
    fs.mkdirSync(dirOf(format))
    const tool = format === 'gzip' ? ['gzip', ['-c', '-6']] : ['zstd', ['-c', '-q', '-3']]
    for (const name of [...SNAPSHOTS.map((s) => `${s}.heapsnapshot`), ...PROFILES.map((p) => `${p}.heapprofile`)]) {
      const packed = spawnSync(tool[0], [...tool[1], path.join(dirOf('plain'), name)], { maxBuffer: 1 << 30 })
      assert.equal(packed.status, 0, String(packed.stderr))
      fs.writeFileSync(path.join(dirOf(format), name), packed.stdout)
      fs.writeFileSync(path.join(dirOf(format), `${name}${facts.compression[format].extension}`), packed.stdout)
    }
  }
})
after(() => fs.rmSync(work, { recursive: true, force: true }))

const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const LAUNCHER = path.join(ROOT, 'bin', 'rheapdump')
const programs = {
  native: (args, cwd) => spawnSync(NATIVE, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }),
  portable: (args, cwd) => spawnSync(process.execPath, [LAUNCHER, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, RHEAPDUMP_PORTABLE: '1' } }),
}

function leakId() {
  const leaks = JSON.parse(programs.native(['leaks', ...SNAPSHOTS.map((s) => `${s}.heapsnapshot`), '--json'], dirOf('plain')).stdout)
  return String(leaks.owners[0].examples?.[0]?.id ?? leaks.owners[0].id)
}

function commands() {
  return [
    ['summary', 'final.heapsnapshot', '--top', '5'],
    ['summary', 'final.heapsnapshot', '--class', 'Leak', '--top', '3'],
    ['diff', 'baseline.heapsnapshot', 'target.heapsnapshot'],
    ['diff', 'baseline.heapsnapshot', 'final.heapsnapshot', '--class', 'Leak', '--top', '2'],
    ['leaks', 'baseline.heapsnapshot', 'target.heapsnapshot', 'final.heapsnapshot'],
    ['leaks', 'baseline.heapsnapshot', 'target.heapsnapshot', 'final.heapsnapshot', '--by-path'],
    ['path', 'final.heapsnapshot', `@${leakId()}`, '--max', '2'],
    ['validate', 'final.heapsnapshot'],
    ['profile', 'top', 'after.heapprofile', '--top', '5'],
    ['profile', 'diff', 'before.heapprofile', 'after.heapprofile'],
  ]
}

for (const [program, runProgram] of Object.entries(programs)) {
  test(`${program} program: every command gives the same output for gzip and zstd files as for the plain ones`, (t) => {
    if (program === 'native' && !fs.existsSync(NATIVE)) return t.skip('no native program here')
    for (const command of commands()) {
      for (const args of [command, [...command, '--json']]) {
        const plain = runProgram(args, dirOf('plain'))
        assert.equal(plain.status, 0, `${args.join(' ')}: ${plain.stderr}`)
        for (const format of FORMATS) {
          const same = runProgram(args, dirOf(format))
          assert.deepEqual({ status: same.status, stdout: same.stdout }, { status: 0, stdout: plain.stdout }, `${format}: ${args.join(' ')}`)
        }
      }
      // With their extensions: the same JSON, but for the file names.
      for (const format of FORMATS) {
        const ext = facts.compression[format].extension
        const named = command.map((arg) => (/\.heap(snapshot|profile)$/.test(arg) ? `${arg}${ext}` : arg))
        const json = runProgram([...named, '--json'], dirOf(format))
        assert.equal(json.status, 0, `${named.join(' ')}: ${json.stderr}`)
        assert.equal(json.stdout.replaceAll(ext, ''), runProgram([...command, '--json'], dirOf('plain')).stdout, `${format}: ${named.join(' ')}`)
      }
    }
    const converted = ['profile', 'convert', 'after.heapprofile', '--to', 'folded']
    for (const format of FORMATS) assert.equal(runProgram(converted, dirOf(format)).stdout, runProgram(converted, dirOf('plain')).stdout)
  })

  test(`${program} program: a truncated or corrupt compressed snapshot fails with ERR_SNAPSHOT_COMPRESSED_CORRUPT and the path`, (t) => {
    if (program === 'native' && !fs.existsSync(NATIVE)) return t.skip('no native program here')
    const dir = tempDir(t)
    for (const format of FORMATS) {
      const good = fs.readFileSync(path.join(dirOf(format), 'final.heapsnapshot'))
      const flipped = Buffer.from(good)
      flipped[Math.floor(flipped.length / 2)] ^= 0x55
      for (const [name, bytes] of Object.entries({ truncated: good.subarray(0, Math.floor(good.length * 0.6)), corrupt: flipped })) {
        const file = path.join(dir, `${name}.heapsnapshot${facts.compression[format].extension}`)
        fs.writeFileSync(file, bytes)
        for (const command of [['validate', file], ['summary', file]]) {
          const result = runProgram(command, dir)
          assert.equal(result.status, 1, `${format} ${name} ${command[0]}`)
          assert.match(result.stderr, new RegExp(`^rheapdump: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ERR_SNAPSHOT_COMPRESSED_CORRUPT: the ${format} stream is truncated or corrupt`), `${format} ${name}: ${result.stderr}`)
        }
      }
    }
  })
}

test('leaks DIR takes the newest compressed snapshots of one run', (t) => {
  const dir = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    ;(async () => {
      for (let i = 0; i < 3; i++) { globalThis['keep' + i] = Array.from({ length: 1000 }, () => ({ i })); await rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, compress: i === 1 ? 'zstd' : 'gzip' }) }
    })()`, { env: { RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(run.status, 0, run.stderr)
  const result = spawnSync(LAUNCHER, ['leaks', dir, '--json'], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  const files = snapshotsIn(dir)
  assert.equal(files.length, 3)
  for (const file of files) assert.ok(result.stderr.includes(path.basename(file)), result.stderr)
})

test('the JS analysis API reads gzip and zstd snapshots as it reads plain ones', async () => {
  const { analysis } = require(ROOT)
  const plain = (name) => path.join(dirOf('plain'), `${name}.heapsnapshot`)
  for (const format of FORMATS) {
    const packed = (name) => path.join(dirOf(format), `${name}.heapsnapshot${facts.compression[format].extension}`)
    const strip = (report) => JSON.parse(JSON.stringify(report).replaceAll(packed('final'), plain('final')).replaceAll(facts.compression[format].extension, '').replaceAll(dirOf(format), dirOf('plain')))
    assert.deepEqual(strip(await analysis.summary(packed('final'), { top: 5 })), await analysis.summary(plain('final'), { top: 5 }))
    assert.deepEqual(strip(await analysis.leaks(packed('baseline'), packed('target'), packed('final'))), await analysis.leaks(plain('baseline'), plain('target'), plain('final')))
    assert.equal((await analysis.validate(packed('final'))).valid, true)
    const truncated = path.join(work, `truncated-${format}`)
    const bytes = fs.readFileSync(packed('final'))
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1))
    await assert.rejects(analysis.summary(truncated), (err) => err.code === 'ERR_SNAPSHOT_COMPRESSED_CORRUPT' && err.path === truncated)
  }
})
