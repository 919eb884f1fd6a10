'use strict'

// Opens pages in a real, offline browser: Debian's Chromium driven by playwright-core (which
// downloads no browser). Used by __test__/report.test.js and bench/report.js.
//
// Chromium's background services (updates, sync, safe browsing) each open connections at start;
// where the network reaches only package registries they are refused many at a time, so they are
// turned off. A fresh profile per launch: nothing carries over from one run to the next.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const CHROMIUM = process.env.RHEAPDUMP_CHROMIUM || '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Opens `file` offline and records what the page tried: every request other than the page
 * itself (each one aborted) and every console error or uncaught exception. Close with `close()`.
 * @param {string} file
 * @param {{ width?: number, height?: number }} [viewport]
 */
async function openOffline(file, { width = 1280, height = 900 } = {}) {
  const { chromium } = require('playwright-core')
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    offline: true,
    viewport: { width, height },
  })
  const url = pathToFileURL(file).href
  /** @type {string[]} */
  const requests = []
  /** @type {string[]} */
  const errors = []
  await context.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue()
    requests.push(route.request().url())
    return route.abort()
  })
  const page = context.pages()[0] || (await context.newPage())
  page.on('request', (request) => {
    if (request.url() !== url && !requests.includes(request.url())) requests.push(request.url())
  })
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  const started = process.hrtime.bigint()
  await page.goto(url, { waitUntil: 'load' })
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 })
  const openMs = Number(process.hrtime.bigint() - started) / 1e6
  return {
    page,
    requests,
    errors,
    openMs,
    async close() {
      await context.close()
      fs.rmSync(profile, { recursive: true, force: true })
    },
  }
}

module.exports = { CHROMIUM, openOffline }
