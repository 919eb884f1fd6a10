'use strict'

// The JS API in real child processes: heapdump's writeSnapshot, snapshot(), memoryUsage(), gc(),
// configure(), bad arguments, and files checked against Node's own writer.

const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, runScript, snapshotFiles, needsAddon } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const PRELUDE = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  class FixtureLeak { constructor(i) { this.i = i } }
  globalThis.keep = Array.from({ length: 1500 }, (_, i) => new FixtureLeak(i))
  const out = (value) => console.log(JSON.stringify(value))
`

/** Runs `body` after PRELUDE in a child and returns what it printed with out(), parsed. */
function inChild(body, { cwd, env, args } = {}) {
  const result = runScript(PRELUDE + body, { cwd, env: { RHEAPDUMP_SIGNAL: '0', ...env }, args })
  assert.equal(result.status, 0, `child failed: ${result.stderr}`)
  return result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

test('writeSnapshot(callback) writes a default name and calls back synchronously with it, relative to the working directory as heapdump does', (t) => {
  const cwd = tempDir(t)
  const [result] = inChild(
    `let calledWith = null
     const returned = rheapdump.writeSnapshot((err, file) => { calledWith = [err, file] })
     out({ returned, calledWith })`,
    { cwd },
  )
  assert.equal(result.returned, true)
  const [err, file] = result.calledWith
  assert.equal(err, null)
  assert.match(file, /^heapdump-[^/]*\.heapsnapshot$/)
  assert.deepEqual(snapshotFiles(cwd), [path.join(cwd, file)])
  assert.equal(countObjectsByName(validateFile(path.join(cwd, file)).snap, 'FixtureLeak'), 1500)
})

test('writeSnapshot(filename, callback) writes exactly there and passes the name back as given', (t) => {
  const cwd = tempDir(t)
  const [result] = inChild(
    `let calledWith = null
     const returned = rheapdump.writeSnapshot('mine.heapsnapshot', (err, file) => { calledWith = [err, file] })
     out({ returned, calledWith })`,
    { cwd },
  )
  assert.deepEqual(result, { returned: true, calledWith: [null, 'mine.heapsnapshot'] })
  assert.equal(fs.statSync(path.join(cwd, 'mine.heapsnapshot')).mode & 0o777, 0o600)
  assert.equal(countObjectsByName(validateFile(path.join(cwd, 'mine.heapsnapshot')).snap, 'FixtureLeak'), 1500)
})

test('writeSnapshot into a missing directory returns false and calls back with heapdump\'s ENOENT error', (t) => {
  const cwd = tempDir(t)
  const target = path.join(cwd, 'missing', 'x.heapsnapshot')
  const [result] = inChild(
    `let error = null
     const returned = rheapdump.writeSnapshot(${JSON.stringify(target)}, (err) => { error = { message: err.message, code: err.code, path: err.path } })
     out({ returned, error })`,
  )
  assert.equal(result.returned, false)
  assert.deepEqual(result.error, { message: 'heapdump write error ENOENT', code: 'ENOENT', path: target })
})

test('writeSnapshot reports ENOSPC from a full device instead of swallowing it, and keeps the device', (t) => {
  const dir = tempDir(t)
  const full = path.join(dir, 'full')
  execFileSync('mknod', [full, 'c', '1', '7']) // a private clone of /dev/full
  const [result] = inChild(
    `let error = null
     const returned = rheapdump.writeSnapshot(${JSON.stringify(full)}, (err) => { error = { message: err.message, code: err.code, path: err.path } })
     out({ returned, error })`,
  )
  assert.equal(result.returned, false)
  assert.deepEqual(result.error, { message: 'heapdump write error ENOSPC', code: 'ENOSPC', path: full })
  assert.ok(fs.statSync(full).isCharacterDevice(), 'the device node was not replaced by a file')
})

test('writeSnapshot ignores a non-string filename, as heapdump does', (t) => {
  const cwd = tempDir(t)
  const [result] = inChild(`out(rheapdump.writeSnapshot(42))`, { cwd })
  assert.equal(result, true)
  assert.equal(snapshotFiles(cwd).length, 1)
  assert.equal(countObjectsByName(validateFile(snapshotFiles(cwd)[0]).snap, 'FixtureLeak'), 1500)
})

test('snapshot() resolves with path, size and duration, and emits a snapshot event', (t) => {
  const cwd = tempDir(t)
  const dir = tempDir(t)
  const [info, event] = inChild(
    `const seen = new Promise((resolve) => rheapdump.once('snapshot', resolve))
     rheapdump.snapshot({ dir: ${JSON.stringify(dir)} }).then(async (info) => { out(info); out(await seen) })`,
    { cwd },
  )
  assert.equal(path.dirname(info.path), dir)
  assert.equal(info.bytes, fs.statSync(info.path).size)
  assert.ok(info.durationMs > 0)
  assert.equal(info.trigger, 'api')
  assert.ok(info.rss.before > 0 && info.rss.after > 0)
  assert.deepEqual(event, info)
  assert.equal(snapshotFiles(cwd).length, 0)
  assert.equal(countObjectsByName(validateFile(info.path).snap, 'FixtureLeak'), 1500)
})

test('snapshot() rejects bad options and unusable directories with a code, and the process goes on', (t) => {
  const cwd = tempDir(t)
  const file = path.join(cwd, 'a-file')
  fs.writeFileSync(file, '')
  const results = inChild(
    `const cases = [{ bogus: 1 }, { dir: 5 }, 'x', { dir: ${JSON.stringify(path.join(cwd, 'nope'))} }, { dir: ${JSON.stringify(file)} }, { filename: ${JSON.stringify(cwd)} }]
     ;(async () => {
       for (const options of cases) {
         try { await rheapdump.snapshot(options); out('resolved') }
         catch (err) { out({ name: err.name, code: err.code, path: err.path, message: err.message }) }
       }
       out('still running')
     })()`,
  )
  assert.deepEqual(results.map((r) => r.code), ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ENOENT', 'ENOTDIR', 'EISDIR', undefined])
  assert.match(results[0].message, /unknown option 'bogus'/)
  assert.equal(results[3].path, path.join(cwd, 'nope'))
  assert.equal(results[4].path, file)
  assert.equal(results[5].path, cwd)
  assert.equal(results.at(-1), 'still running')
  assert.deepEqual(fs.readdirSync(cwd), ['a-file'])
})

test('configure() validates its options and reports the settings in force', (t) => {
  const dir = tempDir(t)
  const [bad, unknown, good] = inChild(
    `for (const options of [{ quiet: 'yes' }, { colour: true }, { quiet: true, dir: ${JSON.stringify(dir)} }]) {
       try { out(rheapdump.configure(options)) } catch (err) { out({ code: err.code, message: err.message }) }
     }`,
  )
  assert.equal(bad.code, 'ERR_INVALID_ARG_TYPE')
  assert.equal(unknown.code, 'ERR_INVALID_ARG_VALUE')
  assert.deepEqual(good, { signal: false, watchdog: true, quiet: true, guard: true, memoryLimit: null, keep: null, nearHeapLimit: 0, dir, queueTimeout: 300000, sampling: false, signalAction: 'both', fork: false, forkAbove: 3000, upload: null, uploadKeepLocal: true, compress: 'off' })
})

test('configure() refuses numbers the addon would wrap or truncate, and keys from Object.prototype', () => {
  const results = inChild(
    `for (const options of [{ keep: 2 ** 32 }, { keep: 0.5 }, { keep: 0 }, { memoryLimit: 1.5 }, { nearHeapLimit: 2 ** 32 }, { nearHeapLimit: -1 }, { constructor: 1 }, { hasOwnProperty: 1 }]) {
       try { rheapdump.configure(options); out('accepted') } catch (err) { out({ code: err.code, message: err.message }) }
     }
     out(rheapdump.getConfig())`,
  )
  assert.deepEqual(results.slice(0, 8).map((r) => r.code), [
    'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE',
    'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE',
  ])
  assert.match(results[0].message, /'keep' must be an integer from 1 to 4294967295, got 4294967296/)
  assert.match(results[6].message, /unknown option 'constructor'/)
  assert.equal(results[8].keep, null)
  assert.equal(results[8].nearHeapLimit, 0)
})

test('keep deletes only this run\'s own default-named snapshots, never another pid\'s or an earlier run\'s', (t) => {
  const dir = tempDir(t)
  const another = path.join(dir, 'heapdump-20200101T000000.000000Z-1-aaaaaa-0.heapsnapshot')
  fs.writeFileSync(another, 'another process')
  // Files this pid wrote in an earlier run (pid 1 in a restarted container), and mine, older.
  const [pid, run, written] = inChild(
    `const run = require(${JSON.stringify(path.join(ROOT, 'lib', 'binding'))}).binding.runId()
     const name = (of) => ${JSON.stringify(dir)} + '/heapdump-20200101T000000.000000Z-' + process.pid + '-' + of + '-0.heapsnapshot'
     require('node:fs').writeFileSync(name(run), 'mine, older')
     require('node:fs').writeFileSync(name(run === 'zzzzzz' ? 'yyyyyy' : 'zzzzzz'), 'an earlier run')
     require('node:fs').writeFileSync(${JSON.stringify(dir)} + '/heapdump-20200101T000000.000000Z-' + process.pid + '-0.heapsnapshot', 'from before runs')
     out(process.pid)
     out(run)
     rheapdump.configure({ keep: 1, quiet: true })
     rheapdump.snapshot({ dir: ${JSON.stringify(dir)} }).then((info) => out(info.path))`,
  )
  const name = (of) => path.join(dir, `heapdump-20200101T000000.000000Z-${pid}-${of}-0.heapsnapshot`)
  const earlier = name(run === 'zzzzzz' ? 'yyyyyy' : 'zzzzzz')
  const legacy = path.join(dir, `heapdump-20200101T000000.000000Z-${pid}-0.heapsnapshot`)
  assert.equal(fs.readFileSync(another, 'utf8'), 'another process')
  assert.equal(fs.readFileSync(earlier, 'utf8'), 'an earlier run')
  assert.equal(fs.readFileSync(legacy, 'utf8'), 'from before runs')
  assert.ok(!fs.existsSync(name(run)), 'this run\'s older snapshot is pruned')
  assert.deepEqual(snapshotFiles(dir).sort(), [another, earlier, legacy, written].sort())
})

test('filenames and option pairs that cannot mean what they say are refused with a code', (t) => {
  const cwd = tempDir(t)
  const dir = tempDir(t)
  const results = inChild(
    `const report = (err) => ({ message: err.message, code: err.code })
     let error = null
     out({ returned: rheapdump.writeSnapshot('newdir/', (err) => { error = report(err) }), error })
     out({ returned: rheapdump.writeSnapshot('a\\0b.heapsnapshot', (err) => { error = report(err) }), error })
     ;(async () => {
       for (const options of [{ dir: ${JSON.stringify(dir)}, filename: 'x.heapsnapshot' }, { filename: 'nul\\0.heapsnapshot' }, { dir: 'nul\\0' }]) {
         try { await rheapdump.snapshot(options); out('resolved') } catch (err) { out(report(err)) }
       }
     })()`,
    { cwd },
  )
  assert.deepEqual(results[0], { returned: false, error: { message: 'heapdump write error EISDIR', code: 'EISDIR' } })
  assert.deepEqual(results[1], { returned: false, error: { message: 'heapdump write error ERR_INVALID_ARG_VALUE', code: 'ERR_INVALID_ARG_VALUE' } })
  assert.deepEqual(results.slice(2).map((r) => r.code), ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE'])
  assert.match(results[2].message, /'dir' or 'filename', not both/)
  assert.deepEqual(fs.readdirSync(cwd), [])
  assert.deepEqual(fs.readdirSync(dir), [])
})

// --permission from Node 22.13 and 23.5; --experimental-permission before.
const PERMISSION = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission'

test('under Node\'s permission model snapshots are written where --allow-fs-write allows, and nowhere else', (t) => {
  const cwd = tempDir(t)
  const elsewhere = tempDir(t)
  const [returned, outcome, returnedElsewhere, refusal, named] = inChild(
    `let outcome = null
     out(rheapdump.writeSnapshot((err, file) => { outcome = err ? { message: err.cause.message } : { file } }))
     out(outcome)
     out(rheapdump.writeSnapshot(${JSON.stringify(path.join(elsewhere, 'x.heapsnapshot'))}, (err) => { outcome = { message: err.message, code: err.code, path: err.path } }))
     out(outcome)
     rheapdump.snapshot({ filename: 'named.heapsnapshot' }).then((info) => out(info.path), (err) => out(err.message))`,
    { cwd, args: [PERMISSION, '--allow-fs-read=*', `--allow-fs-write=${cwd}`, '--allow-addons'] },
  )
  assert.equal(returned, true, JSON.stringify(outcome))
  outcome.file = path.resolve(cwd, outcome.file) // heapdump's callback names a default file relative to the working directory
  assert.equal(path.dirname(outcome.file), cwd)
  assert.equal(returnedElsewhere, false)
  assert.deepEqual(refusal, { message: 'heapdump write error ERR_ACCESS_DENIED', code: 'ERR_ACCESS_DENIED', path: path.join(elsewhere, 'x.heapsnapshot') })
  assert.equal(named, 'named.heapsnapshot')
  assert.deepEqual(fs.readdirSync(elsewhere), [])
  assert.deepEqual(fs.readdirSync(cwd).sort(), [path.basename(outcome.file), 'named.heapsnapshot'].sort())
  for (const file of [outcome.file, path.join(cwd, 'named.heapsnapshot')]) {
    assert.equal(countObjectsByName(validateFile(file).snap, 'FixtureLeak'), 1500)
  }
})

test('under the permission model without --allow-addons, rheapdump runs its pure-JS fallback and says which flag loads the addon', { skip: needsAddon('is already forced here, so the reason is RHEAPDUMP_FALLBACK') }, (t) => {
  const cwd = tempDir(t)
  const result = runScript(
    `const rheapdump = require(${JSON.stringify(ROOT)})
     rheapdump.once('snapshot', (info) => console.log(JSON.stringify({ trigger: info.trigger })))
     process.kill(process.pid, 'SIGUSR2')
     setTimeout(() => {}, 500)`,
    { cwd, args: [PERMISSION, '--allow-fs-read=*', `--allow-fs-write=${cwd}`] },
  )
  assert.equal(result.status, 0, result.stderr)
  assert.deepEqual(JSON.parse(result.stdout), { trigger: 'signal' })
  assert.match(result.stderr, /^rheapdump: without its native addon \(rheapdump: Node's permission model forbids native addons in this process.*--allow-addons.*\), SIGUSR2 snapshots wait for the event loop$/m)
  assert.doesNotMatch(result.stderr, /Rust|reinstall/i)
  assert.equal(snapshotFiles(cwd).length, 1)
})

test('a snapshot matches one from Node\'s own writer of the same heap', (t) => {
  const cwd = tempDir(t)
  inChild(
    `rheapdump.writeSnapshot('ours.heapsnapshot')
     require('node:v8').writeHeapSnapshot('node.heapsnapshot')`,
    { cwd },
  )
  const ours = validateFile(path.join(cwd, 'ours.heapsnapshot'))
  const node = validateFile(path.join(cwd, 'node.heapsnapshot'))
  assert.deepEqual(ours.nodeFields, node.nodeFields)
  assert.equal(countObjectsByName(ours.snap, 'FixtureLeak'), 1500)
  assert.equal(countObjectsByName(node.snap, 'FixtureLeak'), 1500)
  // The same heap, one GC apart: node counts agree closely.
  assert.ok(Math.abs(ours.nodeCount - node.nodeCount) / node.nodeCount < 0.05, `${ours.nodeCount} vs ${node.nodeCount}`)
})

test('a reader never sees a partial file under the final name', { skip: needsAddon('writes under a visible temporary name') }, async (t) => {
  const cwd = tempDir(t)
  const child = require('node:child_process').spawn(
    process.execPath,
    ['-e', `${PRELUDE}
      globalThis.more = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'v' + i }))
      process.stdin.once('data', () => { rheapdump.writeSnapshot(); process.exit(0) })
      console.log('ready')`],
    { cwd, env: { ...process.env, RHEAPDUMP_SIGNAL: '0' }, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  t.after(() => child.kill('SIGKILL'))
  await new Promise((resolve) => child.stdout.once('data', resolve))
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.stdin.write('go\n')
  const seen = []
  let done = false
  exited.then(() => (done = true))
  while (!done) {
    for (const name of fs.readdirSync(cwd)) seen.push([name, fs.statSync(path.join(cwd, name), { throwIfNoEntry: false })?.size])
    await new Promise((resolve) => setImmediate(resolve))
  }
  const [file] = snapshotFiles(cwd)
  const finalSize = fs.statSync(file).size
  assert.ok(seen.length > 0)
  for (const [name, size] of seen) {
    assert.equal(path.join(cwd, name), file, `only the final file is ever visible, saw ${name}`)
    assert.equal(size, finalSize, 'and only at its final size')
  }
  assert.equal(countObjectsByName(validateFile(file).snap, 'FixtureLeak'), 1500)
})

test('memoryUsage() reports rss and vsz as ps does, with the V8 heap and its spaces', { skip: needsAddon('has no vsz') }, () => {
  // ps runs in another process, so RSS can move between its reading and ours (a GC, a compile, the
  // spawn itself). Bracket our reading between two of ps's and allow a few retries for that noise:
  // a wrong unit or a wrong field is off by far more than anything a retry could absorb.
  const [result] = inChild(
    `const ps = () => require('node:child_process').execFileSync('ps', ['-o', 'rss=,vsz=', '-p', String(process.pid)], { encoding: 'utf8' }).trim().split(/\\s+/).map((kib) => Number(kib) * 1024)
     ps() // the first spawn maps what the later ones reuse
     const tries = []
     for (let i = 0; i < 5; i++) {
       const before = ps()
       const usage = rheapdump.memoryUsage()
       const after = ps()
       tries.push({ usage, before, after })
       const within = (k, slack) => usage[['rss', 'vsz'][k]] >= Math.min(before[k], after[k]) - slack && usage[['rss', 'vsz'][k]] <= Math.max(before[k], after[k]) + slack
       if (within(0, 2 * 1024 * 1024) && within(1, 16 * 1024 * 1024)) break
     }
     out(tries)`,
  )
  const { usage, before, after } = result.at(-1)
  for (const key of ['rss', 'vsz', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'heapLimit']) {
    assert.ok(Number.isInteger(usage[key]) && usage[key] >= 0, key)
  }
  const near = (ours, a, b, slack) => ours >= Math.min(a, b) - slack && ours <= Math.max(a, b) + slack
  const shown = JSON.stringify(result.map((t) => ({ rss: [t.before[0], t.usage.rss, t.after[0]], vsz: [t.before[1], t.usage.vsz, t.after[1]] })))
  assert.ok(near(usage.rss, before[0], after[0], 2 * 1024 * 1024), `rss outside ps's readings: ${shown}`)
  assert.ok(near(usage.vsz, before[1], after[1], 16 * 1024 * 1024), `vsz outside ps's readings: ${shown}`)
  assert.ok(usage.heapUsed <= usage.heapTotal && usage.heapTotal < usage.heapLimit)
  for (const space of ['new_space', 'old_space', 'code_space', 'large_object_space']) {
    const s = usage.spaces[space]
    assert.ok(s && s.used <= s.size, space)
  }
})

