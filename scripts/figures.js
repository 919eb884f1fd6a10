'use strict'

// npm run figures: is every published figure as new as the code it describes?
//
// Each section of measured figures in the documentation carries a mark, an HTML comment that
// Markdown renders as nothing, naming how it was measured, the commit it was measured at and the
// code whose speed or size it reports (the bench script itself included):
//
//   <!-- figures: RHEAPDUMP_BENCH_HEAP_MB=50 node bench/snapshot.js @ 0284c6e; code: bench/snapshot.js lib/snapshot.js crates/platform/src/linux/snapshot_file.rs -->
//
// This script lists every mark with its commit and whether any commit since has touched its code
// (`git log <commit>..HEAD -- <code>`): "current", or "stale" with how many commits and the
// newest. A table whose numbers are not measurements (settings, test parameters) says so with
// `<!-- figures: none; <why> -->`; one kept on purpose to show what the code measured before a
// change (a "before" beside a current "after") says `<!-- figures: history @ COMMIT; <why> -->`:
// it describes the code at COMMIT, not the current code, so it is never stale. With these,
// __test__/docs.test.js can ask every table with figures in it for a mark.
//
//   node scripts/figures.js            every mark, stale or current
//   node scripts/figures.js --stale    only the stale ones; exit status 1 when there is one
//   node scripts/figures.js --json     the same as JSON

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

/** The documentation: the Markdown files that publish figures, relative to the repository. */
function documents(root = ROOT) {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort()
  return ['README.md', 'ARCHITECTURE.md', 'bench/README.md', '__test__/README.md', ...docs.map((f) => `docs/${f}`)]
}

const MARK = /<!--\s*figures:\s*(.*?)\s*-->/g

/** The text outside fenced code blocks, line by line, with inline code blanked out. */
function proseLines(markdown) {
  const lines = []
  let fence = null
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence) {
      if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length) fence = null
      lines.push('')
    } else if (opener) {
      fence = opener[1]
      lines.push('')
    } else {
      lines.push(line.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)))
    }
  }
  return lines
}

/**
 * The marks of one Markdown text: `{ line, how, commit, code: [paths] }`, `{ line, none }`,
 * `{ line, history, commit }`, or `{ line, error }` for a mark that cannot be read. `none` is the
 * reason a table's numbers are not measurements; `history` why figures of the code as it was at
 * `commit` are kept beside the current ones.
 */
function marks(markdown) {
  const found = []
  proseLines(markdown).forEach((text, i) => {
    for (const match of text.matchAll(MARK)) {
      const body = match[1]
      const line = i + 1
      const none = /^none;\s*(\S.*)$/.exec(body)
      if (none) {
        found.push({ line, none: none[1] })
        continue
      }
      const history = /^history\s+@\s+([0-9a-f]{7,40});\s*(\S.*)$/.exec(body)
      if (history) {
        found.push({ line, commit: history[1], history: history[2] })
        continue
      }
      const parts = /^(.+?)\s+@\s+([0-9a-f]{7,40});\s*code:\s*(\S.*)$/.exec(body)
      if (!parts) {
        found.push({ line, error: `"${body}" is not "HOW @ COMMIT; code: PATH …", "history @ COMMIT; WHY" nor "none; WHY"` })
        continue
      }
      found.push({ line, how: parts[1], commit: parts[2], code: parts[3].split(/\s+/) })
    }
  })
  return found
}

/**
 * The tables of one Markdown text that hold figures: pipe tables, in prose or in a fenced block,
 * with a number and a unit (s, ms, MB, MiB, %, ×, …) in a cell, outside the blocks generated
 * from lib/config.js. Each is `{ line, markLine }`: the table's first line, and the line of the
 * mark it carries (the nearest non-blank line above it, or above its fence) or null.
 */
