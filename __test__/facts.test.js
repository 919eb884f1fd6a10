'use strict'

// In-process tests of lib/facts.js, which crates/codegen generates from the Rust constants
// (cargo test -p rheapdump-codegen checks it is fresh): the facts hold together, and the addon and
// the pure-JS fallback behave as they say. Never starts the signal watcher of the addon.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const facts = require('../lib/facts')
const { binding } = require('../lib/binding')
const fallback = require('../lib/fallback')

const native = 'fallback' in binding ? null : binding
/** The implementations of the addon's interface this host has: the addon's where it loads, and the fallback's. */
const implementations = [...(native ? [['addon', native]] : []), ['fallback', fallback]]

function temporaryDirectory(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-facts-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A default name of `kind` put together from the facts, as both writers are to make it. */
const nameOf = (kind, time, pid, run, seq) => `${facts.names[kind].prefix}${time}-${pid}-${run}-${seq}${facts.names[kind].suffix}`

test('facts: every object and array in lib/facts.js is frozen', () => {
  const unfrozen = []
  const visit = (value, where) => {
    if (typeof value !== 'object' || value === null) return
    if (!Object.isFrozen(value)) unfrozen.push(where)
    for (const [key, item] of Object.entries(value)) visit(item, `${where}.${key}`)
  }
  visit(facts, 'facts')
  assert.deepEqual(unfrozen, [])
})

test('facts: a name put together from the facts matches its kind\'s pattern and the shared one, which capture time, pid, run and sequence', () => {
  for (const kind of ['snapshot', 'profile']) {
    const name = nameOf(kind, '20260102T030405.000007Z', 4242, 'k3f9a2', 17)
    const legacy = `${facts.names[kind].prefix}20260102T030405.000007Z-4242-17${facts.names[kind].suffix}`
    for (const pattern of [facts.names[kind].pattern, facts.names.pattern]) {
      assert.deepEqual(new RegExp(pattern).exec(name)?.slice(1), ['20260102T030405.000007Z', '4242', 'k3f9a2', '17'], `${name} by ${pattern}`)
      assert.deepEqual(new RegExp(pattern).exec(legacy)?.slice(1), ['20260102T030405.000007Z', '4242', undefined, '17'], `${legacy} by ${pattern}`)
    }
  }
})

test('facts: a kind\'s pattern refuses the other kind\'s names and near misses', () => {
  const snapshot = new RegExp(facts.names.snapshot.pattern)
  const profile = new RegExp(facts.names.profile.pattern)
  assert.doesNotMatch(nameOf('profile', '20260102T030405.000007Z', 1, 'k3f9a2', 0), snapshot)
  assert.doesNotMatch(nameOf('snapshot', '20260102T030405.000007Z', 1, 'k3f9a2', 0), profile)
  for (const other of ['heapdump-1234567.123456.heapsnapshot', 'heapdump-20260102T030405.000007Z-42.heapsnapshot', 'x' + nameOf('snapshot', '20260102T030405.000007Z', 1, 'k3f9a2', 0),
    nameOf('snapshot', '20260102T030405.000007Z', 1, 'K3F9A2', 0), nameOf('snapshot', '20260102T030405.000007Z', 1, 'k3f9a', 0)]) {
    assert.doesNotMatch(other, snapshot)
  }
})

test('facts: the addon and the fallback give default files the names the patterns describe', (t) => {
  const dir = temporaryDirectory(t)
  for (const [who, implementation] of implementations) {
    for (const kind of ['snapshot', 'profile']) {
      const file = implementation.createSnapshotFile(dir, null, false, kind === 'profile')
      assert.ok(!('code' in file), `${who}: ${JSON.stringify(file)}`)
      fs.writeFileSync(file.writerPath, '{}') // the addon refuses to commit an empty file
      const committed = file.commit()
      assert.ok(!('code' in committed), `${who}: ${JSON.stringify(committed)}`)
      const captured = new RegExp(facts.names[kind].pattern).exec(path.basename(committed.path))
      assert.ok(captured, `${who}: ${committed.path} is not a default ${kind} name`)
      assert.equal(captured[2], String(process.pid))
      assert.equal(captured[3], implementation.runId(), `${who}: the name carries this process's run`)
    }
  }
})

test('facts: the addon and the fallback prune exactly this run\'s names that the snapshot pattern matches', (t) => {
  for (const [who, implementation] of implementations) {
    const dir = temporaryDirectory(t)
    const run = implementation.runId()
    assert.match(run, /^[0-9a-z]{6}$/, who)
    const ours = ['20260101T000000.000000Z', '20260101T000001.000000Z', '20260101T000002.000000Z'].map((time, seq) => nameOf('snapshot', time, process.pid, run, seq))
    const earlierRun = run === 'zzzzzz' ? 'yyyyyy' : 'zzzzzz' // this pid in an earlier run: pid 1 in a restarted container
    const kept = [
      nameOf('profile', '20260101T000000.000000Z', process.pid, run, 0),
      nameOf('snapshot', '20260101T000000.000000Z', process.pid + 1, run, 0),
      nameOf('snapshot', '20251231T000000.000000Z', process.pid, earlierRun, 0),
      `heapdump-20251231T000000.000000Z-${process.pid}-0.heapsnapshot`,
      'notes.txt',
    ]
    for (const name of [...ours, ...kept]) fs.writeFileSync(path.join(dir, name), 'x')
    assert.deepEqual(implementation.pruneSnapshots(dir, 1, ours[2]).sort(), ours.slice(0, 2), who)
    assert.deepEqual(fs.readdirSync(dir).sort(), [ours[2], ...kept].sort(), who)
  }
})

test('facts: the addon and the fallback estimate a snapshot\'s cost with the factors of facts.estimate', () => {
  const heapUsed = 100 << 20
  for (let major = 18; major <= 30; major++) {
    const row = facts.estimate.find((r) => r.maxMajor === null || major <= r.maxMajor)
    assert.ok(row, `a row for Node ${major}`)
    const expected = { extraMemory: Math.floor(heapUsed * row.extraPerHeapByte), fileSize: Math.floor(heapUsed * row.filePerHeapByte) }
    const { extraMemory, fileSize } = fallback.snapshotBudget(major, heapUsed, os.tmpdir())
    assert.deepEqual({ extraMemory: Math.floor(extraMemory), fileSize: Math.floor(fileSize) }, expected, `fallback, Node ${major}`)
    if (native) assert.deepEqual({ ...native.estimateSnapshotCost(major, heapUsed) }, expected, `addon, Node ${major}`)
  }
  assert.equal(facts.estimate.at(-1)?.maxMajor, null, 'the last row covers every later major')
})

test('facts: claimRequest returns a trigger that facts.triggers lists and index.d.ts types, or null', async () => {
  const types = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const union = /export type SnapshotTrigger = (.*)/.exec(types)?.[1] ?? ''
  for (const trigger of facts.triggers) assert.ok(union.includes(`'${trigger}'`), `SnapshotTrigger lacks '${trigger}'`)
  for (const [, implementation] of implementations) assert.equal(implementation.claimRequest(), null)
  // The fallback's request comes from a process.on('SIGUSR2') listener.
  let received
  const served = new Promise((resolve) => (received = resolve))
  fallback.setMainReceiver(() => received(fallback.claimRequest()))
  const signal = fallbackListener()
  try {
    signal()
    const trigger = await served
    assert.ok(facts.triggers.includes(trigger), String(trigger))
  } finally {
    fallback.requestDone()
    fallback.stopSignalWatcher()
  }
})

test("the fallback's request moves as the addon's table says: one claim per request, signals meanwhile coalesce", () => {
  fallback.setMainReceiver(() => {})
  const signal = fallbackListener()
  try {
    const before = fallback.signalStats().coalesced
    assert.equal(fallback.claimRequest(), null, 'idle: nothing to claim')
    signal()
    signal()
    assert.equal(fallback.signalStats().coalesced - before, 1, 'a pending request takes the second signal in')
    assert.equal(fallback.claimRequest(), 'signal')
    assert.equal(fallback.claimRequest(), null, 'claimed once')
    signal()
    assert.equal(fallback.signalStats().coalesced - before, 2, 'a claimed request takes signals in too')
    fallback.requestDone()
    assert.equal(fallback.claimRequest(), null, 'done: idle again')
    signal()
    assert.equal(fallback.claimRequest(), 'signal', 'a new signal after done is a new request')
    fallback.requestDone()
  } finally {
    fallback.stopSignalWatcher()
  }
})

/**
 * Starts the fallback's signal watcher and returns its listener, to be called as a signal
 * would call it. Never process.emit('SIGUSR2'): that runs every listener of this process —
 * the test runner's own included, which on Node 26 writes a diagnostic report per call.
 */
function fallbackListener() {
  const before = new Set(process.listeners('SIGUSR2'))
  fallback.startSignalWatcher()
  const added = process.listeners('SIGUSR2').filter((listener) => !before.has(listener))
  assert.equal(added.length, 1, 'the fallback adds one SIGUSR2 listener')
  return () => added[0]('SIGUSR2')
}
