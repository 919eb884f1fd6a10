// @ts-check
'use strict'

// Which command-line program `rheapdump` runs (bin/rheapdump): the native one named for this
// platform and architecture (bin/rheapdump-cli-<platform>-<arch>, scripts/build.js) when it runs
// here, else the portable one, bin/rheapdump-cli.wasm (lib/wasi.js). A native program is only
// chosen when its executable format fits: on musl, whose loader is not where a glibc program
// asks for it, the prebuilt linux programs would not start. RHEAPDUMP_PORTABLE=1 chooses the
// portable program wherever it is.

const fs = require('node:fs')
const path = require('node:path')

const BIN = path.join(__dirname, '..', 'bin')
const { PROGRAM: PORTABLE } = require('./wasi')

/** Native programs that may be in bin/, best first. */
function nativeCandidates() {
  return [`rheapdump-cli-${process.platform}-${process.arch}`].map((name) => path.join(BIN, name))
}

// ELF e_machine and Mach-O cputype per process.arch.
const ELF_MACHINE = { x64: 62, arm64: 183 }
const MACHO_CPU = { x64: 0x01000007, arm64: 0x0100000c }

/** Whether `file` is an executable this machine runs: right format, architecture and loader. */
function fits(/** @type {string} */ file) {
  let fd
  try {
    fd = fs.openSync(file, 'r')
    fs.accessSync(file, fs.constants.X_OK)
    const read = (/** @type {number} */ at, /** @type {number} */ length) => {
      const bytes = Buffer.alloc(length)
      return bytes.subarray(0, fs.readSync(fd, bytes, 0, length, at))
    }
    const head = read(0, 64)
    if (process.platform === 'darwin') {
      return head.length >= 8 && head.readUInt32LE(0) === 0xfeedfacf && head.readUInt32LE(4) === MACHO_CPU[process.arch]
    }
    if (process.platform !== 'linux' || head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return false
    // 64-bit little-endian, for this architecture.
    if (head[4] !== 2 || head[5] !== 1 || head.readUInt16LE(18) !== ELF_MACHINE[process.arch]) return false
    // A dynamically linked program names its loader (PT_INTERP): a glibc one is missing on musl.
    const [offset, size, count] = [Number(head.readBigUInt64LE(32)), head.readUInt16LE(54), head.readUInt16LE(56)]
    for (let i = 0; i < count; i++) {
      const header = read(offset + i * size, size)
      if (header.length < 40 || header.readUInt32LE(0) !== 3) continue
      const loader = read(Number(header.readBigUInt64LE(8)), Number(header.readBigUInt64LE(32))).toString('latin1').replace(/\0.*$/s, '')
      return fs.existsSync(loader)
    }
    return true
  } catch {
    return false
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * The program to run, or null when there is none.
 * @returns {{ native: true, file: string } | { native: false, file: string } | null}
 */
function choose() {
  if (process.env.RHEAPDUMP_PORTABLE !== '1') {
    const native = nativeCandidates().find(fits)
    if (native) return { native: true, file: native }
  }
  return fs.existsSync(PORTABLE) ? { native: false, file: PORTABLE } : null
}

module.exports = { choose, fits, nativeCandidates, PORTABLE }
