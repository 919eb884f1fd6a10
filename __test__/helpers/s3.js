'use strict'

// A real S3 server for the upload tests: s3s-fs (the Rust crate s3s-fs, installed by .ci/run),
// which checks SigV4 signatures and keeps each object as a file DIR/BUCKET/KEY. Each test starts
// its own on a free port and can stop and restart it there. Outside CI, where s3s-fs is not
// installed, the tests are skipped with the reason; in CI (CI=true) its absence fails them.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const { tempDir, waitFor } = require('./proc')

const ACCESS_KEY = 'rheapdump-test-key'
const SECRET_KEY = 'rheapdump-test-secret-4f1c'

/** The s3s-fs program: on PATH, else in cargo's bin directory; null when absent. */
function findS3sFs() {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo'), 'bin')]
  for (const dir of dirs) {
    const file = path.join(dir, 's3s-fs')
    if (dir && fs.existsSync(file)) return file
  }
  return null
}

/** The test's `skip` option: a reason outside CI when s3s-fs is absent; false otherwise. */
function needsS3() {
  if (findS3sFs() !== null || process.env.CI) return false
  return 's3s-fs is not installed (cargo install s3s-fs@0.14.1 --locked --features binary; .ci/run does)'
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

/** The AWS settings that point an uploader at a local server on `port`. */
function s3Env(port) {
  return { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1' }
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('connect', () => (socket.destroy(), resolve(true)))
    socket.on('error', () => resolve(false))
  })
}

/**
 * Starts s3s-fs for the test `t` with the given buckets; stopped after the test.
 * @returns {Promise<{ port: number, dir: string, env: Record<string, string>, object: (bucket: string, key: string) => string, objects: (bucket: string, prefix: string) => string[], stop: () => Promise<void>, start: () => Promise<void> }>}
 */
async function startS3(t, { buckets = ['heaps'] } = {}) {
  const program = findS3sFs()
  if (program === null) throw new Error(`s3s-fs is needed in CI: ${needsS3() || 'not found'}`)
  const dir = tempDir(t, 'rheapdump-s3-')
  for (const bucket of buckets) fs.mkdirSync(path.join(dir, bucket))
  const port = await freePort()
  let child = null
  let log = ''
  const server = {
    port,
    dir,
    env: { ...s3Env(port), AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY },
    object: (bucket, key) => path.join(dir, bucket, ...key.split('/')),
    objects(bucket, prefix) {
      const base = path.join(dir, bucket, ...prefix.split('/'))
      if (!fs.existsSync(base)) return []
      return fs.readdirSync(base).filter((name) => !name.startsWith('.')).sort().map((name) => path.join(base, name))
    },
    async start() {
      child = spawn(program, ['--host', '127.0.0.1', '--port', String(port), '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY, dir], { stdio: ['ignore', 'ignore', 'pipe'] })
      child.stderr.on('data', (chunk) => (log += chunk))
      const started = child
      await waitFor(async () => started.exitCode === null && (await accepts(port)), { timeout: 15000, what: `s3s-fs on port ${port}; its log: ${log}` })
    },
    async stop() {
      if (!child || child.exitCode !== null) return
      const stopping = child
      stopping.kill('SIGKILL')
      await waitFor(() => stopping.exitCode !== null || stopping.signalCode !== null, { what: 's3s-fs to stop' })
      await waitFor(async () => !(await accepts(port)), { what: `port ${port} to close` })
    },
  }
  t.after(() => server.stop())
  await server.start()
  return server
}

// A second real S3 implementation for what s3s-fs cannot show: moto's server (PyPI `moto[server]`,
// installed by .ci/run into .cache/moto) answers a PutObject to a missing bucket with 404
// NoSuchBucket, where s3s-fs 0.14.1 creates the bucket. It does not check signatures.
// Bucket names must be valid S3 names (3 to 63 characters), or moto answers InvalidBucketName.
const MOTO = path.join(__dirname, '..', '..', '.cache', 'moto', 'bin', 'moto_server')

/** The test's `skip` option for moto: a reason outside CI when it is absent; false otherwise. */
function needsMoto() {
  if (fs.existsSync(MOTO) || process.env.CI) return false
  return 'moto is not installed (python3 -m venv .cache/moto && .cache/moto/bin/pip install "moto[server]"; .ci/run does)'
}

/**
 * Starts moto's S3 server for the test `t`, with no bucket; `createBucket(name)` makes one and
 * `object(bucket, key)` reads an object back (both over plain HTTP: moto takes unsigned requests).
 */
async function startMoto(t) {
  if (!fs.existsSync(MOTO)) throw new Error(`moto is needed in CI: ${MOTO} is missing`)
  const port = await freePort()
  let log = ''
  const child = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (chunk) => (log += chunk))
  child.stderr.on('data', (chunk) => (log += chunk))
  t.after(() => child.kill('SIGKILL'))
  await waitFor(async () => child.exitCode === null && (await accepts(port)), { timeout: 30000, what: `moto on port ${port}; its log: ${log}` })
  const request = async (method, url) => {
    // Any Authorization header will do: moto reads the access key from it, not the signature.
    const authorization = 'AWS4-HMAC-SHA256 Credential=moto-key/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0'
    const answer = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers: { authorization } })
    if (!answer.ok) throw new Error(`moto: ${method} ${url}: HTTP ${answer.status} ${await answer.text()}`)
    return Buffer.from(await answer.arrayBuffer())
  }
  return {
    env: { ...s3Env(port), AWS_ACCESS_KEY_ID: 'moto-key', AWS_SECRET_ACCESS_KEY: 'moto-secret' },
    createBucket: (name) => request('PUT', `/${name}`),
    object: (bucket, key) => request('GET', `/${bucket}/${key}`),
  }
}

module.exports = { needsS3, startS3, needsMoto, startMoto, freePort, ACCESS_KEY, SECRET_KEY }
