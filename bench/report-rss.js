'use strict'

// Preloaded (`node -r`) by bench/analysis.js: prints the process's peak RSS to stderr at exit.
const fs = require('node:fs')

process.on('exit', () => {
  fs.writeSync(2, `\nrheapdump-bench-max-rss ${process.resourceUsage().maxRSS * 1024}\n`)
})