function figureTables(markdown) {
  const lines = markdown.split('\n')
  const tables = []
  let fence = null
  let fenceLine = 0
  let generated = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence) {
      if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length) {
        fence = null
        continue
      }
    } else if (opener) {
      fence = opener[1]
      fenceLine = i
      continue
    }
    if (!fence && /<!--\s*generated\b/.test(line)) generated = true
    if (!fence && /<!--\s*end of generated\s*-->/.test(line)) generated = false
    const isTable = /^\s*\|/.test(line) && /^\s*\|[\s:|-]*-[\s:|-]*$/.test(lines[i + 1] || '')
    if (!isTable) continue
    const start = i
    while (i + 1 < lines.length && /^\s*\|/.test(lines[i + 1])) i++
    if (generated) continue
    const body = lines.slice(start + 2, i + 1).join('\n')
    if (!FIGURE.test(body)) continue
    let above = (fence ? fenceLine : start) - 1
    while (above >= 0 && lines[above].trim() === '') above--
    const markLine = above >= 0 && /^\s*<!--\s*figures:.*-->\s*$/.test(lines[above]) ? above + 1 : null
    tables.push({ line: start + 1, markLine })
  }
  return tables
}

/** A number with a unit of time, size, share or ratio: what a measured figure looks like. */
const FIGURE = /\d\s*(?:µs|ms|s|min|B|kB|KB|KiB|MB|MiB|GB|GiB|%|×)(?![\p{L}\p{N}])/u

function git(args) {
  const run = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  return { ok: run.status === 0, out: run.stdout.trim(), err: run.stderr.trim() }
}

/** `{ current }`, `{ stale: count, newest }` or `{ error }` for one mark, from git. */
function status(mark) {
  if (!git(['cat-file', '-e', `${mark.commit}^{commit}`]).ok) return { error: `no commit ${mark.commit} in this repository` }
  const missing = mark.code.filter((p) => !fs.existsSync(path.join(ROOT, p)))
  if (missing.length) return { error: `no ${missing.join(', ')} in the working tree` }
  const log = git(['log', '--format=%h %s', `${mark.commit}..HEAD`, '--', ...mark.code])
  if (!log.ok) return { error: log.err }
  const commits = log.out ? log.out.split('\n') : []
  return commits.length ? { stale: commits.length, newest: commits[0] } : { current: true }
}

function main() {
  const args = process.argv.slice(2)
  const onlyStale = args.includes('--stale')
  const json = args.includes('--json')
  const unknown = args.filter((a) => a !== '--stale' && a !== '--json')
  if (unknown.length) {
    process.stderr.write(`figures: unknown argument ${unknown[0]}; usage: node scripts/figures.js [--stale] [--json]\n`)
    process.exit(2)
  }
  // `npm run figures | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err
    process.exit(0)
  })
  const rows = []
  for (const file of documents()) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    const headings = text.split('\n').map((l, i) => [i + 1, /^#{1,6}\s+(.*)$/.exec(l)]).filter(([, m]) => m)
    for (const mark of marks(text)) {
      if (mark.none || mark.history) continue
      const heading = headings.filter(([n]) => n <= mark.line).pop()
      const row = { where: `${file}:${mark.line}`, section: heading ? heading[1][1] : '', ...mark }
      Object.assign(row, mark.error ? { error: mark.error } : status(mark))
      rows.push(row)
    }
  }
  const shown = onlyStale ? rows.filter((r) => !r.current) : rows
  if (json) {
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
  } else {
    for (const r of shown) {
      const state = r.error ? `broken: ${r.error}` : r.current ? 'current' : `stale: ${r.stale === 1 ? '1 commit touches' : `${r.stale} commits touch`} its code since (newest ${r.newest})`
      process.stdout.write(`${r.where}  ${r.section}\n  ${r.how ?? ''} @ ${r.commit ?? '?'}: ${state}\n`)
    }
    const stale = rows.filter((r) => r.stale).length
    const broken = rows.filter((r) => r.error).length
    process.stdout.write(`\n${rows.length} figure sections: ${rows.length - stale - broken} current, ${stale} stale${broken ? `, ${broken} broken` : ''}\n`)
  }
  if (onlyStale && shown.length) process.exit(1)
}

if (require.main === module) main()

module.exports = { documents, marks, figureTables, proseLines }
