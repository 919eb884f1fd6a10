'use strict'

// Sampling heap profiles: configure({ sampling }), heapProfile(), writeHeapProfile(), SIGUSR2
// with signalAction, and living beside other users of V8's one sampler.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, runScript, needsAddon, memoryCgroup } = require('./helpers/proc')
const { validateFile, idsOfObjectsNamed } = require('../tools/heapsnapshot')

const PRELUDE = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  const out = (value) => console.log(JSON.stringify(value))
`

function inChild(body, { cwd, env, args } = {}) {
  const result = runScript(PRELUDE + body, { cwd, env: { RHEAPDUMP_SIGNAL: '0', ...env }, args })
  assert.equal(result.status, 0, `child failed: ${result.stderr}`)
  return { lines: result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)), stderr: result.stderr }
}

const profiles = (dir) => fs.readdirSync(dir).filter((name) => name.endsWith('.heapprofile')).sort()

/** Sums selfSize by function name over the profile's call tree. */
function bytesByFunction(profile) {
  const bytes = new Map()
  const stack = [profile.head]
  while (stack.length) {
    const node = stack.pop()
    const name = node.callFrame.functionName
    bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize)
    stack.push(...node.children)
  }
  return bytes
}

test('sampling is off by default, and a profile asked for then fails with ERR_RHEAPDUMP_SAMPLING_OFF and writes nothing', (t) => {
  const cwd = tempDir(t)
  const { lines } = inChild(
    `out(rheapdump.getConfig().sampling)
     rheapdump.heapProfile().catch((err) => out({ code: err.code, message: err.message }))`,
    { cwd },
  )
  assert.equal(lines[0], false)
  assert.equal(lines[1].code, 'ERR_RHEAPDUMP_SAMPLING_OFF')
  assert.match(lines[1].message, /configure\(\{ sampling: true \}\)/)
  assert.deepEqual(fs.readdirSync(cwd), [])
})

test('configure({ sampling }) takes true (128 KiB), bytes, a size with a unit or false; rejects less than 1 KiB, other values and unknown signal actions', (t) => {
  const { lines } = inChild(
    `for (const options of [{ sampling: true }, { sampling: 65536 }, { sampling: '64k' }, { sampling: '1MiB' }, { sampling: false }, { sampling: 1.5 }, { sampling: 512 }, { sampling: '512' }, { sampling: 'on' }, { sampling: [] }, { signalAction: 'dump' }, { signalAction: 'profile' }]) {
       try { const c = rheapdump.configure(options); out([c.sampling, c.signalAction]) } catch (err) { out([err.code, err.message]) }
     }`,
    { cwd: tempDir(t) },
  )
  const codes = lines.map((line) => (typeof line[0] === 'string' ? line[0] : line))
  assert.deepEqual(codes, [[131072, 'both'], [65536, 'both'], [65536, 'both'], [1048576, 'both'], [false, 'both'], 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', [false, 'profile']])
  assert.match(lines[7][1], /'sampling' must be from 1 KiB \(1024 bytes\) to 4294967295 bytes, got '512'/)
  assert.match(lines[8][1], /'sampling' must be true, false or bytes per sample \(65536, 64k, 64KiB, 1m, 1MiB\), got 'on'/)
})

test('RHEAPDUMP_SAMPLING=1 samples from start-up: heapProfile() writes a complete 0600 default-named file with metadata and an (external) frame', { skip: needsAddon('has its own file code, tested in api.test.js') }, async (t) => {
  const cwd = tempDir(t)
  const { lines } = inChild(
    `function retain() { globalThis.kept = []; for (let i = 0; i < 200000; i++) globalThis.kept.push({ i, s: 'v' + i }) }
     retain()
     rheapdump.heapProfile().then(out)`,
    { cwd, env: { RHEAPDUMP_SAMPLING: '1' } },
  )
  const [info] = lines
  const [name] = profiles(cwd)
  assert.match(name, /^heapprofile-\d{8}T\d{6}\.\d{6}Z-\d+-[0-9a-z]{6}-\d+\.heapprofile$/)
  assert.equal(info.path, path.join(cwd, name))
  assert.equal(info.interval, 131072)
  assert.equal(info.trigger, 'api')
  assert.equal(fs.statSync(info.path).mode & 0o777, 0o600)
  assert.equal(fs.statSync(info.path).size, info.bytes)
  const profile = JSON.parse(fs.readFileSync(info.path, 'utf8'))
  assert.equal(profile.samples.length, info.samples)
  assert.ok(info.samples > 0)
  assert.deepEqual(Object.keys(profile.rheapdump.external), ['nodeId', 'bytes', 'arrayBuffers'])
  assert.equal(profile.rheapdump.interval, 131072)
  assert.equal(profile.rheapdump.node, process.version)
  const external = profile.head.children.find((node) => node.callFrame.functionName === '(external)')
  assert.equal(external.id, profile.rheapdump.external.nodeId)
  assert.ok(external.selfSize > 0)
  assert.ok(!profile.samples.some((sample) => sample.nodeId === external.id), 'no sample points at the off-heap frame')
  const bytes = bytesByFunction(profile)
  const sampled = [...bytes.values()].reduce((a, b) => a + b) - external.selfSize
  assert.ok(bytes.get('retain') > 0.8 * sampled, JSON.stringify([...bytes]))
})

test('writeHeapProfile(filename) writes synchronously to exactly that path, replacing a file there', (t) => {
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'p.heapprofile'), 'old')
  const { lines } = inChild(
    `rheapdump.configure({ sampling: 16384 })
     globalThis.kept = Array.from({ length: 50000 }, (_, i) => ({ i }))
     const info = rheapdump.writeHeapProfile('p.heapprofile')
     out({ info, seen: require('node:fs').readFileSync('p.heapprofile', 'utf8').length })`,
    { cwd },
  )
  const { info, seen } = lines[0]
  assert.equal(info.path, path.join(cwd, 'p.heapprofile'))
  assert.equal(seen, info.bytes)
  assert.equal(JSON.parse(fs.readFileSync(info.path, 'utf8')).rheapdump.interval, 16384)
})

test('SIGUSR2 writes the profile first, then the snapshot; signalAction picks one of them', { skip: needsAddon('serves signals from the loop only') }, (t) => {
  for (const [action, expected] of [['both', ['.heapprofile', '.heapsnapshot']], ['profile', ['.heapprofile']], ['snapshot', ['.heapsnapshot']]]) {
    const cwd = tempDir(t)
    const { lines } = inChild(
      `rheapdump.configure({ signal: true, sampling: true, signalAction: ${JSON.stringify(action)} })
       const written = []
       rheapdump.on('profile', (info) => written.push(info.path)).on('snapshot', (info) => written.push(info.path))
       process.kill(process.pid, 'SIGUSR2')
       const alive = setInterval(() => {
         if (written.length === ${expected.length}) { clearInterval(alive); setTimeout(() => out(written), 200) }
       }, 20)`,
      { cwd },
    )
    assert.deepEqual(lines[0].map((file) => path.extname(file)), expected, action)
    assert.deepEqual(fs.readdirSync(cwd).map((file) => path.extname(file)).sort(), [...expected].sort(), action)
  }
})

test('SIGUSR2 during a 20 s busy loop yields a complete profile long before the loop ends', { skip: needsAddon('serves signals from the loop only') }, async (t) => {
  const cwd = tempDir(t)
  const child = spawn(process.execPath, ['-e', `${PRELUDE}
    rheapdump.configure({ sampling: true, signalAction: 'profile' })
    function hoard() { globalThis.kept = []; for (let i = 0; i < 300000; i++) globalThis.kept.push({ i, s: 'v' + i }) }
    hoard()
    console.log('busy')
    const end = Date.now() + 20000
    while (Date.now() < end) {}
    console.log('done')`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let stdout = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  await waitFor(() => stdout.includes('busy'), { what: 'the busy loop' })
  const sent = Date.now()
  child.kill('SIGUSR2')
  const [name] = await waitFor(() => profiles(cwd).length && profiles(cwd), { timeout: 15000, what: 'the profile' })
  const elapsed = Date.now() - sent
  const profile = JSON.parse(fs.readFileSync(path.join(cwd, name), 'utf8'))
  assert.ok(profile.samples.length > 0)
  assert.ok(bytesByFunction(profile).get('hoard') > 0)
  assert.ok(!stdout.includes('done'), 'the loop is still running')
  assert.ok(elapsed < 10000, `the profile took ${elapsed} ms`)
  t.diagnostic(`profile complete ${elapsed} ms after SIGUSR2, mid-loop`)
  const exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  assert.deepEqual(exit, { code: 0, signal: null })
})

test('20,000 unchanged objects keep their ids across sampling, profiles by API and by SIGUSR2, and stopping the sampler', { skip: needsAddon('serves signals from the loop only') }, (t) => {
  const cwd = tempDir(t)
  const { lines } = inChild(
    `class Kept { constructor(i) { this.i = i } }
     globalThis.kept = Array.from({ length: 20000 }, (_, i) => new Kept(i))
     const snapshots = []
     rheapdump.on('snapshot', (info) => snapshots.push(info.path))
     rheapdump.writeSnapshot('a.heapsnapshot')
     rheapdump.configure({ signal: true, sampling: 4096 })
     globalThis.more = Array.from({ length: 20000 }, (_, i) => ({ i }))
     rheapdump.writeHeapProfile('p.heapprofile')
     process.kill(process.pid, 'SIGUSR2')
     const alive = setInterval(() => {
       if (snapshots.length < 2) return
       clearInterval(alive)
       rheapdump.configure({ sampling: false })
       rheapdump.writeSnapshot('c.heapsnapshot')
       rheapdump.once('snapshot', () => out(snapshots))
     }, 20)`,
    { cwd },
  )
  // The 'snapshot' events, in order: a.heapsnapshot, SIGUSR2's, c.heapsnapshot.
  const files = lines[0]
  assert.equal(files.length, 3)
  assert.equal(profiles(cwd).length, 2, 'one by API, one by SIGUSR2')
  const [first, ...later] = files.map((file) => idsOfObjectsNamed(validateFile(path.resolve(cwd, file)).snap, 'Kept'))
  assert.equal(first.length, 20000)
  const before = new Set(first)
  for (const ids of later) assert.equal(ids.filter((id) => before.has(id)).length, 20000)
})

test('a sampler someone else started is read, noted once, never restarted and never stopped', (t) => {
  const cwd = tempDir(t)
  const { lines, stderr } = inChild(
    `const inspector = require('node:inspector')
     const theirs = new inspector.Session()
     theirs.connect()
     theirs.post('HeapProfiler.startSampling', { samplingInterval: 8192 })
     rheapdump.configure({ sampling: true })
     rheapdump.configure({ sampling: 65536 })
     globalThis.kept = Array.from({ length: 50000 }, (_, i) => ({ i }))
     const info = rheapdump.writeHeapProfile('p.heapprofile')
     rheapdump.configure({ sampling: false })
     theirs.post('HeapProfiler.getSamplingProfile', (err, result) => out({ interval: info.interval, samples: info.samples, theirsRunning: !err && result.profile.samples.length > 0 }))`,
    { cwd },
  )
  assert.deepEqual({ ...lines[0], samples: lines[0].samples > 0 }, { interval: null, samples: true, theirsRunning: true })
  assert.equal(stderr.match(/already running/g)?.length, 1, stderr)
})

test('when another session stops the sampler, a profile fails with ERR_RHEAPDUMP_SAMPLING_STOPPED and configure() starts it again', (t) => {
  const { lines } = inChild(
    `rheapdump.configure({ sampling: true })
     const other = new (require('node:inspector').Session)()
     other.connect()
     other.post('HeapProfiler.stopSampling')
     try { rheapdump.writeHeapProfile('p.heapprofile') } catch (err) { out(err.code) }
     out(rheapdump.getConfig().sampling)
     rheapdump.configure({ sampling: true })
     out(rheapdump.writeHeapProfile('p.heapprofile').interval)`,
    { cwd: tempDir(t) },
  )
  assert.deepEqual(lines, ['ERR_RHEAPDUMP_SAMPLING_STOPPED', false, 131072])
})

test('a process with sampling on exits cleanly, by itself and by process.exit()', (t) => {
  for (const ending of ['', 'process.exit(3)']) {
    const result = runScript(`${PRELUDE}
      rheapdump.configure({ sampling: 1024 })
      globalThis.kept = Array.from({ length: 10000 }, (_, i) => ({ i }))
      rheapdump.writeHeapProfile('p.heapprofile')
      setTimeout(() => { ${ending} }, 10)`, { cwd: tempDir(t), timeout: 20000 })
    assert.equal(result.status, ending ? 3 : 0, result.stderr)
    assert.equal(result.signal, null)
    assert.equal(result.stderr, '')
  }
})

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const FIXTURE = path.join(__dirname, 'fixtures', 'sampling-app.js')

function cli(args) {
  const result = spawnSync(CLI, args, { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  return result.stdout
}

const share = (rows, name) => rows.find((row) => row.function === name)?.total_share ?? 0

test('rheapdump profile top and diff put ≥ 80% of the live sampled bytes on the leaking function and ≤ 5% on the churning one', (t) => {
  const dir = tempDir(t)
  const run = spawnSync(process.execPath, [FIXTURE, dir], { encoding: 'utf8', timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const [a, b] = ['a.heapprofile', 'b.heapprofile'].map((name) => path.join(dir, name))
  for (const file of [a, b]) {
    const top = JSON.parse(cli(['profile', 'top', file, '--json', '--top', '0']))
    assert.ok(share(top.functions, 'leakRecords') >= 0.8, `${path.basename(file)}: ${JSON.stringify(top.functions.slice(0, 3))}`)
    assert.ok(share(top.functions, 'churnGarbage') <= 0.05, `${path.basename(file)}: ${JSON.stringify(top.functions.slice(0, 3))}`)
    assert.match(top.functions.find((row) => row.function === 'leakRecords').location, /sampling-app\.js:23$/)
    t.diagnostic(`${path.basename(file)}: leakRecords ${(share(top.functions, 'leakRecords') * 100).toFixed(1)}%, churnGarbage ${(share(top.functions, 'churnGarbage') * 100).toFixed(1)}% of ${top.sampled_bytes} sampled bytes`)
  }
  const diff = JSON.parse(cli(['profile', 'diff', a, b, '--json', '--top', '0']))
  assert.ok(diff.new_bytes > 8 * 1024 * 1024, `only ${diff.new_bytes} new bytes`)
  assert.ok(share(diff.functions, 'leakRecords') >= 0.8, JSON.stringify(diff.functions.slice(0, 3)))
  assert.ok(share(diff.functions, 'churnGarbage') <= 0.05, JSON.stringify(diff.functions.slice(0, 3)))
  const text = cli(['profile', 'top', b, '--top', '3'])
  const lines = text.split('\n')
  assert.match(lines[lines.findIndex((line) => line.startsWith('───')) + 1], /^ *leakRecords /)
})

const go = spawnSync('go', ['version'], { encoding: 'utf8' })

test('go tool pprof reads the converted profile and names the leaking function first, with the same total', { skip: go.status === 0 ? false : 'go is not installed (apt-get install golang-go)', timeout: 120000 }, (t) => {
  const dir = tempDir(t)
  const run = spawnSync(process.execPath, [FIXTURE, dir], { encoding: 'utf8', timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const file = path.join(dir, 'b.heapprofile')
  const out = path.join(dir, 'b.pb.gz')
  cli(['profile', 'convert', file, '--to', 'pprof', '-o', out])
  assert.deepEqual([...fs.readFileSync(out).subarray(0, 2)], [0x1f, 0x8b])
  const pprof = spawnSync('go', ['tool', 'pprof', '-top', '-unit=B', out], { encoding: 'utf8' })
  assert.equal(pprof.status, 0, pprof.stderr)
  const top = JSON.parse(cli(['profile', 'top', file, '--json']))
  const total = Number(/of (\d+)B total/.exec(pprof.stdout)[1])
  assert.equal(total, top.sampled_bytes + top.external_bytes)
  const rows = pprof.stdout.split('\n').filter((line) => /^\s*\d+B/.test(line))
  assert.match(rows[0], /leakRecords$/)
})

test('when the guard refuses the snapshot, SIGUSR2 still writes the profile, and it names the leaking function', { skip: needsAddon('serves signals from the loop only') }, (t) => {
  const cwd = tempDir(t)
  const result = runScript(`${PRELUDE}
    rheapdump.configure({ signal: true, sampling: true })
    function hoard() { globalThis.kept = []; for (let i = 0; i < 300000; i++) globalThis.kept.push({ i, s: 'v' + i }) }
    hoard()
    // A memory limit just above what the process uses: the guard refuses any snapshot.
    rheapdump.configure({ memoryLimit: rheapdump.memoryUsage().rss + (1 << 20) })
    let outcome = {}
    rheapdump.on('profile', (info) => (outcome.profile = info.path)).on('snapshotError', (err) => (outcome.refused = err.code))
    process.kill(process.pid, 'SIGUSR2')
    const alive = setInterval(() => { if (outcome.profile && outcome.refused) { clearInterval(alive); out(outcome) } }, 20)`,
  { cwd })
  assert.equal(result.status, 0, result.stderr)
  const outcome = JSON.parse(result.stdout)
  assert.equal(outcome.refused, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.deepEqual(fs.readdirSync(cwd).filter((name) => name.endsWith('.heapsnapshot')), [])
  const top = JSON.parse(cli(['profile', 'top', outcome.profile, '--json']))
  assert.equal(top.functions[0].function, 'hoard')
})

test('near the heap limit, a profile is written before the snapshot', { skip: needsAddon('has no near-heap-limit callback') }, (t) => {
  const cwd = tempDir(t)
  const result = runScript(`${PRELUDE}
    const fs = require('node:fs')
    rheapdump.configure({ sampling: true, nearHeapLimit: 1, signalAction: 'snapshot' })
    const order = []
    rheapdump.on('profile', (info) => order.push(info.trigger)).on('snapshot', (info) => order.push(info.trigger))
    function grow() {
      let ballast = []
      const written = () => fs.readdirSync('.').filter((name) => name.endsWith('.heapsnapshot')).length
      while (written() < 1) ballast.push(new Array(1 << 17).fill(0.5))
      ballast = null
    }
    grow()
    setTimeout(() => out(order), 50)`,
  { cwd, args: ['--max-old-space-size=48'], timeout: 120000 })
  assert.equal(result.status, 0, result.stderr)
  assert.deepEqual(JSON.parse(result.stdout), ['near-heap-limit', 'near-heap-limit'])
  const [profile] = profiles(cwd)
  const top = JSON.parse(cli(['profile', 'top', path.join(cwd, profile), '--json']))
  assert.equal(top.functions[0].function, 'grow')
})

test('in a 400 MiB cgroup where the guard refuses the snapshot, SIGUSR2 still yields a profile naming the leaking function', { skip: needsAddon('serves signals from the loop only') }, (t) => {
  const inCgroup = memoryCgroup(t, 400 * 1024 * 1024)
  if (!inCgroup) return
  const cwd = tempDir(t)
  const script = `${PRELUDE}
    rheapdump.configure({ signal: true, sampling: true })
    // ~120 MiB of small objects: a snapshot would need ~30x that; the profile needs a full GC.
    function hoard() { globalThis.kept = []; for (let i = 0; i < 1500000; i++) globalThis.kept.push({ i, s: 'v' + i }) }
    hoard()
    const outcome = {}
    rheapdump.on('profile', (info) => (outcome.profile = info)).on('snapshotError', (err) => (outcome.refused = err.code))
    process.kill(process.pid, 'SIGUSR2')
    const alive = setInterval(() => { if (outcome.profile && outcome.refused) { clearInterval(alive); out(outcome) } }, 20)`
  const [command, args] = inCgroup(script)
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120000, env: { ...process.env, RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  const outcome = JSON.parse(result.stdout)
  assert.equal(outcome.refused, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.deepEqual(fs.readdirSync(cwd).filter((name) => name.endsWith('.heapsnapshot')), [])
  const top = JSON.parse(cli(['profile', 'top', outcome.profile.path, '--json']))
  assert.equal(top.functions[0].function, 'hoard')
  assert.ok(top.functions[0].total_share >= 0.8, JSON.stringify(top.functions[0]))
  t.diagnostic(`profile in ${outcome.profile.durationMs.toFixed(0)} ms: hoard holds ${(top.functions[0].total_share * 100).toFixed(1)}% of ${(top.sampled_bytes / 1048576).toFixed(1)} MiB`)
})

test("monitor({ profiles }) turns sampling on and writes a profile naming the leaking function when 'leak' fires, at most max times", (t) => {
  const { lines } = inChild(
    `const monitor = rheapdump.monitor({ interval: 100, leakGrowths: 2, profiles: { max: 1, minInterval: 1 } })
     const sampling = rheapdump.getConfig().sampling
     const profiles = []
     rheapdump.on('profile', (info) => profiles.push(info))
     const kept = []
     let rounds = 0
     // Called by the timer, never by JavaScript: V8 cannot inline it away.
     function leakMore() {
       for (let i = 0; i < 20000; i++) kept.push({ i, s: 'x' + i })
       rheapdump.gc()
       if (++rounds < 40) return
       clearInterval(timer)
       monitor.stop()
       setImmediate(() => out({ sampling, profiles }))
     }
     const timer = setInterval(leakMore, 30)`,
    { cwd: tempDir(t) },
  )
  const { sampling, profiles: written } = lines[0]
  assert.equal(sampling, 131072)
  assert.equal(written.length, 1, JSON.stringify(written))
  assert.equal(written[0].trigger, 'leak')
  assert.match(written[0].reason, /grew .* MiB in 2 GCs/)
  const top = JSON.parse(cli(['profile', 'top', written[0].path, '--json']))
  assert.equal(top.functions[0].function, 'leakMore')
})

/**
 * The quote service in a 400 MiB memory cgroup, rheapdump only required, leaking (a QuoteRequest
 * listening to the rate feed and a tax-rate cache entry per request) until its live heap holds
 * 12 MiB more than when warm; then SIGUSR2. Returns the stderr lines and what was written.
 */
function quoteServiceSignalled(inCgroup, cwd, env) {
  const service = path.join(__dirname, '..', 'tools', 'quote-service', 'server.js')
  const script = `${PRELUDE}
    const http = require('node:http')
    const { createService } = require(${JSON.stringify(service)})
    const server = createService()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
    let customer = 0
    const quote = (port) => new Promise((resolve, reject) => {
      customer++
      http.get({ port, host: '127.0.0.1', path: '/quote?customer=C' + customer + '&sku=SKU-' + (customer % 7) + '&quantity=2', agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
    })
    const requests = async (port, count) => {
      let sent = 0
      await Promise.all(Array.from({ length: 8 }, async () => { while (sent++ < count) await quote(port) }))
    }
    const live = () => (rheapdump.gc(), process.memoryUsage().heapUsed)
    server.listen(0, '127.0.0.1', async () => {
      const { port } = server.address()
      await requests(port, 1000)
      const base = live()
      while (live() - base < 12 * 1048576) await requests(port, 2000)
      const outcome = { sampling: rheapdump.getConfig().sampling, profile: null }
      rheapdump.on('profile', (info) => (outcome.profile = info)).on('snapshotError', (err) => (outcome.refused = err.code))
      process.kill(process.pid, 'SIGUSR2')
      const alive = setInterval(() => {
        if (!outcome.refused || (outcome.sampling && !outcome.profile)) return
        clearInterval(alive)
        agent.destroy()
        server.close()
        out(outcome)
      }, 20)
    })`
  const [command, args] = inCgroup(script)
  // Default settings: none of rheapdump's variables but the test's own lock directory.
  const defaults = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RHEAPDUMP_') || name === 'RHEAPDUMP_LOCK_DIR'))
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 240000, env: { ...defaults, ...env } })
  assert.equal(result.status, 0, result.stderr)
  const outcome = JSON.parse(result.stdout)
  assert.equal(outcome.refused, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.deepEqual(fs.readdirSync(cwd).filter((name) => name.includes('.heapsnapshot')), [])
  const refusal = result.stderr.split('\n').find((line) => line.includes('ERR_RHEAPDUMP_INSUFFICIENT_MEMORY'))
  assert.ok(refusal, result.stderr)
  return { outcome, refusal }
}

test('done when: the quote service in a 400 MiB cgroup with default settings; SIGUSR2, snapshot refused: the line says how to get a profile, and following it gives one that names the service code', { skip: needsAddon('serves signals from the loop only') }, (t) => {
  const inCgroup = memoryCgroup(t, 400 * 1024 * 1024)
  if (!inCgroup) return
  // Sampling is off by default (bench/README.md, "Sampling by default?"): the refusal says how.
  const first = quoteServiceSignalled(inCgroup, tempDir(t), {})
  assert.equal(first.outcome.sampling, false)
  const advice = /RHEAPDUMP_SAMPLING=(\S+) or configure\(\{ sampling: '([^']+)' \}\)/.exec(first.refusal)
  assert.ok(advice && advice[1] === advice[2], first.refusal)
  t.diagnostic(first.refusal)

  // As the line says: the same service, the same signal, with that one variable.
  const cwd = tempDir(t)
  const { outcome, refusal } = quoteServiceSignalled(inCgroup, cwd, { RHEAPDUMP_SAMPLING: advice[1] })
  assert.ok(outcome.profile, 'a profile was written')
  assert.ok(refusal.endsWith(`rheapdump profile top ${outcome.profile.path}`), refusal)
  const top = JSON.parse(cli(['profile', 'top', outcome.profile.path, '--json', '--top', '0']))
  const rows = top.functions.filter((row) => row.self_bytes > 0)
  const isService = (row) => row.location.includes(`${path.sep}quote-service${path.sep}`)
  const first3 = rows.slice(0, 3)
  assert.ok(first3.some(isService), `the service's code among the first three rows: ${JSON.stringify(rows.slice(0, 5))}`)
  const serviceBytes = rows.filter(isService).reduce((sum, row) => sum + row.self_bytes, 0)
  assert.ok(serviceBytes >= 5 * 1048576, `${serviceBytes} bytes sampled in the service's code`)
  t.diagnostic(`${outcome.profile.samples} samples at ${advice[1]}; first rows: ${first3.map((row) => `${row.function} ${path.basename(row.location)} ${(row.self_share * 100).toFixed(0)}% (${row.samples})`).join(', ')}`)
})
