'use strict'

// Source maps: a TypeScript service compiled by tsc (a .map beside each script, or the map inline
// in it) leaks Session objects through a class and onTick closures through a function, both
// written in src/cache.ts. Its snapshots are written by rheapdump's snapshot() in the service's own
// process; the reports, from the command line and the JS API, must name the .ts file and the
// line each is written on, with the position that ran in `generated`. Also: the scripts moved to
// another directory (--source-root), a corrupt map (the report still works, with a note), a heap
// profile, the HTML report, and --no-source-maps.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
const json = (...args) => {
  const run = cli(...args, '--json')
  assert.equal(run.status, 0, run.stderr)
  return { report: JSON.parse(run.stdout), stderr: run.stderr }
}

const CACHE_TS = `export class Session { constructor(public readonly id: number, public readonly payload: string) {} }

export class SessionCache {
  private readonly sessions: Session[] = []

  add(id: number): void {
    this.sessions.push(new Session(id, 'payload-'.repeat(40) + id))
  }
}

export function makeTicker(handlers: Array<() => number>, id: number): void {
  handlers.push(function onTick(): number {
    return id * 2
  })
}
`

const SERVER_TS = `import { SessionCache, makeTicker } from './cache'

declare const require: (id: string) => any
declare const process: any

const rheapdump = require(process.env.RHEAPDUMP_UNDER_TEST)
const cache = new SessionCache()
const handlers: Array<() => number> = []
;(globalThis as any).app = { cache, handlers }

let next = 0
function work(count: number): void {
  for (let i = 0; i < count; i++, next++) {
    cache.add(next)
    makeTicker(handlers, next)
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2]
  const files: string[] = []
  for (const count of [100, 2000, 500]) {
    work(count)
    files.push((await rheapdump.snapshot({ dir })).path)
  }
  const profile = await rheapdump.heapProfile({ dir })
  process.stdout.write(JSON.stringify({ files, profile: profile.path }))
}

main()
`

const app = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-source-maps-'))
const SRC = path.join(app, 'src')
/** @type {Record<string, { dist: string, files: string[], profile: string }>} */
const builds = {}

/** The 1-based line of `src/cache.ts` that holds `text`. */
const lineOf = (text) => CACHE_TS.split('\n').findIndex((line) => line.includes(text)) + 1

/** Compiles the service into `dist-<name>` with tsc's `flags` and runs it: three snapshots and a heap profile. */
function build(name, flags) {
  const dist = path.join(app, `dist-${name}`)
  const tsc = spawnSync(process.execPath, [TSC, '--outDir', dist, '--rootDir', SRC, '--module', 'commonjs', '--target', 'es2022', '--strict', ...flags, path.join(SRC, 'server.ts'), path.join(SRC, 'cache.ts')], { encoding: 'utf8', cwd: app })
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr)
  const out = path.join(app, `out-${name}`)
  fs.mkdirSync(out)
  const run = spawnSync(process.execPath, [path.join(dist, 'server.js'), out], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, RHEAPDUMP_UNDER_TEST: ROOT, RHEAPDUMP_SAMPLING: '4k' },
  })
  assert.equal(run.status, 0, run.stderr)
  builds[name] = { dist, ...JSON.parse(run.stdout) }
}

before(() => {
  fs.mkdirSync(SRC)
  fs.writeFileSync(path.join(SRC, 'cache.ts'), CACHE_TS)
  fs.writeFileSync(path.join(SRC, 'server.ts'), SERVER_TS)
  build('map', ['--sourceMap'])
  build('inline', ['--inlineSourceMap'])
  build('moved', ['--sourceMap'])
  build('corrupt', ['--sourceMap'])
})
after(() => fs.rmSync(app, { recursive: true, force: true }))

/** Every class of every owner of a leaks report. */
const ownerClasses = (leaks) => leaks.owners.flatMap((owner) => owner.classes)

/** Asserts that `place` (`file:line:column`) is in `file` on `line`. */
function at(place, file, line) {
  assert.ok(place, `a place in ${file}`)
  const match = /^(.*):(\d+):(\d+)$/.exec(place)
  assert.ok(match, place)
  assert.equal(match[1], file, place)
  if (line !== undefined) assert.equal(Number(match[2]), line, place)
}

/** The leaked Session class and onTick closures point at their lines in src/cache.ts, with the generated place beside. */
function pointsAtTypeScript(leaks, dist) {
  const classes = ownerClasses(leaks)
  const session = classes.find((c) => c.name === 'Session')
  assert.ok(session, JSON.stringify(classes.map((c) => c.name)))
  at(session.source, path.join(SRC, 'cache.ts'), lineOf('export class Session'))
  at(session.generated, path.join(dist, 'cache.js'))
  const onTick = classes.find((c) => c.name.startsWith('onTick'))
  assert.ok(onTick, JSON.stringify(classes.map((c) => c.name)))
  at(onTick.source, path.join(SRC, 'cache.ts'), lineOf('function onTick'))
  at(onTick.generated, path.join(dist, 'cache.js'))
  for (const owner of leaks.owners) {
    if (owner.generated) assert.match(owner.source, /\.ts:\d+:\d+$/, JSON.stringify(owner))
  }
}

