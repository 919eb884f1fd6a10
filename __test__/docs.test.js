'use strict'

// The documentation holds together: the README stays a README (short, install first, the
// contributor commands near the top), every relative link and #anchor in the Markdown files
// resolves to a file that exists and a heading it has, by GitHub's rules for heading ids, and
// every table of figures names the commit it was measured at and the code it measures
// (scripts/figures.js; whether that code has changed since is `npm run figures`' report, not a
// failure here: every code change would fail it).
// The Markdown npm ships links only to files the package has, or to the repository's copy.
// The checker is also run on broken input, so that a checker that finds nothing cannot pass.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const test = require('node:test')

const { documents, figureTables, marks: figureMarks, proseLines } = require('../scripts/figures')

const ROOT = path.join(__dirname, '..')

/**
 * GitHub's id for a heading: its text without Markdown markup, lower-cased, with every
 * character that is not a letter, digit, space, hyphen or underscore removed and spaces made
 * hyphens; a repeated id gets -1, -2, … in order.
 */
function anchors(markdown) {
  const seen = new Map()
  const ids = new Set()
  let fence = null
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence) {
      if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length) fence = null
      continue
    }
    if (opener) {
      fence = opener[1]
      continue
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const text = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]+>/g, '') // inline HTML
      .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : '')) // emphasis and code markers
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) || 0
    seen.set(base, count + 1)
    ids.add(count ? `${base}-${count}` : base)
  }
  return ids
}

/** `[text](target)` links in prose, with their line numbers. */
function links(markdown) {
  const found = []
  proseLines(markdown).forEach((line, i) => {
    for (const match of line.matchAll(/!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ target: match[1], line: i + 1 })
    }
  })
  return found
}

/**
 * The broken links of one document: `file` is relative to `root`; `read(relative)` returns a
 * file's text or null when there is none (a directory counts as present, with no headings).
 */
function brokenLinks(file, read) {
  const problems = []
  const text = read(file)
  for (const { target, line } of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue // absolute URLs
    const [rawPath, rawAnchor] = target.split('#', 2)
    const linked = rawPath ? path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(rawPath))) : file
    const where = `${file}:${line}: ${target}`
    if (linked.startsWith('..')) {
      problems.push(`${where}: points outside the repository`)
      continue
    }
    const content = read(linked)
    if (content === null) {
      problems.push(`${where}: ${linked} does not exist`)
      continue
    }
    if (rawAnchor === undefined) continue
    if (!linked.endsWith('.md')) {
      problems.push(`${where}: an anchor into a file that is not Markdown`)
    } else if (!anchors(content).has(decodeURIComponent(rawAnchor))) {
      problems.push(`${where}: no heading with the id "${rawAnchor}" in ${linked}`)
    }
  }
  return problems
}

function readRepo(relative) {
  const full = path.join(ROOT, relative)
  try {
    return fs.statSync(full).isDirectory() ? '' : fs.readFileSync(full, 'utf8')
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null
    throw err
  }
}

test('README.md is at most 200 lines and starts with npm install rheapdump', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const lines = readme.replace(/\n$/, '').split('\n')
  assert.ok(lines.length <= 200, `README.md has ${lines.length} lines`)
  const first = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme)
  assert.ok(first, 'README.md has a code block')
  assert.equal(first[1].trim(), 'npm install rheapdump', 'the first code block is the install command')
  const top = lines.slice(0, 20).join('\n')
  assert.match(top, /npm install && npm run demo/, 'the first 20 lines say how to build and run the demonstration')
  assert.match(top, /^npm test\b/m, 'the first 20 lines say how to run the whole test suite')
})

test('every relative link and #anchor in the documentation resolves', () => {
  const problems = documents().flatMap((file) => brokenLinks(file, readRepo))
  assert.deepEqual(problems, [])
})

/** The repository's files as npm shows them (`blob/main/<path>`), from package.json. */
function repositoryBlobs() {
  const { repository } = JSON.parse(readRepo('package.json'))
  const url = /^(?:git\+)?(https:\/\/github\.com\/[^/]+\/[^/]+?)(?:\.git)?$/.exec(repository.url)
  assert.ok(url, `package.json repository.url: ${repository.url}`)
  return `${url[1]}/blob/main/`
}

/** The files `npm pack` puts in the tarball, relative to the package. */
function shippedFiles() {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  return new Set(JSON.parse(run.stdout)[0].files.map((f) => f.path))
}

