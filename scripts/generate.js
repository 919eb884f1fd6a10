'use strict'

// `npm run generate`: rewrites what is generated from one source, for the files that restate it.
// - From the Rust crates (crates/codegen): lib/facts.js and lib/reports.d.ts; its test
//   (`cargo test -p rheapdump-codegen`) fails while a committed copy is stale.
// - From the settings table (lib/config.js, which reads lib/facts.js): the README's settings
//   table and `Config` in index.d.ts, each between its markers; __test__/config.test.js fails
//   while a committed copy differs from what this would write.
// Usage: node scripts/generate.js [--check]

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The README's table of settings: one row per setting, then the variables read elsewhere. */
function settingsTable() {
  const { SETTINGS, OTHER_VARIABLES } = require('../lib/config')
  const row = (/** @type {string[]} */ cells) => `|${cells.map((cell) => (cell ? ` ${cell} ` : ' ')).join('|')}|`
  return [
    row(['setting', 'environment', '`configure()`', 'default']),
    '|---|---|---|---|',
    ...SETTINGS.map(({ docs }) => row([docs.what, docs.env, docs.configure, docs.default])),
    ...OTHER_VARIABLES.map((variable) => row([variable.what, `\`${variable.name}\``, '', variable.default])),
  ].join('\n')
}

/** `Config` as index.d.ts declares it. */
function configInterface() {
  const { SETTINGS } = require('../lib/config')
  const members = SETTINGS.map(({ key, type, docs }) => `  /** ${docs.type} */\n  ${key}: ${type}`)
  return ['export interface Config {', ...members, '}'].join('\n')
}

/** Each generated block: the file, its markers and its content. */
const BLOCKS = [
  { file: 'README.md', begin: '<!-- generated from lib/config.js by `npm run generate` -->', end: '<!-- end of generated -->', content: settingsTable },
  { file: 'index.d.ts', begin: '// generated from lib/config.js by `npm run generate`', end: '// end of generated', content: configInterface },
]

/**
 * The file's text with its block as generated now.
 * @param {typeof BLOCKS[number]} block
 */
function regenerated(block) {
  const text = fs.readFileSync(path.join(root, block.file), 'utf8')
  const start = text.indexOf(block.begin)
  const stop = text.indexOf(block.end, start)
  if (start < 0 || stop < 0) throw new Error(`${block.file}: the markers of the generated block are missing (${block.begin} … ${block.end})`)
  return text.slice(0, start + block.begin.length) + '\n' + block.content() + '\n' + text.slice(stop)
}

function main() {
  const check = process.argv.includes('--check')
  // The Rust side first: the settings table reads lib/facts.js.
  if (!check) {
    const cargo = spawnSync(process.env.CARGO || 'cargo', ['run', '--quiet', '--package', 'rheapdump-codegen'], { cwd: root, stdio: 'inherit' })
    if (cargo.status !== 0) process.exit(1)
  }
  let stale = 0
  for (const block of BLOCKS) {
    const file = path.join(root, block.file)
    const next = regenerated(block)
    if (next === fs.readFileSync(file, 'utf8')) continue
    stale++
    if (check) console.error(`${block.file} is stale: run npm run generate`)
    else fs.writeFileSync(file, next)
  }
  process.exit(check && stale ? 1 : 0)
}

if (require.main === module) main()

module.exports = { BLOCKS, regenerated, settingsTable, configInterface }
