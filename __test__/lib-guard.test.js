'use strict'

// lib/guard.js in-process: the refusal decision (judge) on made-up budgets, and the budget the
// addon measures for this very process. No snapshot is taken here.

const assert = require('node:assert/strict')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

require('./helpers/proc') // a ledger directory of this file's own for memory reservations
const { judge, checkBudget, reserveLater, reserveSync, tryReserve } = require('../lib/guard')

const MiB = 1024 * 1024
const budget = (extra) => ({ extraMemory: 100 * MiB, fileSize: 10 * MiB, memoryAvailable: 1000 * MiB, memorySource: 'cgroup /x', diskFree: 1000 * MiB, ...extra })

test('judge: enough memory and disk is no refusal', () => {
  assert.equal(judge(budget(), { dir: '/d', rss: 50 * MiB, memoryLimit: null }), null)
})

test('judge: too little memory is ERR_RHEAPDUMP_INSUFFICIENT_MEMORY, with what it needs and what there is', () => {
  const refusal = judge(budget({ memoryAvailable: 60 * MiB }), { dir: '/d', rss: 50 * MiB, memoryLimit: null })
  assert.equal(refusal?.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.equal(refusal?.path, '/d')
  assert.equal(refusal?.needed, 100 * MiB)
  assert.equal(refusal?.available, 60 * MiB)
  assert.match(refusal?.message ?? '', /would need ~100\.0 MiB more memory and 60\.0 MiB is available \(cgroup \/x\); pass \{ force: true \}/)
})

test('judge: memoryLimit caps what is available at the limit less RSS, even where the OS knows no limit', () => {
  for (const memoryAvailable of [1000 * MiB, undefined]) {
    const refusal = judge(budget({ memoryAvailable }), { dir: '/d', rss: 150 * MiB, memoryLimit: 200 * MiB })
    assert.equal(refusal?.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', `memoryAvailable ${memoryAvailable}`)
    assert.equal(refusal?.available, 50 * MiB)
    assert.match(refusal?.description ?? '', /memoryLimit 200\.0 MiB, RSS 150\.0 MiB/)
  }
  // A limit looser than the OS's leaves the OS's figure.
  assert.equal(judge(budget({ memoryAvailable: 60 * MiB }), { dir: '/d', rss: 0, memoryLimit: 4096 * MiB })?.available, 60 * MiB)
  // Past the limit already: nothing is available, not a negative amount.
  assert.equal(judge(budget(), { dir: '/d', rss: 300 * MiB, memoryLimit: 200 * MiB })?.available, 0)
})

test('judge: a file larger than the free disk is ERR_RHEAPDUMP_INSUFFICIENT_DISK; an unknown disk is no refusal', () => {
  const refusal = judge(budget({ diskFree: 5 * MiB }), { dir: '/d', rss: 0, memoryLimit: null })
  assert.equal(refusal?.code, 'ERR_RHEAPDUMP_INSUFFICIENT_DISK')
  assert.match(refusal?.description ?? '', /would write ~10\.0 MiB and \/d has 5\.0 MiB free/)
  assert.equal(judge(budget({ diskFree: undefined }), { dir: '/d', rss: 0, memoryLimit: null }), null)
  assert.equal(judge(budget({ memoryAvailable: undefined, diskFree: undefined }), { dir: '/d', rss: 0, memoryLimit: null }), null)
})

test('checkBudget: this small process fits its machine; a 1-byte memoryLimit refuses, and an API call says so', () => {
  checkBudget(os.tmpdir(), process.memoryUsage.rss(), 'signal', null)
  assert.throws(() => checkBudget(os.tmpdir(), process.memoryUsage.rss(), 'signal', 1), { code: 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', available: 0 })
})

// More than any machine has: alone in the ledger it is granted, beside another it never fits.
const HUGE = 2 ** 50

test('tryReserve: alone in the ledger a reservation is granted, released, and can be had again', () => {
  for (let i = 0; i < 2; i++) {
    const reservation = tryReserve(HUGE)
    assert.ok(!('reason' in reservation), JSON.stringify(reservation))
    reservation.release()
  }
})

test('reserveSync: beside a reservation that leaves no room, the wait ends after its timeout with ERR_RHEAPDUMP_BUSY naming the holder', () => {
  const held = reserveSync('/d', 'api', HUGE, 1000)
  try {
    const refusal = tryReserve(HUGE)
    assert.equal('reason' in refusal && refusal.reason, 'busy')
    const started = Date.now()
    assert.throws(() => reserveSync('/d', 'signal', HUGE, 200), (err) => {
      assert.equal(err.code, 'ERR_RHEAPDUMP_BUSY')
      assert.equal(err.path, '/d')
      assert.equal(err.holderPid, process.pid)
      assert.equal(err.holderBytes, HUGE)
      assert.match(err.message, new RegExp(`pid ${process.pid} \\(reserved ~1024\\.0 TiB\\) left too little .* for all of 0\\.2 s \\(queueTimeout\\)`))
      return true
    })
    assert.ok(Date.now() - started >= 190, 'waited for the timeout')
  } finally {
    held.release()
  }
})

test('reserveLater: the event loop runs on while it waits, and the reservation comes once the holder releases', async () => {
  const held = reserveSync('/d', 'api', HUGE, 1000)
  // Released by the fifth tick of a timer on this loop: the wait can only end if the loop turns.
  let ticks = 0
  const ticker = setInterval(() => ++ticks === 5 && held.release(), 10)
  try {
    const reservation = await reserveLater('/d', 'api', HUGE, 60000, true)
    reservation.release()
    assert.ok(ticks >= 5, `the loop turned while waiting (${ticks} ticks)`)
  } finally {
    clearInterval(ticker)
  }
})

test('reserveLater: where no ledger can be written, a guarded snapshot is refused with ERR_RHEAPDUMP_UNCOORDINATED and the directory', async () => {
  const previous = process.env.RHEAPDUMP_LOCK_DIR
  const missing = path.join(os.tmpdir(), `rheapdump-no-such-dir-${process.pid}`)
  process.env.RHEAPDUMP_LOCK_DIR = missing
  try {
    await assert.rejects(reserveLater('/d', 'signal', 1, 1000, false), { code: 'ERR_RHEAPDUMP_UNCOORDINATED', path: missing, message: /cannot be coordinated .*RHEAPDUMP_LOCK_DIR/ })
  } finally {
    process.env.RHEAPDUMP_LOCK_DIR = previous
  }
})

test('fallback: cgroup limits are read as the addon reads them — v1 and v2, every level, page cache not counted', () => {
  const { cgroupLimits } = require('../lib/fallback')
  const files = {
    '/cg/memory/app/memory.limit_in_bytes': '209715200\n',
    '/cg/memory/app/memory.usage_in_bytes': '104857600\n',
    '/cg/memory/app/memory.stat': 'cache 1\ntotal_inactive_file 4194304\n',
    '/cg/memory/memory.limit_in_bytes': '9223372036854771712\n', // v1's "no limit"
    '/cg/memory/memory.usage_in_bytes': '1\n',
    '/cg/svc/pod/memory.max': '419430400\n',
    '/cg/svc/pod/memory.current': '10485760\n',
    '/cg/svc/memory.max': 'max\n',
    '/cg/svc/memory.current': '5\n',
  }
  const read = (file) => files[file] ?? null
  assert.deepEqual(cgroupLimits('4:memory:/app\n3:cpu:/app\n', '/cg', read), [{ dir: '/cg/memory/app', limit: 209715200, used: 100663296 }])
  assert.deepEqual(cgroupLimits('0::/svc/pod\n', '/cg', read), [{ dir: '/cg/svc/pod', limit: 419430400, used: 10485760 }])
  assert.deepEqual(cgroupLimits('0::/\n', '/cg', read), [])
})