/**
 * The links of the shipped Markdown files that break in the installed package (where only
 * `shipped` files are): a relative link must name a shipped file; a link to the repository's
 * files (`blobs` + path) must name a file of the repository and a heading it has.
 */
function unshippedLinks(shipped, blobs, read) {
  const readShipped = (file) => (shipped.has(file) || [...shipped].some((f) => f.startsWith(`${file}/`)) ? read(file) : null)
  const readBlob = (file) => (file.startsWith(blobs) ? read(file.slice(blobs.length)) : null)
  return [...shipped]
    .filter((file) => file.endsWith('.md'))
    .flatMap((file) => {
      const relative = brokenLinks(file, readShipped)
      const inRepository = links(read(file))
        .filter(({ target }) => target.startsWith(blobs))
        .flatMap(({ target, line }) => {
          const [url, anchor] = target.split('#', 2)
          const content = readBlob(url)
          if (content === null) return [`${file}:${line}: ${target}: no such file in the repository`]
          if (anchor !== undefined && !anchors(content).has(decodeURIComponent(anchor))) {
            return [`${file}:${line}: ${target}: no heading with the id "${anchor}"`]
          }
          return []
        })
      return [...relative, ...inRepository]
    })
}

test('the documentation npm ships links only to files it ships, or to the repository (which has them)', () => {
  const shipped = shippedFiles()
  assert.ok(shipped.has('README.md') && shipped.has('docs/cli.md'), [...shipped].join(', '))
  assert.deepEqual(unshippedLinks(shipped, repositoryBlobs(), readRepo), [])
  const { homepage, bugs } = JSON.parse(readRepo('package.json'))
  assert.ok(homepage.startsWith(repositoryBlobs().replace(/\/blob\/main\/$/, '')), homepage)
  assert.ok(bugs.url.endsWith('/issues'), bugs.url)

  // The checker, on a package that ships a.md and docs/ but not ARCHITECTURE.md.
  const blobs = 'https://github.com/o/r/blob/main/'
  const files = {
    'a.md': `[ok](docs/b.md) [unshipped](ARCHITECTURE.md) [ok](${blobs}ARCHITECTURE.md#how) [gone](${blobs}NOPE.md) [no heading](${blobs}ARCHITECTURE.md#why)`,
    'docs/b.md': '# B\n',
    'ARCHITECTURE.md': '# How\n',
  }
  const read = (name) => (name in files ? files[name] : null)
  assert.deepEqual(unshippedLinks(new Set(['a.md', 'docs/b.md']), blobs, read), [
    'a.md:1: ARCHITECTURE.md: ARCHITECTURE.md does not exist',
    `a.md:1: ${blobs}NOPE.md: no such file in the repository`,
    `a.md:1: ${blobs}ARCHITECTURE.md#why: no heading with the id "why"`,
  ])
})

test('every page under docs/ is linked from README.md', () => {
  const readme = readRepo('README.md')
  const linked = new Set(links(readme).map(({ target }) => path.posix.normalize(target.split('#')[0])))
  const pages = documents().filter((f) => f.startsWith('docs/'))
  assert.ok(pages.length > 0)
  assert.deepEqual(pages.filter((page) => !linked.has(page)), [])
})

test('the link checker finds missing files, missing anchors and links out of the repository', () => {
  const files = {
    'a.md': [
      '# Title',
      '## Cost of `monitor()`',
      '## Guard: a snapshot *never* kills',
      '## Same',
      '## Same',
      '[ok](b.md#section-two) [ok](#cost-of-monitor) [ok](#guard-a-snapshot-never-kills) [ok](#same-1)',
      '[ok](https://example.com/x#y) `[not a link](nowhere.md)`',
      '```',
      '[inside a fence](gone.md)',
      '```',
      '[missing file](c.md) [missing anchor](b.md#section-three) [outside](../x.md) [own anchor](#nope)',
    ].join('\n'),
    'b.md': '# B\n\n## Section two\n',
  }
  const read = (name) => (name in files ? files[name] : null)
  assert.deepEqual(brokenLinks('a.md', read), [
    'a.md:11: c.md: c.md does not exist',
    'a.md:11: b.md#section-three: no heading with the id "section-three" in b.md',
    'a.md:11: ../x.md: points outside the repository',
    'a.md:11: #nope: no heading with the id "nope" in a.md',
  ])
})