test('gc() runs a full mark-compact without --expose-gc and leaves no global gc behind', () => {
  const [result] = inChild(
    `globalThis.garbage = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'g' + i }))
     rheapdump.gc(); rheapdump.gc() // promote the garbage to old space, where only a full GC frees it
     globalThis.garbage = null
     const result = rheapdump.gc()
     const { Worker } = require('node:worker_threads')
     const w = new Worker('require("node:worker_threads").parentPort.postMessage(typeof gc)', { eval: true })
     w.once('message', (workerGc) => out({ result, globalGc: typeof gc, contextGc: require('node:vm').runInNewContext('typeof gc'), workerGc }))`,
  )
  assert.equal(result.globalGc, 'undefined')
  assert.equal(result.contextGc, 'undefined')
  assert.equal(result.workerGc, 'undefined')
  assert.ok(result.result.freed > 10 * 1024 * 1024, `freed ${result.result.freed}`)
})

test('gc() is a mark-compact in --trace-gc on this Node version', () => {
  const traced = spawnSync(
    process.execPath,
    ['--trace-gc', '-e', `const r = require(${JSON.stringify(ROOT)}); console.log('<<'); r.gc(); console.log('>>')`],
    { encoding: 'utf8', env: { ...process.env, RHEAPDUMP_SIGNAL: '0' } },
  )
  const between = traced.stdout.split('<<')[1].split('>>')[0]
  assert.match(between, /Mark-Compact|Mark-sweep/i, between)
})