for (const name of ['map', 'inline']) {
  test(`leaks and summary name the .ts line of the class and the closure (${name === 'map' ? 'a .map beside each script' : 'the map inline'}), from the command line and the JS API`, async () => {
    const { dist, files } = builds[name]
    const { report: leaks, stderr } = json('leaks', ...files, '--top', '0')
    pointsAtTypeScript(leaks, dist)
    assert.equal(leaks.source_map_notes, undefined, stderr)
    assert.doesNotMatch(stderr, /note:/)

    const { report: summary } = json('summary', files[2], '--top', '0')
    const row = summary.classes.find((c) => c.name === 'Session')
    at(row.source, path.join(SRC, 'cache.ts'), lineOf('export class Session'))
    at(row.generated, path.join(dist, 'cache.js'))

    const text = cli('leaks', ...files)
    assert.equal(text.status, 0, text.stderr)
    assert.ok(text.stdout.includes(`${path.join(SRC, 'cache.ts')}:${lineOf('export class Session')}:`), text.stdout)

    // Each step of a retaining path to a leaked Session that has a place: the .ts one.
    const example = ownerClasses(leaks).find((c) => c.name === 'Session').example
    const { report: paths } = json('path', files[2], `@${example}`)
    const mapped = paths.paths.flat().filter((step) => step.generated)
    assert.ok(mapped.length > 0, JSON.stringify(paths.paths))
    for (const step of mapped) assert.match(step.source, /\/src\/cache\.ts:\d+:\d+$/, JSON.stringify(step))

    const { analysis } = require(ROOT)
    const apiPaths = await analysis.path(files[2], example, { sourceMaps: false })
    assert.ok(apiPaths.paths.flat().every((step) => step.generated === undefined))
    pointsAtTypeScript(await analysis.leaks(...files, { top: 0 }), dist)
    const api = await analysis.summary(files[2], { top: 0 })
    at(api.classes.find((c) => c.name === 'Session').source, path.join(SRC, 'cache.ts'), lineOf('export class Session'))
  })
}

test('--no-source-maps (sourceMaps: false) keeps the positions that ran', async () => {
  const { dist, files } = builds.map
  const { report } = json('summary', files[2], '--top', '0', '--no-source-maps')
  const row = report.classes.find((c) => c.name === 'Session')
  at(row.source, path.join(dist, 'cache.js'))
  assert.equal(row.generated, undefined)
  const api = await require(ROOT).analysis.summary(files[2], { top: 0, sourceMaps: false })
  at(api.classes.find((c) => c.name === 'Session').source, path.join(dist, 'cache.js'))
})

test('--source matches the original file, or the generated one; --package (app) keeps the mapped rows', () => {
  const { files } = builds.map
  const { report } = json('summary', files[2], '--top', '0', '--source', 'src/cache.ts')
  assert.ok(report.classes.some((c) => c.name === 'Session'), JSON.stringify(report.classes.map((c) => c.name)))
  for (const row of report.classes) assert.ok(row.source.includes('src/cache.ts'), row.source)
  const generated = json('summary', files[2], '--top', '0', '--source', 'dist-map/cache.js').report
  assert.ok(generated.classes.some((c) => c.name === 'Session'))
})

test('a heap profile names the .ts line of each function of the service', () => {
  const { dist, profile } = builds.map
  const { report } = json('profile', 'top', profile, '--top', '0')
  const ours = report.functions.filter((f) => f.generated)
  assert.ok(ours.length > 0, JSON.stringify(report.functions.slice(0, 5)))
  const serverTs = fs.readFileSync(path.join(SRC, 'server.ts'), 'utf8').split('\n')
  const declared = (file, name) => (file.endsWith('cache.ts') ? CACHE_TS.split('\n') : serverTs).findIndex((line) => new RegExp(`\\b${name}\\(`).test(line)) + 1
  for (const row of ours) {
    const match = /^(.*\.ts):(\d+)$/.exec(row.location)
    assert.ok(match, JSON.stringify(row))
    assert.ok(row.generated.startsWith(dist), JSON.stringify(row))
    if (['add', 'work', 'makeTicker', 'main'].includes(row.function)) assert.equal(Number(match[2]), declared(match[1], row.function), JSON.stringify(row))
  }
})

test('the HTML report names the .ts files', () => {
  const { files } = builds.map
  const out = path.join(app, 'report.html')
  const run = cli('report', ...files, '--out', out)
  assert.equal(run.status, 0, run.stderr)
  assert.ok(fs.readFileSync(out, 'utf8').includes(`${path.join(SRC, 'cache.ts')}:${lineOf('export class Session')}:`))
})