/** Whether git can tell which commits exist here: a full clone. Null, or why not. */
function historyMissing() {
  const inside = spawnSync('git', ['rev-parse', '--is-shallow-repository'], { cwd: ROOT, encoding: 'utf8' })
  if (inside.status !== 0) return 'not a git checkout'
  if (inside.stdout.trim() === 'true') return 'a shallow clone: `git fetch --unshallow` to check the figures marks'
  return null
}

/**
 * What is wrong with the figures marks of the documentation (`read(file)` gives a file's text,
 * `exists(commit)` whether the repository has it, `present(path)` whether the working tree has
 * a path): a table of figures without a mark, a mark that cannot be read, a commit the
 * repository does not have, code that is not there.
 */
function figuresProblems(files, read, exists, present) {
  const problems = []
  for (const file of files) {
    const text = read(file)
    for (const table of figureTables(text)) {
      if (table.markLine === null) problems.push(`${file}:${table.line}: a table of figures with no <!-- figures: … --> mark on the line above it`)
    }
    for (const mark of figureMarks(text)) {
      const where = `${file}:${mark.line}`
      if (mark.error) problems.push(`${where}: ${mark.error}`)
      if (mark.commit && !exists(mark.commit)) problems.push(`${where}: no commit ${mark.commit} in the repository`)
      for (const code of mark.code || []) if (!present(code)) problems.push(`${where}: no ${code} in the repository`)
    }
  }
  return problems
}

test('every table of figures names the commit it was measured at and the code it measures, and both exist', (t) => {
  // Without the history (a shallow clone, a tarball) the marks and their code are still checked.
  const missing = historyMissing()
  if (missing) t.diagnostic(`the marks' commits are not checked: ${missing}`)
  const exists = missing ? () => true : (commit) => spawnSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: ROOT }).status === 0
  const present = (relative) => fs.existsSync(path.join(ROOT, relative))
  assert.deepEqual(figuresProblems(documents(), readRepo, exists, present), [])

  // The checker, on documents with every kind of mistake.
  const files = {
    'a.md': [
      '<!-- figures: node bench/x.js @ abc1234; code: bench/x.js -->',
      '| run | time |',
      '|---|---|',
      '| 1 | 2.0 s |',
      '',
      '| run | time |',
      '|---|---|',
      '| 1 | 35 MiB |',
      '',
      '<!-- figures: none; limits, not measurements -->',
      '| setting | default |',
      '|---|---|',
      '| timeout | 5 s |',
      '',
      '| name | meaning |',
      '|---|---|',
      '| a | no figures here |',
      '',
      '<!-- generated from lib/config.js by `npm run generate` -->',
      '| setting | default |',
      '|---|---|',
      '| queue | 300000 (5 min) |',
      '<!-- end of generated -->',
      '',
      '<!-- figures: node bench/y.js @ fedcba9; code: bench/gone.js -->',
      '',
      '```',
      '| heap | pause |',
      '|---|---|',
      '| 50 MB | 12.0 ms |',
      '```',
      '',
      '```',
      '| heap | pause |',
      '|---|---|',
      '| 60 MB | 1.5× |',
      '```',
      'Prose with a figure, 3.2 s. <!-- figures: measured by hand -->',
      '`<!-- figures: an example in code -->`',
      '',
      '<!-- figures: history @ abc1234; the build before the change -->',
      '| build | time |',
      '|---|---|',
      '| before | 9.0 s |',
      '',
      '<!-- figures: history @ 0123abc; a commit that is not there -->',
      '| build | time |',
      '|---|---|',
      '| before | 9.0 s |',
    ].join('\n'),
  }
  const read = (name) => files[name]
  assert.deepEqual(figuresProblems(['a.md'], read, (c) => c === 'abc1234', (p) => p === 'bench/x.js' || p === 'bench/y.js'), [
    'a.md:6: a table of figures with no <!-- figures: … --> mark on the line above it',
    'a.md:34: a table of figures with no <!-- figures: … --> mark on the line above it',
    'a.md:25: no commit fedcba9 in the repository',
    'a.md:25: no bench/gone.js in the repository',
    'a.md:38: "measured by hand" is not "HOW @ COMMIT; code: PATH …", "history @ COMMIT; WHY" nor "none; WHY"',
    'a.md:46: no commit 0123abc in the repository',
  ])
})
