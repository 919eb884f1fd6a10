'use strict'

// What devtools.js and memlab.js here share: their arguments, and a JSON writer for per-node
// arrays of millions of numbers.

const fs = require('node:fs')
const path = require('node:path')

/** FILE [AFTER] [--dump OUT] of the script `script`; exits 2 with its usage otherwise. */
function parseArgs(script) {
  const args = process.argv.slice(2)
  let file = null
  let other = null
  let dumpPath = null
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dump') dumpPath = args[++i]
    else if (file === null) file = args[i]
    else if (other === null) other = args[i]
    else file = undefined
  }
  if (!file || dumpPath === undefined) {
    process.stderr.write(`usage: node ${path.relative(process.cwd(), script)} FILE [AFTER] [--dump OUT]\n`)
    process.exit(2)
  }
  return { file, other, dumpPath }
}

// Writes a JSON object to `out` without materializing large arrays as strings.
// fields: [key, length, (i) => number] for numeric arrays, [key, value] otherwise.
function writeJson(out, fields) {
  const fd = fs.openSync(out, 'w')
  try {
    fields.forEach((field, n) => {
      fs.writeSync(fd, `${n ? ',' : '{'}${JSON.stringify(field[0])}:`)
      if (field.length === 2) {
        fs.writeSync(fd, JSON.stringify(field[1]))
        return
      }
      const [, length, get] = field
      const CHUNK = 65536
      fs.writeSync(fd, '[')
      for (let start = 0; start < length; start += CHUNK) {
        const end = Math.min(length, start + CHUNK)
        const parts = new Array(end - start)
        for (let i = start; i < end; i++) parts[i - start] = get(i)
        fs.writeSync(fd, (start ? ',' : '') + parts.join(','))
      }
      fs.writeSync(fd, ']')
    })
    fs.writeSync(fd, '}\n')
  } finally {
    fs.closeSync(fd)
  }
}

module.exports = { parseArgs, writeJson }
