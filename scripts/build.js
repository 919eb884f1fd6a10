'use strict'

// Builds the native modules and the command-line program with cargo and puts them where they
// are looked for: rheapdump.<platform>-<arch>[-<libc>].node and, loaded only by the processes
// that use them, rheapdump-upload.… and rheapdump-analysis.… beside it in the package root
// (lib/binding.js), and
// bin/rheapdump-cli-<platform>-<arch> (lib/program.js picks the one that runs here); the
// portable command-line program, bin/rheapdump-cli.wasm (lib/wasi.js), in a checkout and
// wherever it is missing; in a checkout, their contracts lib/*addon.d.ts too
// (scripts/binding-types.js).
// Usage: node scripts/build.js [--debug]            for this machine
//        node scripts/build.js --target <triple>    cross-compiled, for one of TARGETS
//        node scripts/build.js --pack               every one of TARGETS (npm pack's prepack)

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const bindingTypes = require('./binding-types')

const root = path.join(__dirname, '..')

/**
 * The prebuilt binaries the package ships, by Rust target triple, named as Node names the
 * platform. A new one is a line here plus its linker in .cargo/config.toml and its toolchain
 * in .ci/run.
 */
const TARGETS = {
  'x86_64-unknown-linux-gnu': { platform: 'linux', arch: 'x64', libc: '-gnu' },
  'aarch64-unknown-linux-gnu': { platform: 'linux', arch: 'arm64', libc: '-gnu' },
}

function hostLibc() {
  if (process.platform !== 'linux') return ''
  const report = process.report && process.report.getReport()
  return report && report.header && report.header.glibcVersionRuntime ? '-gnu' : '-musl'
}

const HOST = { platform: process.platform, arch: process.arch, libc: hostLibc() }

/**
 * The native modules: the crate, and the stem of the .node file it becomes (lib/binding.js
 * looks for `<stem>.<platform>-<arch>[-<libc>].node`). They build where crates/platform has a
 * module (Linux); elsewhere cargo stops there and lib/binding.js loads the fallback.
 */
const MODULES = [
  { crate: 'rheapdump', stem: 'rheapdump' },
  { crate: 'rheapdump-upload-addon', stem: 'rheapdump-upload' },
  { crate: 'rheapdump-analysis-addon', stem: 'rheapdump-analysis' },
]

function artifactName(crate, platform) {
  const name = `lib${crate.replaceAll('-', '_')}`
  return platform === 'darwin' ? `${name}.dylib` : `${name}.so`
}

/** The command-line program (crates/cli) for a platform, which bin/rheapdump runs. */
function cliPath({ platform, arch } = HOST) {
  return path.join(root, 'bin', `rheapdump-cli-${platform}-${arch}`)
}

/** The portable command-line program, shipped prebuilt: the package's fallback on every platform. */
const PORTABLE = path.join(root, 'bin', 'rheapdump-cli.wasm')
const WASI_TARGET = 'wasm32-wasip1'

function cargoCommand() {
  return process.env.CARGO || 'cargo'
}

function rustcHost() {
  const result = spawnSync(process.env.RUSTC || 'rustc', ['-vV'], { encoding: 'utf8' })
  return result.status === 0 ? /^host: (\S+)$/m.exec(result.stdout)[1] : null
}

/** The linker .cargo/config.toml names for a target, if any. */
function configuredLinker(triple) {
  const config = fs.readFileSync(path.join(root, '.cargo', 'config.toml'), 'utf8')
  const section = config.split(/^\[/m).find((s) => s.startsWith(`target.${triple}]`))
  const match = section && /^linker\s*=\s*"([^"]+)"/m.exec(section)
  return match ? match[1] : null
}

/** What a cross build for `triple` lacks on this machine, as a list of fixes; empty when ready. */
function missingToolchain(triple) {
  const missing = []
  const libdir = spawnSync(process.env.RUSTC || 'rustc', ['--print', 'target-libdir', '--target', triple], { encoding: 'utf8' })
  if (libdir.status !== 0 || !fs.existsSync(libdir.stdout.trim())) missing.push(`its Rust standard library (rustup target add ${triple})`)
  const linker = configuredLinker(triple)
  if (linker && spawnSync(linker, ['--version'], { stdio: 'ignore' }).error) missing.push(`the linker ${linker} named in .cargo/config.toml`)
  return missing
}

