'use strict'

// The package as users get it: `npm pack`, then `npm install <tarball>` into an unrelated app.

const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir } = require('./helpers/proc')
const { validateFile } = require('../tools/heapsnapshot')

const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })

test('the packed tarball installs into a fresh app, where require and import work', (t) => {
  const work = tempDir(t)
  const [{ filename, files }] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], ROOT))
  const names = files.map((f) => f.path)
  for (const arch of ['x64', 'arm64']) {
    for (const stem of ['rheapdump', 'rheapdump-upload', 'rheapdump-analysis']) {
      assert.ok(names.includes(`${stem}.linux-${arch}-gnu.node`), `carries the prebuilt linux-${arch} ${stem} module`)
    }
    assert.ok(names.includes(`bin/rheapdump-cli-linux-${arch}`), `carries the prebuilt linux-${arch} command-line program`)
  }
  assert.ok(names.includes('bin/rheapdump') && names.includes('bin/rheapdump-cli.wasm'), 'carries the command line and its portable program')
  assert.ok(names.includes('crates/addon/src/signal.rs') && names.includes('crates/upload-addon/src/lib.rs') && names.includes('crates/analysis-addon/src/analysis.rs') && names.includes('crates/platform/src/linux/snapshot_file.rs') && names.includes('crates/cli/src/main.rs') && names.includes('Cargo.lock'), 'carries the sources for a build')
  const unshipped = ['__test__/', 'tools/', 'bench/', 'demo/', 'target/']
  assert.deepEqual(names.filter((n) => unshipped.some((dir) => n.startsWith(dir)) || n.endsWith('.heapsnapshot')), [])

  const app = path.join(work, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}')
  npm(['install', path.join(work, filename)], app)
  const cjs = spawnSync(process.execPath, ['-e', 'const r = require("rheapdump"); console.log(typeof r.writeSnapshot, r.signalStatus().active)'], { cwd: app, encoding: 'utf8' })
  assert.equal(cjs.stdout.trim(), 'function true', cjs.stderr)
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', 'import r, { snapshot } from "rheapdump"; console.log(typeof r.gc, typeof snapshot)'], { cwd: app, encoding: 'utf8' })
  assert.equal(esm.stdout.trim(), 'function function', esm.stderr)
  // npm links bin/rheapdump into node_modules/.bin; through that link it finds its program.
  const version = spawnSync(path.join(app, 'node_modules', '.bin', 'rheapdump'), ['--version'], { cwd: app, encoding: 'utf8' })
  assert.equal(version.stdout.trim(), `rheapdump ${require('../package.json').version}`, version.stderr)
})

test('without a fitting binary and without cargo, npm install of the tarball exits 0 with one line, and the fallback keeps the API', (t) => {
  const work = tempDir(t)
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT))
  const app = path.join(work, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}')
  // RHEAPDUMP_FALLBACK=1 makes the shipped binary count as not fitting; CARGO points nowhere.
  const env = { ...process.env, RHEAPDUMP_FALLBACK: '1', CARGO: path.join(work, 'no-cargo-here') }
  const install = spawnSync('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, filename)], { cwd: app, encoding: 'utf8', env })
  assert.equal(install.status, 0, install.stderr)
  const lines = install.stderr.split('\n').filter((l) => l.startsWith('rheapdump:'))
  assert.equal(lines.length, 1, install.stderr)
  assert.match(lines[0], /^rheapdump: no native binary fits linux-x64 and none could be built \(cargo was not found\); using the pure-JS fallback: .*npm rebuild rheapdump/)

  const use = spawnSync(process.execPath, ['-e', `
    const r = require('rheapdump')
    const written = r.writeSnapshot()
    r.analysis.summary('x').catch((err) => console.log(JSON.stringify({ written, code: err.code, vsz: 'vsz' in r.memoryUsage(), gc: r.gc().durationMs >= 0 })))
  `], { cwd: app, encoding: 'utf8', env: { ...process.env, RHEAPDUMP_FALLBACK: '1' } })
  // The analysis runs the portable program, which finds no file 'x'.
  assert.deepEqual(JSON.parse(use.stdout), { written: true, code: 'ENOENT', vsz: false, gc: true }, use.stderr)
  const [snapshot] = fs.readdirSync(app).filter((n) => n.endsWith('.heapsnapshot'))
  assert.equal(fs.statSync(path.join(app, snapshot)).mode & 0o777, 0o600)
  validateFile(path.join(app, snapshot))
})

test('in a checkout, a failed build fails the install, so that developers see it', (t) => {
  const pkg = tempDir(t)
  for (const entry of ['package.json', 'index.js', 'lib', 'scripts']) fs.cpSync(path.join(ROOT, entry), path.join(pkg, entry), { recursive: true })
  fs.mkdirSync(path.join(pkg, '.git'))
  const result = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'install.js')], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, PATH: path.dirname(process.execPath), CARGO: path.join(pkg, 'no-cargo-here') },
  })
  assert.equal(result.status, 1)
  assert.match(result.stderr, /no prebuilt binary fits this platform and cargo was not found/)
  assert.match(result.stderr, /npm rebuild rheapdump/)
})
