'use strict'

// Uploads to object storage (the `upload` setting, docs/upload.md) against a real S3 server
// started by each test (s3s-fs: it checks SigV4 signatures and keeps each object as a file),
// from real processes: the stuck loop, multipart, the server going away and coming back, wrong
// credentials, exit with an upload running, the credentials file, web identity and the fallback.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, startApp, snapshotFiles, runScript, needsAddon } = require('./helpers/proc')
const { needsS3, startS3, needsMoto, startMoto, freePort, ACCESS_KEY, SECRET_KEY } = require('./helpers/s3')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const skip = needsS3() || needsAddon('has no upload thread (its refusal is tested below)')

/** Starts the fixture app with rheapdump loaded and uploading to `url`, with `env` added. */
async function uploadingApp(t, url, env, { count = 2000 } = {}) {
  const cwd = tempDir(t)
  const app = await startApp(t, { cwd, env: { RHEAPDUMP_UPLOAD: url, FIXTURE_COUNT: String(count), ...env } })
  await app.command({ cmd: 'require', path: ROOT })
  return { app, cwd }
}

/** The object is byte for byte the local file, and a sound snapshot holding the app's objects. */
function assertSameSoundSnapshot(object, local, count = 2000) {
  assert.ok(fs.readFileSync(object).equals(fs.readFileSync(local)), `${object} differs from ${local}`)
  const { snap } = validateFile(object)
  assert.equal(countObjectsByName(snap, 'FixtureLeak'), count)
}

test('a SIGUSR2 during a stuck loop is in the bucket under prod/api, complete and sound, before the loop frees', { skip, timeout: 90000 }, async (t) => {
  const s3 = await startS3(t)
  const { app, cwd } = await uploadingApp(t, 's3://heaps/prod/api', s3.env)
  app.send({ cmd: 'busy', ms: 30000 })
  await app.waitEvent('busy-start')
  app.signal()
  await waitFor(() => /rheapdump: uploaded /.test(app.stderr), { timeout: 25000, what: `the upload line; stderr: ${app.stderr}` })
  assert.ok(!app.events.some((e) => e.event === 'busy-end'), 'uploaded while the loop was still stuck')
  const [local] = snapshotFiles(cwd)
  const [object] = s3.objects('heaps', 'prod/api')
  assert.equal(path.basename(object), path.basename(local))
  assertSameSoundSnapshot(object, local)
  assert.match(app.stderr, new RegExp(`uploaded ${local} to s3://heaps/prod/api/${path.basename(local)} \\(`))
  // The event follows once the loop is free.
  const uploaded = await app.waitEvent('upload-event', 40000)
  assert.equal(uploaded.key, `prod/api/${path.basename(local)}`)
  assert.equal(uploaded.bytes, fs.statSync(local).size)
  assert.equal(uploaded.localKept, true)
})

test('a file larger than one part goes up as a multipart upload, object identical to the file', { skip, timeout: 180000 }, async (t) => {
  const s3 = await startS3(t)
  const count = 250000
  const { app, cwd } = await uploadingApp(t, 's3://heaps/big', s3.env, { count })
  app.signal()
  const uploaded = await app.waitEvent('upload-event', 150000)
  const [local] = snapshotFiles(cwd)
  assert.ok(uploaded.bytes > 2 * 8 * 1024 * 1024, `the snapshot is ${uploaded.bytes} bytes: too small for the test`)
  assert.ok(uploaded.parts >= 2, `${uploaded.parts} parts`)
  assert.match(app.stderr, new RegExp(`, ${uploaded.parts} parts\\)`))
  assertSameSoundSnapshot(s3.object('heaps', uploaded.key), local, count)
})

test('with the server down the failure is told, the process lives and the file stays; after a restart the next signal uploads', { skip, timeout: 90000 }, async (t) => {
  const s3 = await startS3(t)
  await s3.stop()
  const { app, cwd } = await uploadingApp(t, 's3://heaps/prod/api', { ...s3.env, RHEAPDUMP_UPLOAD_KEEP_LOCAL: '0' })
  app.signal()
  const failed = await app.waitEvent('upload-error-event', 40000)
  assert.equal(failed.code, 'ERR_RHEAPDUMP_UPLOAD_UNREACHABLE')
  assert.match(app.stderr, /upload of .* failed: ERR_RHEAPDUMP_UPLOAD_UNREACHABLE \(PutObject: .*\(after 5 tries\)\); the local file stays/)
  assert.ok(fs.existsSync(failed.path), 'a failed upload never loses the local file, even with uploadKeepLocal off')
  await app.command({ cmd: 'status' })

  await s3.start()
  const before = snapshotFiles(cwd).length
  app.signal()
  const uploaded = await app.waitEvent('upload-event', 40000)
  assert.equal(uploaded.localKept, false)
  assert.ok(!fs.existsSync(uploaded.path), 'uploadKeepLocal off: the local copy is deleted after a confirmed upload')
  assert.equal(snapshotFiles(cwd).length, before, 'only the uploaded one was deleted')
  const { snap } = validateFile(s3.object('heaps', uploaded.key))
  assert.equal(countObjectsByName(snap, 'FixtureLeak'), 2000)
  assert.equal(app.exited, null)
})

