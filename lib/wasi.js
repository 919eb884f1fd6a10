// @ts-check
'use strict'

// Runs the portable command-line program, bin/rheapdump-cli.wasm (crates/cli built for
// wasm32-wasip1), with node:wasi: where no native program fits (macOS, Windows, musl, no
// prebuilt binary), bin/rheapdump runs it in its own process and lib/analysis.js on a worker
// thread. Its output is the native program's, byte for byte.
//
// node:wasi reaches only the directories it is given ("preopens"): every root of the host's
// file system is given, under the same name on POSIX (`/`) and as `/c`, `/d`, … on Windows,
// where drive paths in the arguments are rewritten to match. It has no working directory
// either: the host's goes in RHEAPDUMP_CWD, which the program enters first
// (crates/cli/src/platform/wasi.rs).

const fs = require('node:fs')
const path = require('node:path')

/** The portable program, built by scripts/build.js and shipped in the package. */
const PROGRAM = path.join(__dirname, '..', 'bin', 'rheapdump-cli.wasm')

/** @type {WebAssembly.Module | undefined} */
let compiled

/** The compiled program: compiled once per process (or handed to a worker already compiled). */
function program() {
  compiled ??= new WebAssembly.Module(fs.readFileSync(PROGRAM))
  return compiled
}

const windows = process.platform === 'win32'

/** The host's roots as the program sees them: `/`, or one `/x` per Windows drive. */
function preopens() {
  if (!windows) return { '/': '/' }
  /** @type {Record<string, string>} */
  const drives = {}
  for (const letter of 'abcdefghijklmnopqrstuvwxyz') {
    if (fs.existsSync(`${letter}:\\`)) drives[`/${letter}`] = `${letter}:\\`
  }
  return drives
}

/** A host path as the program sees it (Windows: `C:\dir\f` → `/c/dir/f`); others as they are. */
function guestPath(/** @type {string} */ arg) {
  if (!windows) return arg
  const drive = /^([A-Za-z]):[\\/]/.exec(arg)
  return drive ? `/${drive[1].toLowerCase()}/${arg.slice(3).replaceAll('\\', '/')}` : arg.replaceAll('\\', '/')
}

/**
 * Loads node:wasi without its ExperimentalWarning, which would add a line to stderr that the
 * native program does not print.
 * @template T
 * @param {() => T} load
 */
function quietly(load) {
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  try {
    return load()
  } finally {
    process.emitWarning = emitWarning
  }
}

/**
 * Runs the program to its end on this thread and returns its exit status.
 * @param {string[]} args the command line after `rheapdump`
 * @param {{ stdout?: number, stderr?: number, module?: WebAssembly.Module, cwd?: string }} [options] descriptors for its output
 * @returns {{ status: number, memory: number }} and the size its linear memory grew to, in bytes
 */
function run(args, { stdout = 1, stderr = 2, module = program(), cwd = process.cwd() } = {}) {
  const { WASI } = quietly(() => require('node:wasi'))
  const wasi = new WASI({
    version: 'preview1',
    args: ['rheapdump', ...args.map(guestPath)],
    env: { ...process.env, RHEAPDUMP_CWD: guestPath(cwd) },
    preopens: preopens(),
    returnOnExit: true,
    stdout,
    stderr,
  })
  const instance = new WebAssembly.Instance(module, /** @type {WebAssembly.Imports} */ (wasi.getImportObject()))
  const memory = () => /** @type {WebAssembly.Memory} */ (instance.exports.memory).buffer.byteLength
  try {
    return { status: wasi.start(instance), memory: memory() }
  } catch (err) {
    // A trap: a panic (its message is already on stderr) or an overrun the program did not catch.
    fs.writeSync(stderr, `rheapdump: ERR_RHEAPDUMP_ANALYSIS_INTERNAL: the portable analysis stopped (${err}); this is a bug in rheapdump\n`)
    return { status: 70, memory: memory() }
  }
}

module.exports = { PROGRAM, program, run }
