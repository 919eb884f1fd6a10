'use strict'

// lib/addon.d.ts, lib/upload-addon.d.ts and lib/analysis-addon.d.ts, the contracts of the native modules, generated
// from the Rust side: while cargo compiles a module with NAPI_TYPE_DEF_TMP_FOLDER set,
// napi-derive writes the type of every #[napi] item into a file there named after its crate, and
// @napi-rs/cli (a devDependency: only a checkout needs it) renders each file as a .d.ts. `tsc`
// checks index.js and lib/ against them (tsconfig.json, __test__/types.test.js), so JS cannot
// call a native function that does not exist, or with the wrong arguments.
//
// Usage: node scripts/binding-types.js           write the .d.ts files from the last build
//        node scripts/binding-types.js --check   build, then fail if one differs

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The native modules: the crate (its package name names napi-derive's file) and its contract. */
const MODULES = [
  { crate: 'rheapdump', source: 'crates/addon/src/', output: path.join(root, 'lib', 'addon.d.ts') },
  { crate: 'rheapdump-upload-addon', source: 'crates/upload-addon/src/', output: path.join(root, 'lib', 'upload-addon.d.ts') },
  { crate: 'rheapdump-analysis-addon', source: 'crates/analysis-addon/src/', output: path.join(root, 'lib', 'analysis-addon.d.ts') },
]

const header = (source) => `// Generated from ${source} by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: \`node scripts/build.js\` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.
`

/** Where napi-derive writes the type of each #[napi] item while the modules compile. */
function typeDefDir() {
  return path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), 'napi-type-def')
}

/** napi-build reruns a crate's build script when this variable of its own changes. */
const forceBuildVariable = (crate) => `NAPI_FORCE_BUILD_${crate.toUpperCase().replaceAll('-', '_')}`

/**
 * The environment for cargo. napi-build reruns the build script, and so recompiles the module,
 * when either variable changes; napi-derive writes the types only while the module compiles. So
 * the folder is fixed, and each NAPI_FORCE_BUILD_<crate> is a generation kept beside it and
 * bumped only when the folder lost a module's file: every build and check then passes the same
 * values and recompiles nothing that is fresh.
 */
function cargoEnv() {
  const dir = typeDefDir()
  fs.mkdirSync(dir, { recursive: true })
  const stamp = `${dir}.generation` // beside the folder: the renderer reads every file in it
  let generation = fs.existsSync(stamp) ? Number(fs.readFileSync(stamp, 'utf8')) || 0 : 0
  if (MODULES.some(({ crate }) => !fs.existsSync(path.join(dir, crate)))) fs.writeFileSync(stamp, String(++generation))
  const env = { NAPI_TYPE_DEF_TMP_FOLDER: dir }
  for (const { crate } of MODULES) env[forceBuildVariable(crate)] = String(generation)
  return env
}

/** Whether the renderer is installed (it is a devDependency: installed packages skip this). */
function available() {
  try {
    require.resolve('@napi-rs/cli')
    return true
  } catch {
    return false
  }
}

/** One module's .d.ts text from the last build's type definitions. */
async function render({ crate, source }) {
  // An empty folder would render an empty contract, against which nothing type-checks.
  const file = path.join(typeDefDir(), crate)
  if (!fs.existsSync(file)) {
    throw new Error(`no type definitions in ${file}: ${crate} did not compile with NAPI_TYPE_DEF_TMP_FOLDER set`)
  }
  // The renderer reads every file of a folder: give it a folder with this module's file alone.
  const alone = fs.mkdtempSync(`${typeDefDir()}.render-`)
  try {
    fs.copyFileSync(file, path.join(alone, crate))
    const { generateTypeDef } = require('@napi-rs/cli')
    const { dts } = await generateTypeDef({ typeDefDir: alone, cwd: root, dtsHeader: header(source) })
    return dts
  } finally {
    fs.rmSync(alone, { recursive: true, force: true })
  }
}

async function main() {
  if (process.argv.includes('--check')) {
    const args = ['build', '--release', ...MODULES.flatMap(({ crate }) => ['--package', crate]), '--quiet']
    const result = spawnSync(process.env.CARGO || 'cargo', args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...cargoEnv() },
    })
    if (result.status !== 0) throw new Error(`cargo build failed (exit ${result.status})`)
    for (const module of MODULES) {
      if ((await render(module)) !== fs.readFileSync(module.output, 'utf8')) {
        throw new Error(`${path.relative(root, module.output)} differs from the types the Rust side generates: run \`node scripts/build.js\` and commit it`)
      }
    }
    return
  }
  for (const module of MODULES) fs.writeFileSync(module.output, await render(module))
}

module.exports = { cargoEnv, available, MODULES }

if (require.main === module) {
  main().catch((err) => {
    console.error(`rheapdump: ${err.message}`)
    process.exit(1)
  })
}