test('wrong credentials are refused with the server\'s code, and no secret appears anywhere', { skip, timeout: 60000 }, async (t) => {
  const s3 = await startS3(t)
  const secret = 'wrong-secret-9d2e77'
  const token = 'session-token-a83f10'
  const { app } = await uploadingApp(t, 's3://heaps/prod', { ...s3.env, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token })
  app.signal()
  const failed = await app.waitEvent('upload-error-event', 40000)
  assert.equal(failed.code, 'ERR_RHEAPDUMP_UPLOAD_REFUSED')
  assert.equal(failed.status, 403)
  assert.ok(failed.s3Code, 'the server\'s error code is given')
  const told = `${app.stderr}\n${JSON.stringify(app.events)}`
  for (const hidden of [secret, token, SECRET_KEY]) assert.ok(!told.includes(hidden), `${hidden} leaked: ${told}`)
  assert.ok(fs.existsSync(failed.path))
  assert.deepEqual(s3.objects('heaps', 'prod'), [])
})

// s3s-fs 0.14.1 creates a missing bucket on PutObject, so this one runs against moto's server.
test('a missing bucket is refused with NoSuchBucket, the process lives and the file stays; once the bucket exists the next signal uploads', { skip: needsAddon('has no upload thread') || needsMoto(), timeout: 90000 }, async (t) => {
  const moto = await startMoto(t)
  const { app } = await uploadingApp(t, 's3://missing-heaps/prod/api', moto.env)
  app.signal()
  const failed = await app.waitEvent('upload-error-event', 40000)
  assert.equal(failed.code, 'ERR_RHEAPDUMP_UPLOAD_REFUSED')
  assert.equal(failed.status, 404)
  assert.equal(failed.s3Code, 'NoSuchBucket')
  assert.match(app.stderr, /upload of .* failed: ERR_RHEAPDUMP_UPLOAD_REFUSED \(PutObject: HTTP 404 NoSuchBucket[^)]*\); the local file stays/)
  assert.ok(fs.existsSync(failed.path), 'the local file stays')
  await app.command({ cmd: 'status' })

  await moto.createBucket('missing-heaps')
  app.signal()
  const uploaded = await app.waitEvent('upload-event', 40000)
  assert.match(uploaded.key, /^prod\/api\/heapdump-.*\.heapsnapshot$/)
  assert.ok(fs.readFileSync(uploaded.path).equals(await moto.object('missing-heaps', uploaded.key)), 'the object is the local file')
  assert.equal(app.exited, null)
})

test('an upload still running at exit is abandoned: the process exits at once, says so, and keeps the file', { skip, timeout: 60000 }, async (t) => {
  // A server that accepts connections and never answers: the upload waits for its answer.
  const sockets = new Set()
  const stalled = net.createServer((socket) => (sockets.add(socket), socket.on('error', () => {})))
  const port = await freePort()
  await new Promise((resolve) => stalled.listen(port, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    stalled.close()
  })
  const { app, cwd } = await uploadingApp(t, 's3://heaps/exit', { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY })
  app.signal()
  await app.waitEvent('snapshot-event')
  await waitFor(() => sockets.size > 0, { what: 'the upload to connect' })
  const exiting = Date.now()
  app.send({ cmd: 'exit' })
  const exited = await app.waitExit(10000)
  assert.deepEqual(exited, { code: 0, signal: null })
  assert.ok(Date.now() - exiting < 5000, 'the upload did not hold the exit')
  const [local] = snapshotFiles(cwd)
  assert.match(app.stderr, new RegExp(`upload of ${local} to s3://heaps/exit/\\S+ abandoned: the process is exiting; the local file stays`))
  assert.ok(!app.events.some((e) => e.event === 'upload-event' || e.event === 'upload-error-event'))
})