test('an ESM import gets the default export and named exports', (t) => {
  const cwd = tempDir(t)
  const app = path.join(cwd, 'app.mjs')
  fs.writeFileSync(
    app,
    `import rheapdump, { writeSnapshot, snapshot, memoryUsage, gc, configure } from ${JSON.stringify(path.join(ROOT, 'index.mjs'))}
     console.log([rheapdump.writeSnapshot === writeSnapshot, typeof snapshot, typeof memoryUsage, typeof gc, typeof configure].join(' '))`,
  )
  const result = spawnSync(process.execPath, [app], { encoding: 'utf8', env: { ...process.env, RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.stdout.trim(), 'true function function function function', result.stderr)
})

test('snapshot events reach listeners only once the loop is free', async (t) => {
  const cwd = tempDir(t)
  const [order] = inChild(
    `const seen = []
     rheapdump.on('snapshot', () => seen.push('event'))
     rheapdump.writeSnapshot()
     seen.push('after-call')
     setImmediate(() => setImmediate(() => out(seen)))`,
    { cwd },
  )
  assert.deepEqual(order, ['after-call', 'event'])
  await waitFor(() => snapshotFiles(cwd).length === 1)
  assert.equal(countObjectsByName(validateFile(snapshotFiles(cwd)[0]).snap, 'FixtureLeak'), 1500)
})