test('snapshots from another machine: the scripts and maps found under --source-root (sourceRoot), the files named as that machine names them', async () => {
  const { dist, files } = builds.moved
  const elsewhere = path.join(app, 'elsewhere')
  fs.mkdirSync(elsewhere)
  fs.renameSync(dist, path.join(elsewhere, path.basename(dist)))

  const lost = json('leaks', ...files, '--top', '0')
  const session = ownerClasses(lost.report).find((c) => c.name === 'Session')
  at(session.source, path.join(dist, 'cache.js'))
  assert.ok(lost.report.source_map_notes.some((note) => note.includes('--source-root')), JSON.stringify(lost.report.source_map_notes))
  assert.match(lost.stderr, /rheapdump: note: .*not found on this machine/)

  pointsAtTypeScript(json('leaks', ...files, '--top', '0', '--source-root', elsewhere).report, dist)
  pointsAtTypeScript(await require(ROOT).analysis.leaks(...files, { top: 0, sourceRoot: elsewhere }), dist)
})

test('a corrupt map leaves the generated positions, with a note saying why; the report still works', async () => {
  const { dist, files } = builds.corrupt
  fs.writeFileSync(path.join(dist, 'cache.js.map'), '{"version":3,"sources":["../src/cache.ts"],"mappings":"@@@@')
  const { report, stderr } = json('leaks', ...files, '--top', '0')
  const session = ownerClasses(report).find((c) => c.name === 'Session')
  at(session.source, path.join(dist, 'cache.js'))
  assert.equal(session.generated, undefined)
  const notes = report.source_map_notes.filter((note) => note.includes('cache.js.map'))
  assert.equal(notes.length, 1, JSON.stringify(report.source_map_notes))
  assert.equal(stderr.split('\n').filter((line) => line.includes('cache.js.map')).length, 1, stderr)
  const api = await require(ROOT).analysis.leaks(...files, { top: 0 })
  assert.ok(api.source_map_notes.some((note) => note.includes('cache.js.map')))
})

/** Base64 VLQ, as source maps encode numbers. */
function vlq(value) {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let rest = value < 0 ? (-value << 1) | 1 : value << 1
  let out = ''
  do {
    let digit = rest & 31
    rest >>>= 5
    if (rest > 0) digit |= 32
    out += digits[digit]
  } while (rest > 0)
  return out
}

test('a bundle counts each object under the package its map places the code in: memory by package, --package', () => {
  // What a bundler makes of a package and the application: one script, one map whose sources
  // are the package's file and the application's, each generated line from one original line.
  const dir = path.join(app, 'bundled')
  const lines = [
    ['node_modules/tiny-lru/index.js', 4, "class LruEntry { constructor(key) { this.key = key; this.value = 'v'.repeat(64) } }"],
    ['src/app.js', 2, 'const entries = []'],
    ['src/app.js', 3, 'globalThis.bundled = entries'],
    ['src/app.js', 4, 'for (let i = 0; i < 3000; i++) entries.push(new LruEntry(i))'],
    ['src/app.js', 5, 'require(process.env.RHEAPDUMP_UNDER_TEST).snapshot({ dir: process.argv[2] }).then((s) => process.stdout.write(s.path))'],
  ]
  const sources = [...new Set(lines.map(([source]) => source))]
  let previous = [0, 0]
  const mappings = lines.map(([source, line]) => {
    const index = sources.indexOf(source)
    const segment = vlq(0) + vlq(index - previous[0]) + vlq(line - 1 - previous[1]) + vlq(0)
    previous = [index, line - 1]
    return segment
  })
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true })
  const script = path.join(dir, 'dist', 'server.js')
  fs.writeFileSync(script, `${lines.map(([, , code]) => code).join('\n')}\n//# sourceMappingURL=server.js.map\n`)
  fs.writeFileSync(`${script}.map`, JSON.stringify({ version: 3, sources: sources.map((s) => `../${s}`), names: [], mappings: mappings.join(';') }))
  const run = spawnSync(process.execPath, [script, dir], { encoding: 'utf8', timeout: 60000, env: { ...process.env, RHEAPDUMP_UNDER_TEST: ROOT } })
  assert.equal(run.status, 0, run.stderr)
  const snapshot = run.stdout

  const { report } = json('summary', snapshot, '--top', '0')
  const lru = report.packages.find((p) => p.name === 'tiny-lru')
  assert.ok(lru && lru.count >= 3000, JSON.stringify(report.packages))
  const entry = report.classes.find((c) => c.name === 'LruEntry')
  assert.equal(entry.package, 'tiny-lru')
  at(entry.source, path.join(dir, 'node_modules', 'tiny-lru', 'index.js'), 4)
  at(entry.generated, script, 1)

  const only = json('summary', snapshot, '--top', '0', '--package', 'tiny-lru').report
  assert.deepEqual(only.classes.map((c) => c.name), ['LruEntry'])

  const unmapped = json('summary', snapshot, '--top', '0', '--no-source-maps').report
  assert.equal(unmapped.packages.find((p) => p.name === 'tiny-lru'), undefined)
  assert.equal(unmapped.classes.find((c) => c.name === 'LruEntry').package, '(app)')
})
