'use strict'

// `rheapdump report`: the leak-suspects page of a real hunt (tools/quote-service, three
// snapshots of the leaky service), opened in a real browser (Chromium, offline, through
// playwright-core): it loads nothing, logs no error, names the culprits, draws its charts, and
// its class table sorts and filters. A page of hostile snapshot strings runs none of them.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT } = require('./helpers/proc')
const { CHROMIUM, openOffline } = require('../tools/browser')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const SERVICE = path.join(__dirname, '..', 'tools', 'quote-service')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 })

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-report-'))
const hunt = path.join(dir, 'hunt')
const page = path.join(dir, 'leaks.html')

before(() => {
  fs.mkdirSync(hunt)
  const run = spawnSync(process.execPath, [path.join(SERVICE, 'hunt.js'), ROOT, '40', '250', '80'], { cwd: hunt, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

test('report DIR writes one self-contained page of the newest three snapshots, mode 0600, renamed into place', () => {
  const run = cli('report', hunt, '--out', page)
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stderr, /the newest 3 snapshots of pid \d+/)
  assert.match(run.stdout, /^wrote the leak-suspects report to .*leaks\.html \([\d.]+ \w+\)\n$/)
  assert.equal(fs.statSync(page).mode & 0o777, 0o600)
  assert.deepEqual(fs.readdirSync(dir).sort(), ['hunt', 'leaks.html'], 'no temporary file left')
  const html = fs.readFileSync(page, 'utf8')
  // Nothing from elsewhere: no external script, style, font or image.
  assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i)
  assert.doesNotMatch(html, /url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
  const data = JSON.parse(/<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)[1])
  assert.equal(data.snapshots.length, 3)
  assert.equal(data.owners.length, data.leaks.owners.length)

  // A directory that does not exist: an error with the path and code, no page.
  const missing = path.join(dir, 'no-such-dir', 'x.html')
  const failed = cli('report', ...data.snapshots.map((s) => s.file), '--out', missing)
  assert.equal(failed.status, 1)
  assert.match(failed.stderr, new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`))
})

test('the page opens offline in Chromium, names the culprits, draws its charts, and its table sorts and filters', { skip: !fs.existsSync(CHROMIUM) && `no ${CHROMIUM}` }, async () => {
  if (!fs.existsSync(page)) assert.equal(cli('report', hunt, '--out', page).status, 0)
  const opened = await openOffline(page)
  try {
    const { page: tab } = opened
    assert.deepEqual(opened.requests, [], 'no request left the page')
    assert.deepEqual(opened.errors, [], 'no console error')

    // The two planted leaks are the first two suspects: the listener array on RateFeed, and the
    // memoized function's cache.
    const suspects = await tab.$$eval('.suspect', (cards) => cards.map((card) => card.textContent))
    assert.ok(suspects.length >= 2)
    const firstTwo = suspects.slice(0, 2).join('\n')
    assert.match(firstTwo, /Held by RateFeed at \S+rate-feed\.js:\d+:\d+/)
    assert.match(firstTwo, /Held by memoized at \S+memoize\.js:\d+:\d+/)
    assert.match(firstTwo, /QuoteRequest/)
    assert.match(firstTwo, /Shortest path from a root/)

    // Charts: the overview's four, and one growth chart per suspect, each drawn with a size.
    const charts = await tab.$$eval('svg', (svgs) => svgs.map((svg) => {
      const box = svg.getBoundingClientRect()
      return { id: svg.closest('figure')?.id || svg.closest('figure')?.className, width: box.width, height: box.height, marks: svg.querySelectorAll('rect, polyline').length }
    }))
    assert.equal(charts.length, 4 + suspects.length)
    for (const chart of charts) assert.ok(chart.width > 0 && chart.height > 0 && chart.marks > 0, JSON.stringify(chart))
    const ownerBars = await tab.$$eval('#owner-chart rect', (rects) => rects.map((r) => r.getBoundingClientRect().width))
    assert.ok(ownerBars.length >= 2 && ownerBars.every((w) => w > 0))

    // The class table: sort by a numeric column (descending, then ascending), then by name.
    const column = async (title) => {
      const index = await tab.$$eval('#comparison th', (ths, t) => ths.findIndex((th) => th.textContent === t), title)
      return tab.$$eval(`#comparison tbody tr td:nth-child(${index + 1})`, (tds) => tds.map((td) => td.textContent))
    }
    const number = (text) => Number(text.replace(/[,+]/g, ''))
    const newCounts = async () => (await column('# New')).map(number)
    await tab.click('#comparison th:text-is("# New")')
    const descending = await newCounts()
    assert.ok(descending.length > 1)
    assert.deepEqual(descending, [...descending].sort((a, b) => b - a))
    await tab.click('#comparison th:text-is("# New")')
    const ascending = await newCounts()
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b))
    assert.notDeepEqual(ascending, descending)
    await tab.click('#comparison th:text-is("Class")')
    const names = await column('Class')
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)))

    // Filter: only matching rows, then none.
    await tab.fill('#comparison input[type=search]', 'QuoteRequest')
    const matching = await tab.$$eval('#comparison tbody tr', (rows) => rows.map((row) => row.textContent))
    assert.ok(matching.length >= 1)
    for (const row of matching) assert.match(row, /QuoteRequest/)
    await tab.fill('#comparison input[type=search]', 'no-such-class-anywhere')
    assert.equal(await tab.$$eval('#comparison tbody tr', (rows) => rows.length), 0)
    assert.match(await tab.textContent('#comparison .tools'), /no rows/)
    assert.deepEqual(opened.requests, [])
    assert.deepEqual(opened.errors, [])
  } finally {
    await opened.close()
  }
})

test('snapshot strings are shown as text: a property named like markup runs nothing', { skip: !fs.existsSync(CHROMIUM) && `no ${CHROMIUM}` }, async () => {
  const hostile = path.join(dir, 'hostile')
  fs.mkdirSync(hostile)
  // The global's property that holds the leak names its owner and a step of its path.
  const name = '</script><img src=x onerror=window.pwned=1><!--'
  const app = `
    const v8 = require('node:v8'); const path = require('node:path')
    class Hostile { constructor(i) { this.i = i } }
    const held = []; globalThis[${JSON.stringify(name)}] = held
    const snap = (n) => v8.writeHeapSnapshot(path.join(${JSON.stringify(hostile)}, n + '.heapsnapshot'))
    snap(1); for (let i = 0; i < 200; i++) held.push(new Hostile(i)); snap(2); for (let i = 0; i < 50; i++) held.push(new Hostile(i)); snap(3)`
  const made = spawnSync(process.execPath, ['-e', app], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const out = path.join(dir, 'hostile.html')
  const files = [1, 2, 3].map((n) => path.join(hostile, `${n}.heapsnapshot`))
  const run = cli('report', ...files, '--out', out)
  assert.equal(run.status, 0, run.stderr)
  const opened = await openOffline(out)
  try {
    assert.deepEqual(opened.errors, [])
    assert.deepEqual(opened.requests, [])
    assert.equal(await opened.page.evaluate(() => 'pwned' in globalThis), false)
    assert.equal(await opened.page.$$eval('img', (imgs) => imgs.length), 0)
    assert.ok((await opened.page.textContent('#suspects')).includes(name), 'the name is shown, as text')
  } finally {
    await opened.close()
  }
})