test('a multipart upload still running at exit is aborted: AbortMultipartUpload reaches the server, nothing is visible', { skip, timeout: 120000 }, async (t) => {
  const s3 = await startS3(t)
  // Between the app and s3s-fs: forwards everything but the second part, which it holds.
  const seen = []
  const sockets = new Set()
  const proxy = net.createServer((client) => {
    const server = net.connect(s3.port, '127.0.0.1')
    sockets.add(client).add(server)
    let holding = false
    client.on('data', (chunk) => {
      const line = /^(GET|PUT|POST|DELETE) (\S+)/.exec(chunk.toString('latin1'))
      if (line) seen.push(`${line[1]} ${line[2].replace(/\?.*/, '')}${/partNumber=2/.test(line[2]) ? ' part 2' : ''}${/uploadId=/.test(line[2]) && line[1] === 'DELETE' ? ' abort' : ''}`)
      if (line && /partNumber=2/.test(line[2])) holding = true
      if (!holding) server.write(chunk)
    })
    server.on('data', (chunk) => client.write(chunk))
    for (const socket of [client, server]) socket.on('error', () => {})
  })
  const port = await freePort()
  await new Promise((resolve) => proxy.listen(port, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    proxy.close()
  })
  const { app } = await uploadingApp(t, 's3://heaps/exit', { ...s3.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` }, { count: 250000 })
  app.signal()
  await waitFor(() => seen.some((request) => request.endsWith('part 2')), { timeout: 90000, what: `the second part; seen: ${seen}` })
  app.send({ cmd: 'exit' })
  assert.deepEqual(await app.waitExit(10000), { code: 0, signal: null })
  assert.match(app.stderr, /upload of \S+ to s3:\/\/heaps\/exit\/\S+ abandoned: the process is exiting; the local file stays/)
  assert.ok(seen.some((request) => request.endsWith(' abort')), `no AbortMultipartUpload among ${seen.join(', ')}`)
  assert.deepEqual(s3.objects('heaps', 'exit'), [], 'nothing visible in the bucket')
})

test('configure({ upload }) uploads writeSnapshot() files and heap profiles, from the shared credentials file', { skip, timeout: 60000 }, async (t) => {
  const s3 = await startS3(t)
  const cwd = tempDir(t)
  const credentials = path.join(cwd, 'credentials')
  fs.writeFileSync(credentials, `[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[ci]\naws_access_key_id = ${ACCESS_KEY}\naws_secret_access_key = ${SECRET_KEY}\n`)
  const script = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.configure({ upload: 's3://heaps/api', sampling: true })
    // An upload never keeps the process alive: this one waits for both outcomes itself.
    const waiting = setInterval(() => {}, 1000)
    const seen = []
    rheapdump.on('upload', (info) => { seen.push(info); if (seen.length === 2) (console.log(JSON.stringify(seen)), clearInterval(waiting)) })
    rheapdump.on('uploadError', (err) => { console.error(err.message); process.exitCode = 1; clearInterval(waiting) })
    rheapdump.writeSnapshot('named.heapsnapshot')
    rheapdump.writeHeapProfile()`
  const env = { AWS_ENDPOINT_URL: s3.env.AWS_ENDPOINT_URL, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_PROFILE: 'ci', RHEAPDUMP_SIGNAL: '0' }
  const result = runScript(script, { cwd, env })
  assert.equal(result.status, 0, result.stderr)
  const seen = JSON.parse(result.stdout)
  assert.deepEqual(seen.map((info) => info.kind).sort(), ['profile', 'snapshot'])
  assert.ok(fs.readFileSync(s3.object('heaps', 'api/named.heapsnapshot')).equals(fs.readFileSync(path.join(cwd, 'named.heapsnapshot'))))
  const profile = seen.find((info) => info.kind === 'profile')
  assert.ok(JSON.parse(fs.readFileSync(s3.object('heaps', profile.key), 'utf8')).head, 'the profile object is a heap profile')
})

test('a fork snapshot is uploaded by the parent once the child has written it', { skip: skip || (process.arch !== 'x64' ? 'fork snapshots are x86-64 only' : false), timeout: 60000 }, async (t) => {
  const s3 = await startS3(t)
  const cwd = tempDir(t)
  const script = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.configure({ upload: 's3://heaps/forked' })
    const waiting = setInterval(() => {}, 1000)
    rheapdump.on('upload', (info) => (console.log(JSON.stringify(info)), clearInterval(waiting)))
    rheapdump.on('uploadError', (err) => (console.error(err.message), process.exitCode = 1, clearInterval(waiting)))
    rheapdump.snapshot({ fork: true }).then((info) => console.error('via', info.via))`
  const result = runScript(script, { cwd, env: { ...s3.env, RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stderr, /via fork/)
  const uploaded = JSON.parse(result.stdout)
  assert.ok(fs.readFileSync(s3.object('heaps', uploaded.key)).equals(fs.readFileSync(uploaded.path)))
})

test('EKS web identity: the token is exchanged at STS (AWS_ENDPOINT_URL_STS) for the keys the upload signs with', { skip, timeout: 60000 }, async (t) => {
  const s3 = await startS3(t)
  const cwd = tempDir(t)
  const tokenFile = path.join(cwd, 'token')
  fs.writeFileSync(tokenFile, 'projected-service-account-token\n')
  // STS answers with s3s-fs's keys only for the right role and token: what AWS's would do.
  const asked = []
  const sts = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const form = new URLSearchParams(body)
      asked.push(Object.fromEntries(form))
      const ok = form.get('Action') === 'AssumeRoleWithWebIdentity' && form.get('WebIdentityToken') === 'projected-service-account-token' && form.get('RoleArn') === 'arn:aws:iam::123456789012:role/heaps'
      res.writeHead(ok ? 200 : 403, { 'content-type': 'text/xml' })
      res.end(ok
        ? `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${ACCESS_KEY}</AccessKeyId><SecretAccessKey>${SECRET_KEY}</SecretAccessKey><SessionToken>sts-session</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`
        : '<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>')
    })
  })
  await new Promise((resolve) => sts.listen(0, '127.0.0.1', resolve))
  t.after(() => sts.close())
  const stsUrl = `http://127.0.0.1:${/** @type {net.AddressInfo} */ (sts.address()).port}/`
  const env = { AWS_ENDPOINT_URL: s3.env.AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS: stsUrl, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/heaps', AWS_ROLE_SESSION_NAME: 'api-pod', HOME: cwd }
  const { app } = await uploadingApp(t, 's3://heaps/irsa', env)
  app.signal()
  const uploaded = await app.waitEvent((e) => e.event === 'upload-event' || e.event === 'upload-error-event', 40000)
  assert.equal(uploaded.event, 'upload-event', JSON.stringify(uploaded))
  assert.equal(asked.length, 1)
  assert.equal(asked[0].RoleSessionName, 'api-pod')
  assert.equal(asked[0].Version, '2011-06-15')
  assert.ok(fs.existsSync(s3.object('heaps', uploaded.key)))
})

test('a compressed snapshot is uploaded as its compressed file', { skip: skip || compressionMissing(), timeout: 60000 }, async (t) => {
  const s3 = await startS3(t)
  const { app, cwd } = await uploadingApp(t, 's3://heaps/z', { ...s3.env, RHEAPDUMP_COMPRESS: 'gzip' })
  app.signal()
  const uploaded = await app.waitEvent('upload-event', 40000)
  assert.match(uploaded.key, /\.heapsnapshot\.gz$/)
  const local = path.join(cwd, path.basename(uploaded.key))
  assert.ok(fs.readFileSync(s3.object('heaps', uploaded.key)).equals(fs.readFileSync(local)))
  const { snap } = validateFile(s3.object('heaps', uploaded.key))
  assert.equal(countObjectsByName(snap, 'FixtureLeak'), 2000)
})

/** Compression is a setting of its own (RHEAPDUMP_COMPRESS); until this build has it, false. */
function compressionMissing() {
  const { SETTINGS } = require('../lib/config')
  return SETTINGS.some((row) => row.env.some((variable) => variable.name === 'RHEAPDUMP_COMPRESS')) ? false : 'this build has no RHEAPDUMP_COMPRESS'
}

test('upload takes only s3://BUCKET/PREFIX: configure() refuses anything else, the environment warns and stays off', (t) => {
  const script = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    const refused = []
    for (const upload of ['https://heaps/x', 's3://', 's3://Heaps/x', 42]) {
      try { rheapdump.configure({ upload }) } catch (err) { refused.push(err.code) }
    }
    console.log(JSON.stringify({ refused, kept: rheapdump.getConfig().upload, set: rheapdump.configure({ upload: 's3://heaps/prod/api', uploadKeepLocal: false }) }))`
  const result = runScript(script, { cwd: tempDir(t), env: { RHEAPDUMP_UPLOAD: 'heaps/prod', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  const { refused, kept, set } = JSON.parse(result.stdout)
  assert.deepEqual(refused, ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE'])
  assert.equal(kept, null)
  assert.deepEqual([set.upload, set.uploadKeepLocal], ['s3://heaps/prod/api', false])
  assert.match(result.stderr, /RHEAPDUMP_UPLOAD: 'heaps\/prod' is not an s3:\/\/BUCKET\/PREFIX URL/)
})

test('without the addon there is no upload thread: each file stays local, with ERR_RHEAPDUMP_NO_ADDON told', { timeout: 60000 }, (t) => {
  const cwd = tempDir(t)
  const script = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.on('uploadError', (err) => console.log(JSON.stringify({ code: err.code, path: err.path, url: err.url })))
    rheapdump.writeSnapshot('kept.heapsnapshot')`
  const result = runScript(script, { cwd, env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_UPLOAD: 's3://heaps/x', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  const told = JSON.parse(result.stdout)
  assert.equal(told.code, 'ERR_RHEAPDUMP_NO_ADDON')
  assert.equal(told.path, path.join(cwd, 'kept.heapsnapshot'))
  assert.match(result.stderr, /upload of \S+kept\.heapsnapshot to s3:\/\/heaps\/x failed: ERR_RHEAPDUMP_NO_ADDON .*the local file stays/)
  assert.ok(fs.existsSync(path.join(cwd, 'kept.heapsnapshot')))
})

test('the uploader module is mapped only once upload is set: not by a plain require, at require with RHEAPDUMP_UPLOAD, at configure({ upload })', { skip: needsAddon('has no uploader module') }, (t) => {
  const script = `
    const fs = require('node:fs')
    const mapped = () => /rheapdump-upload\\.[^/\\n]*\\.node$/m.test(fs.readFileSync('/proc/self/maps', 'utf8'))
    const rheapdump = require(${JSON.stringify(ROOT)})
    const atRequire = mapped()
    if (process.env.CONFIGURE) rheapdump.configure({ upload: 's3://heaps/api' })
    console.log(JSON.stringify({ atRequire, atEnd: mapped() }))`
  const cwd = tempDir(t)
  const run = (env) => {
    const result = runScript(script, { cwd, env: { RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_UPLOAD: undefined, ...env } })
    assert.equal(result.status, 0, result.stderr)
    return JSON.parse(result.stdout)
  }
  assert.deepEqual(run({}), { atRequire: false, atEnd: false })
  assert.deepEqual(run({ RHEAPDUMP_UPLOAD: 's3://heaps/api' }), { atRequire: true, atEnd: true })
  assert.deepEqual(run({ CONFIGURE: '1' }), { atRequire: false, atEnd: true })
})

test('without the uploader module each file stays local, with ERR_RHEAPDUMP_BINARY naming the module told, and the process lives', { skip: needsAddon('has no uploader module') }, (t) => {
  // A copy of the package with the addon but without the uploader module beside it.
  const pkg = tempDir(t)
  for (const part of ['index.js', 'package.json', 'lib']) fs.cpSync(path.join(ROOT, part), path.join(pkg, part), { recursive: true })
  for (const name of fs.readdirSync(ROOT).filter((n) => /^rheapdump\.[^.]+\.node$/.test(n))) fs.copyFileSync(path.join(ROOT, name), path.join(pkg, name))
  const cwd = tempDir(t)
  const script = `
    const rheapdump = require(${JSON.stringify(pkg)})
    const told = []
    rheapdump.on('uploadError', (err) => told.push({ code: err.code, path: err.path, message: err.message }))
    rheapdump.writeSnapshot('first.heapsnapshot')
    rheapdump.writeSnapshot('second.heapsnapshot')
    setImmediate(() => console.log(JSON.stringify(told)))`
  const result = runScript(script, { cwd, env: { RHEAPDUMP_UPLOAD: 's3://heaps/x', RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  const told = JSON.parse(result.stdout)
  assert.deepEqual(told.map((e) => [e.code, e.path]), [['ERR_RHEAPDUMP_BINARY', path.join(cwd, 'first.heapsnapshot')], ['ERR_RHEAPDUMP_BINARY', path.join(cwd, 'second.heapsnapshot')]])
  assert.match(told[0].message, /rheapdump-upload\.[\w-]+\.node/)
  assert.match(result.stderr, /upload of \S+first\.heapsnapshot to s3:\/\/heaps\/x failed: ERR_RHEAPDUMP_BINARY .*the local file stays/)
  for (const name of ['first.heapsnapshot', 'second.heapsnapshot']) assert.ok(fs.existsSync(path.join(cwd, name)), name)
})
