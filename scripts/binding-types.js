'use strict'

// lib/addon.d.ts, the binding's contract, generated from the Rust side: while cargo compiles
// the addon with NAPI_TYPE_DEF_TMP_FOLDER set, napi-derive writes the type of every #[napi]
// item there, and @napi-rs/cli (a devDependency: only a checkout needs it) renders them as a
// .d.ts. `tsc` checks index.js and lib/ against it (tsconfig.json, __test__/types.test.js), so
// JS cannot call a native function that does not exist, or with the wrong arguments.
//
// Usage: node scripts/binding-types.js           write lib/addon.d.ts from the last build
//        node scripts/binding-types.js --check   build, then fail if lib/addon.d.ts differs

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const OUTPUT = path.join(root, 'lib', 'addon.d.ts')

const HEADER = `// Generated from crates/addon/src/ by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: \`node scripts/build.js\` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.
`

/** Where napi-derive writes the type of each #[napi] item while the addon compiles. */
function typeDefDir() {
  return path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), 'napi-type-def')
}

/**
 * The environment for cargo. napi-build reruns the build script, and so recompiles the addon,
 * when either variable changes; napi-derive writes the types only while the addon compiles. So
 * the folder is fixed, and NAPI_FORCE_BUILD_RHEAPDUMP is a generation kept beside it and
 * bumped only when the folder lost its file: every build and check then passes the same values
 * and recompiles nothing that is fresh.
 */
function cargoEnv() {
  const dir = typeDefDir()
  fs.mkdirSync(dir, { recursive: true })
  const stamp = `${dir}.generation` // beside the folder: the renderer reads every file in it
  let generation = fs.existsSync(stamp) ? Number(fs.readFileSync(stamp, 'utf8')) || 0 : 0
  if (!fs.existsSync(path.join(dir, 'rheapdump'))) fs.writeFileSync(stamp, String(++generation))
  return { NAPI_TYPE_DEF_TMP_FOLDER: dir, NAPI_FORCE_BUILD_RHEAPDUMP: String(generation) }
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

/** The .d.ts text from the last build's type definitions. */
async function render() {
  // An empty folder would render an empty contract, against which nothing type-checks.
  if (!fs.existsSync(path.join(typeDefDir(), 'rheapdump'))) {
    throw new Error(`no type definitions in ${typeDefDir()}: the addon did not compile with NAPI_TYPE_DEF_TMP_FOLDER set`)
  }
  const { generateTypeDef } = require('@napi-rs/cli')
  const { dts } = await generateTypeDef({ typeDefDir: typeDefDir(), cwd: root, dtsHeader: HEADER })
  return dts
}

async function main() {
  if (process.argv.includes('--check')) {
    const result = spawnSync(process.env.CARGO || 'cargo', ['build', '--release', '--package', 'rheapdump', '--quiet'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...cargoEnv() },
    })
    if (result.status !== 0) throw new Error(`cargo build failed (exit ${result.status})`)
    const fresh = await render()
    if (fresh !== fs.readFileSync(OUTPUT, 'utf8')) {
      throw new Error('lib/addon.d.ts differs from the types the Rust side generates: run `node scripts/build.js` and commit it')
    }
    return
  }
  fs.writeFileSync(OUTPUT, await render())
}

module.exports = { cargoEnv, available, OUTPUT }

if (require.main === module) {
  main().catch((err) => {
    console.error(`rheapdump: ${err.message}`)
    process.exit(1)
  })
}