function build({ release = true, target = null } = {}) {
  const cross = target !== null
  const platform = cross ? TARGETS[target] : HOST
  if (!platform) throw new Error(`rheapdump: no build is defined for ${target}; the targets are ${Object.keys(TARGETS).join(', ')}`)
  if (cross) {
    const missing = missingToolchain(target)
    if (missing.length) {
      throw new Error(`rheapdump: building for ${target} needs ${missing.join(' and ')}; .ci/run installs the cross toolchains`)
    }
  }
  const packages = [...MODULES.map(({ crate }) => crate), 'rheapdump-cli'].flatMap((crate) => ['--package', crate])
  const args = ['build', ...packages, ...(release ? ['--release'] : []), ...(cross ? ['--target', target] : [])]
  const started = Date.now()
  // A checkout (with devDependencies) also regenerates the .d.ts files from a build for this machine.
  const types = !cross && bindingTypes.available()
  const env = { ...process.env, ...(types ? bindingTypes.cargoEnv() : {}) }
  const result = spawnSync(cargoCommand(), args, { cwd: root, stdio: 'inherit', env })
  if (result.error && result.error.code === 'ENOENT') {
    throw Object.assign(
      new Error(
        'rheapdump: no prebuilt binary fits this platform and cargo was not found to build one. ' +
          'Install Rust (https://rustup.rs), then run `npm rebuild rheapdump`.',
      ),
      { cause: 'cargo was not found' },
    )
  }
  if (result.status !== 0) {
    throw Object.assign(new Error(`rheapdump: cargo ${args.join(' ')} failed (exit ${result.status})`), { cause: `cargo build failed (exit ${result.status})` })
  }
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
  const built = path.join(targetDir, ...(cross ? [target] : []), release ? 'release' : 'debug')
  const modules = MODULES.map(({ crate, stem }) =>
    place(path.join(built, artifactName(crate, platform.platform)), path.join(root, `${stem}.${platform.platform}-${platform.arch}${platform.libc}.node`)),
  )
  const program = place(path.join(built, 'rheapdump'), cliPath(platform))
  if (types) {
    const generated = spawnSync(process.execPath, [path.join(__dirname, 'binding-types.js')], { stdio: 'inherit' })
    if (generated.status !== 0) throw new Error('rheapdump: writing the native modules\' .d.ts files failed')
  }
  const products = [...modules.map((file) => path.basename(file)), `bin/${path.basename(program)}`]
  // The portable program is built for the package (a checkout) or when it is missing; an
  // installed package that builds its native code keeps the .wasm it shipped with. (A checkout
  // is where the devDependencies that generate the types are.) One is enough for all targets.
  if (!cross && (types || !fs.existsSync(PORTABLE))) products.push(buildPortable({ release, required: types }))
  console.error(`rheapdump: built ${products.filter(Boolean).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return modules[0]
}

/** Builds bin/rheapdump-cli.wasm; without the wasm32-wasip1 target, fails only if `required`. */
function buildPortable({ release, required }) {
  const args = ['build', '--package', 'rheapdump-cli', '--target', WASI_TARGET, ...(release ? ['--release'] : [])]
  const result = spawnSync(cargoCommand(), args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    const message = `rheapdump: cargo ${args.join(' ')} failed (exit ${result.status}); \`rustup target add ${WASI_TARGET}\` adds the target`
    if (required) throw new Error(message)
    console.error(`${message}; the command line runs the native program only`)
    return null
  }
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
  return `bin/${path.basename(place(path.join(targetDir, WASI_TARGET, release ? 'release' : 'debug', 'rheapdump.wasm'), PORTABLE))}`
}

/**
 * Every build in TARGETS, for the package: the one for this machine natively (sharing
 * target/release with `npm install`), the others cross-compiled. Fails, saying what to
 * install, when a cross toolchain is missing: a package without them would silently send
 * those machines to the fallback.
 */
function buildAll() {
  const host = rustcHost()
  for (const triple of Object.keys(TARGETS)) build(triple === host ? {} : { target: triple })
}

// Copy, then rename: a running process that has the old binary mapped keeps its copy intact.
function place(built, dest) {
  const temporary = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, temporary)
  fs.renameSync(temporary, dest)
  return dest
}

module.exports = { build, buildAll, cliPath, missingToolchain, TARGETS, PORTABLE }

if (require.main === module) {
  const argv = process.argv.slice(2)
  const targetAt = argv.indexOf('--target')
  try {
    if (argv.includes('--pack')) buildAll()
    else build({ release: !argv.includes('--debug'), target: targetAt >= 0 ? argv[targetAt + 1] : null })
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
