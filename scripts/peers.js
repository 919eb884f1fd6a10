'use strict'

// Sets up the peers rheapdump is measured against: the heap-snapshot analyzers used by
// tools/peers/*.js (benchmarks and parity tests), and heapdump 0.3.15 with the test
// libraries its own suite needs (its install script is not run: only its tests are used,
// by __test__/heapdump-suite.test.js). Idempotent:
//   1. installs the pinned peers into .cache/peers if any is missing or at the
//      wrong version;
//   2. bundles Chrome DevTools' heap snapshot worker into
//      .cache/peers/devtools-heap-snapshot.cjs (a plain CommonJS module for Node)
//      if the bundle is missing or older than this script or the installed
//      chrome-devtools-frontend.
// Usage: node scripts/peers.js          (prints nothing on success)
// Also usable as a module: require('./peers').ensure() -> bundle path.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const peersDir = path.join(root, '.cache', 'peers')
const modulesDir = path.join(peersDir, 'node_modules')
const bundlePath = path.join(peersDir, 'devtools-heap-snapshot.cjs')

const PEERS = {
  'chrome-devtools-frontend': '1.0.1705227',
  esbuild: '0.28.2',
  '@memlab/core': '2.0.5',
  heapdump: '0.3.15',
  tap: '0.4.13',
  shelljs: '0.3.0',
}

function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(modulesDir, name, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

function ensureInstalled() {
  const stale = Object.keys(PEERS).filter((name) => installedVersion(name) !== PEERS[name])
  if (stale.length === 0) return
  fs.mkdirSync(peersDir, { recursive: true })
  const pkg = path.join(peersDir, 'package.json')
  if (!fs.existsSync(pkg)) fs.writeFileSync(pkg, '{"private":true}\n')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...Object.entries(PEERS).map(([n, v]) => `${n}@${v}`)]
  // npm's own progress goes to stderr so stdout stays clean for callers.
  const result = spawnSync(npm, args, {
    cwd: peersDir,
    stdio: ['ignore', process.stderr, 'inherit'],
    env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' },
    shell: process.platform === 'win32',
  })
  if (result.error) throw new Error(`npm install failed: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`npm install exited with ${result.status}`)
  const still = Object.keys(PEERS).filter((name) => installedVersion(name) !== PEERS[name])
  if (still.length) throw new Error(`peers still missing after npm install: ${still.join(', ')}`)
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs
  } catch {
    return -Infinity
  }
}

function bundleIsFresh() {
  const built = mtime(bundlePath)
  return built >= mtime(__filename) &&
    built >= mtime(path.join(modulesDir, 'chrome-devtools-frontend', 'package.json'))
}

// Modules the worker imports that don't exist in the npm package or make no sense
// outside a browser. Keys are matched against the resolved path's tail.
const STUBS = {
  // Generated at DevTools build time (core/i18n/generate-locales-js.js); only its
  // .d.ts ships. i18nImpl.ts needs the constants to construct its I18n instance.
  'core/i18n/locales.js': `
    export const LOCALES = ['en-US'];
    export const BUNDLED_LOCALES = ['en-US'];
    export const DEFAULT_LOCALE = 'en-US';
    export const REMOTE_FETCH_PATTERN = '';
    export const LOCAL_FETCH_PATTERN = '';
  `,
  // Picks the browser or Node host runtime with a top-level `await import()`,
  // which esbuild can't emit as CommonJS. We only ever run under Node, so bind
  // the Node runtime statically (resolved relative to the real file).
  'core/platform/HostRuntime.js': `
    import * as NodeRuntime from './node/node.js';
    export const IS_NODE = true;
    export const IS_BROWSER = false;
    export const HOST_RUNTIME = NodeRuntime.HostRuntime.HOST_RUNTIME;
  `,
}

function stubPlugin() {
  return {
    name: 'rheapdump-peer-stubs',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace !== 'file' || !args.resolveDir) return undefined
        const full = path.resolve(args.resolveDir, args.path).split(path.sep).join('/')
        for (const tail of Object.keys(STUBS)) {
          if (full.endsWith('/front_end/' + tail)) {
            return { path: tail, namespace: 'peer-stub', pluginData: { resolveDir: path.dirname(full) } }
          }
        }
        return undefined
      })
      build.onLoad({ filter: /.*/, namespace: 'peer-stub' }, (args) => ({
        contents: STUBS[args.path],
        resolveDir: args.pluginData.resolveDir,
        loader: 'js',
      }))
    },
  }
}

function buildBundle() {
  const esbuild = require(path.join(modulesDir, 'esbuild'))
  const frontEnd = path.join(modulesDir, 'chrome-devtools-frontend', 'front_end')
  const worker = path.join(frontEnd, 'entrypoints', 'heap_snapshot_worker')
  const rel = (p) => './' + path.relative(frontEnd, p).split(path.sep).join('/')
  const entry = `
    export {HeapSnapshotLoader} from '${rel(path.join(worker, 'HeapSnapshotLoader.js'))}';
    export {HeapSnapshotProgress, JSHeapSnapshot, SecondaryInitManager} from '${rel(path.join(worker, 'HeapSnapshot.js'))}';
    export {NodeFilter} from '${rel(path.join(frontEnd, 'models', 'heap_snapshot', 'HeapSnapshotModel.js'))}';
  `
  const tmp = `${bundlePath}.${process.pid}.tmp`
  return esbuild.build({
    stdin: { contents: entry, resolveDir: frontEnd, sourcefile: 'devtools-heap-snapshot-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: tmp,
    plugins: [stubPlugin()],
    logLevel: 'silent',
    legalComments: 'none',
    // DevTools targets current Chrome; Node 20 lacks Promise.withResolvers (Node 22+).
    // Rewrite references to a local shim instead of patching the global.
    define: { 'Promise.withResolvers': '__peersPromiseWithResolvers' },
    banner: {
      js: [
        `// Generated by scripts/peers.js from chrome-devtools-frontend@${PEERS['chrome-devtools-frontend']}. Do not edit.`,
        'const __peersPromiseWithResolvers = typeof Promise.withResolvers === "function"',
        '  ? () => Promise.withResolvers()',
        '  : () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b }); return { promise, resolve, reject } };',
      ].join('\n'),
    },
  }).then((res) => {
    for (const w of res.warnings) process.stderr.write(`esbuild warning: ${w.text}\n`)
    fs.renameSync(tmp, bundlePath)
  }, (err) => {
    fs.rmSync(tmp, { force: true })
    const msgs = (err.errors || []).map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`)
    throw new Error(`esbuild failed:\n${msgs.join('\n') || err.message}`)
  })
}

async function ensure() {
  ensureInstalled()
  if (!bundleIsFresh()) {
    // Once, right after a fresh install on a loaded machine, esbuild could not resolve files
    // that were there a moment later: one more try before giving up.
    await buildBundle().catch((err) => {
      process.stderr.write(`peers: ${err.message}\npeers: trying once more\n`)
      return new Promise((resolve) => setTimeout(resolve, 2000)).then(buildBundle)
    })
  }
  return bundlePath
}

module.exports = { ensure, ensureInstalled, bundlePath, modulesDir, PEERS }

if (require.main === module) {
  ensure().catch((err) => {
    process.stderr.write(`peers: ${err && err.stack ? err.message : err}\n`)
    process.exit(1)
  })
}
