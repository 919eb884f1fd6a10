'use strict'

// An HTTP service for bench/sampling.js, shaped like an Express app: a middleware chain (request
// id, a child logger, query parsing, an auth check), a router with path parameters, a bounded
// LRU cache in front of a "database" (a catalog of 50,000 products built at start-up, so the
// heap holds ~30 MB of live data as a real service's does), and a JSON response built from
// several objects per request. rheapdump is loaded in every run; RHEAPDUMP_SAMPLING (set by the
// driver) alone differs. Sends its port to the parent when it listens.

const crypto = require('node:crypto')
const http = require('node:http')

require('..')

const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'tools', 'music', 'sports', 'office']

const catalog = new Map()
for (let id = 0; id < 50000; id++) {
  catalog.set(id, {
    id,
    sku: `SKU-${id.toString(36).toUpperCase()}`,
    name: `Product ${id}`,
    category: CATEGORIES[id % CATEGORIES.length],
    priceCents: 199 + ((id * 7919) % 20000),
    tags: [`t${id % 13}`, `t${id % 17}`],
    stock: { warehouse: id % 5, count: (id * 31) % 400 },
  })
}

/** Least recently used first out: what `lru-cache` does with a Map. */
class Lru {
  constructor(max) {
    this.max = max
    this.map = new Map()
  }

  get(key) {
    const value = this.map.get(key)
    if (value === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, value)
    return value
  }

  set(key, value) {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value)
  }
}

const recommendations = new Lru(2000)

function recommendFor(userId) {
  const cached = recommendations.get(userId)
  if (cached) return cached
  const picks = []
  for (let i = 0; i < 12; i++) picks.push(catalog.get((userId * 131 + i * 977) % catalog.size))
  const value = { userId, computedAt: new Date().toISOString(), products: picks.map(({ id, sku, name, priceCents }) => ({ id, sku, name, priceCents })) }
  recommendations.set(userId, value)
  return value
}

/** The middleware chain and router, as `express()` runs them. */
function app() {
  const middleware = []
  const routes = []
  const run = (req, res) => {
    let index = 0
    const next = () => {
      const layer = middleware[index++]
      if (layer) return layer(req, res, next)
      for (const { method, pattern, keys, handler } of routes) {
        const match = method === req.method && pattern.exec(req.path)
        if (!match) continue
        req.params = Object.fromEntries(keys.map((key, i) => [key, decodeURIComponent(match[i + 1])]))
        return handler(req, res)
      }
      res.statusCode = 404
      res.end()
    }
    next()
  }
  run.use = (layer) => middleware.push(layer)
  run.get = (route, handler) => {
    const keys = []
    const pattern = new RegExp(`^${route.replace(/:(\w+)/g, (_, key) => (keys.push(key), '([^/]+)'))}$`)
    routes.push({ method: 'GET', pattern, keys, handler })
  }
  return run
}

const service = app()
service.use((req, res, next) => {
  req.id = req.headers['x-request-id'] || crypto.randomUUID()
  req.log = { requestId: req.id, method: req.method, url: req.url, startedAt: process.hrtime.bigint() }
  next()
})
service.use((req, res, next) => {
  const url = new URL(req.url, 'http://service.local')
  req.path = url.pathname
  req.query = Object.fromEntries(url.searchParams)
  next()
})
service.use((req, res, next) => {
  const auth = req.headers.authorization || ''
  const [scheme, token] = auth.split(' ')
  if (scheme !== 'Bearer' || !token) {
    res.statusCode = 401
    return res.end()
  }
  req.user = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  next()
})
service.get('/users/:id/orders', (req, res) => {
  const userId = Number(req.params.id)
  const limit = Math.min(Number(req.query.limit || 10), 50)
  const orders = []
  for (let i = 0; i < limit; i++) {
    const lines = []
    for (let j = 0; j <= (userId + i) % 4; j++) {
      const product = catalog.get((userId * 17 + i * 101 + j * 7) % catalog.size)
      lines.push({ sku: product.sku, name: product.name, quantity: 1 + ((i + j) % 3), unitCents: product.priceCents })
    }
    const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.unitCents, 0)
    orders.push({ orderId: `${userId}-${i}`, placedAt: new Date(Date.now() - i * 86400000).toISOString(), lines, totalCents, currency: req.query.currency || 'EUR' })
  }
  const body = JSON.stringify({ user: req.user.sub, orders, recommended: recommendFor(userId % 5000), requestId: req.id })
  res.setHeader('content-type', 'application/json')
  res.setHeader('x-request-id', req.id)
  res.end(body)
})

const server = http.createServer(service)
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => process.send(server.address().port))
