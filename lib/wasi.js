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

// node:wasi's fast API calls let V8 collect garbage inside a call (uvwasi reports its buffers as
// external memory), and Node 20 and 22 then crash mid-analysis (nodejs/node#46777, #53087);
// without them every WASI call takes the ordinary path. Process-wide and set once, before the
// program is compiled: the calls are bound when the module is instantiated.
function slowCalls() {
  require('node:v8').setFlagsFromString('--no-turbo-fast-api-calls')
}

/** The compiled program: compiled once per process (or handed to a worker already compiled). */
function program() {
  slowCalls()
  compiled ??= new WebAssembly.Module(fs.readFileSync(PROGRAM))
  return compiled
}

/**
 * The program compiled for a process of its own (bin/rheapdump). On Node 20 and 22, by V8's
 * optimizing compiler alone: no baseline (Liftoff) code first and no tier-up, which takes
 * ~10 MiB of compiled code and compiler memory off the peak and runs the analysis faster
 * (bench/README.md, "The portable program"). Not on later majors: Node 26's V8 aborted with it
 * (a fatal `function_feedback` check while inlining WebAssembly). The flag is process-wide, so
 * never in a process that hosts an application (lib/analysis.js).
 */
function programOfItsOwn() {
  if (!compiled && Number(process.versions.node.split('.')[0]) <= 22) require('node:v8').setFlagsFromString('--no-liftoff')
  return program()
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
    // A request (`request JSON`) has its paths made the program's already (guestRequest).
    args: ['rheapdump', ...(args[0] === 'request' ? args : args.map(guestPath))],
    env: { ...process.env, RHEAPDUMP_CWD: guestPath(cwd) },
    preopens: preopens(),
    returnOnExit: true,
    stdout,
    stderr,
  })
  const instance = new WebAssembly.Instance(module, /** @type {WebAssembly.Imports} */ (wasi.getImportObject()))
  const memory = () => /** @type {WebAssembly.Memory} */ (instance.exports.memory).buffer.byteLength
  // Held until the program ends: once start() is called nothing in JS refers to `wasi`, and a
  // garbage collection during the program (its reads grow external memory) would otherwise
  // destroy the native WASI state under the running call (Node aborts in uvwasi_destroy).
  running.add(wasi)
  try {
    return { status: wasi.start(instance), memory: memory() }
  } catch (err) {
    // A trap: a panic (its message is already on stderr) or an overrun the program did not catch.
    fs.writeSync(stderr, `rheapdump: ERR_RHEAPDUMP_ANALYSIS_INTERNAL: the portable analysis stopped (${err}); this is a bug in rheapdump\n`)
    return { status: 70, memory: memory() }
  } finally {
    running.delete(wasi)
  }
}

/** The WASI instances whose programs are running. */
const running = new Set()

/** @type {Promise<WebAssembly.Module> | undefined} */
let compiling

/**
 * Runs the program on a worker thread, its module compiled once per process.
 * @param {string[]} args
 * @returns {Promise<{ status: number, stdout: string, stderr: string }>}
 */
async function runInWorker(args) {
  slowCalls()
  compiling ??= fs.promises.readFile(PROGRAM).then((bytes) => WebAssembly.compile(bytes))
  const module = await compiling
  const { Worker } = require('node:worker_threads')
  const worker = new Worker(path.join(__dirname, 'wasi-worker.js'), { workerData: { program: module, args, cwd: process.cwd() } })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`rheapdump: the analysis worker exited with code ${code} before answering`)))
  })
}

/**
 * A request's host paths as the program sees them (Windows: drive paths and backslashes);
 * elsewhere the request as it is.
 * @param {string} request
 */
function guestRequest(request) {
  if (!windows) return request
  return JSON.stringify(JSON.parse(request), (_key, value) => (typeof value === 'string' && /^[A-Za-z]:[\\/]|\\/.test(value) ? guestPath(value) : value))
}

/** A refusal the program prints before it runs a request: `rheapdump: FILE: CODE: text`. */
const REFUSAL = /^rheapdump: (.*): ((?:ERR_|E)[A-Z0-9_]+): (.*)$/m

/**
 * The analysis module's one function (lib/analysis-addon.d.ts), answered by the portable
 * program's hidden `request` command: what lib/analysis.js runs when that module did not load.
 * The same request, the same report's JSON or the same failure. Progress bars are not drawn.
 */
const analyses = {
  /**
   * @param {string} request
   * @returns {Promise<string | import('./analysis-addon').AnalysisFailure>}
   */
  async analyze(request) {
    const { status, stdout, stderr } = await runInWorker(['request', guestRequest(request)])
    if (status === 0) return stdout
    try {
      return JSON.parse(stdout)
    } catch {
      // Refused before the request ran (a file over 4 GiB's worth), or out of memory.
      const refused = REFUSAL.exec(stderr)
      if (refused) return { code: refused[2], path: refused[1], description: refused[3] }
      return { code: 'ERR_RHEAPDUMP_ANALYSIS_INTERNAL', path: '', description: stderr.trim() || `the portable program exited with status ${status}` }
    }
  },
}

module.exports = { PROGRAM, program, programOfItsOwn, run, analyses }
