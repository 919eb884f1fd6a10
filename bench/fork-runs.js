'use strict'

// What bench/fork.js and bench/fork-soundness.js share: the measured service in a fresh process
// and a temporary directory of its own per Node major, each fork snapshot's file checked by
// `rheapdump validate`, nearest-rank percentiles and the table they print.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')

/**
 * Runs `node script --child ...args` in a new temporary directory (removed afterwards) and
 * resolves to the JSON of the last line it printed. `onLine` sees every stdout line as it comes;
 * `stderr: 'inherit'` passes the service's progress lines through, else they go into the error.
 */
function runService(node, script, args, { what, timeout, stderr = 'pipe', onLine = () => {} }) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `rheapdump-bench-${path.basename(script, '.js')}-`))
  return new Promise((resolve, reject) => {
    const service = spawn(node.path, [script, '--child', ...args.map(String)], {
      cwd,
      env: { ...process.env, RHEAPDUMP_QUIET: '1' },
      stdio: ['ignore', 'pipe', stderr],
    })
    const timer = setTimeout(() => service.kill('SIGKILL'), timeout)
    let out = ''
    let partial = ''
    let errors = ''
    service.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()
      for (const line of lines) onLine(line)
    })
    service.stderr?.setEncoding('utf8').on('data', (chunk) => (errors += chunk))
    service.on('close', (status, signal) => {
      clearTimeout(timer)
      fs.rmSync(cwd, { recursive: true, force: true })
      if (status !== 0) reject(new Error(`${what}: ${errors || `exit ${status ?? signal}`}`))
      else resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

/** The measured heap: about 20,000 small objects per MB (~48 bytes each plus the array slot). */
function buildHeap(mb) {
  globalThis.benchHeap = Array.from({ length: mb * 20000 }, (_, i) => ({ i, next: null }))
}

/** `rheapdump validate FILE` in its own process (off the measured thread); then the file goes (200 MB heaps make 500 MB files). */
function validate(file) {
  return new Promise((resolve) => {
    const cli = spawn(path.join(root, 'bin', 'rheapdump'), ['validate', file], { stdio: 'ignore' })
    cli.on('exit', (code) => {
      fs.rmSync(file, { force: true })
      resolve(code === 0)
    })
  })
}

/** Nearest rank: with fewer than 100 values, p99 is the largest. */
function pct(values, p) {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

module.exports = { root, runService, buildHeap, validate, pct, table }
