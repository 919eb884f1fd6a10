'use strict'

// An independent reader of .heapsnapshot files, for the tests and demo/demo.js: it checks the
// structure the way V8's serializer guarantees (field positions read from `meta`, never assumed)
// and counts objects by name. Independent of the package: it shares no code with lib/ or the crates.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const zlib = require('node:zlib')

/**
 * The snapshot's text; a gzip or zstd file (told by its first bytes) is decompressed by zlib or
 * by the `zstd` command (zlib has zstd only from Node 22.15): the reference decoders, not ours.
 */
function readText(file) {
  const bytes = fs.readFileSync(file)
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return zlib.gunzipSync(bytes).toString('utf8')
  if (bytes.readUInt32LE(0) === 0xfd2fb528) return execFileSync('zstd', ['-dc', file], { maxBuffer: 4 << 30 }).toString('utf8')
  return bytes.toString('utf8')
}

function readSnapshot(file) {
  return JSON.parse(readText(file))
}

function validateSnapshot(snap) {
  for (const key of ['snapshot', 'nodes', 'edges', 'strings']) {
    if (!(key in snap)) throw new Error(`missing top-level key '${key}'`)
  }
  const { meta, node_count: nodeCount, edge_count: edgeCount } = snap.snapshot
  const nodeFields = meta.node_fields
  const edgeFields = meta.edge_fields
  const nf = nodeFields.length
  const ef = edgeFields.length
  const { nodes, edges, strings } = snap
  if (nodes.length !== nodeCount * nf) throw new Error(`nodes.length ${nodes.length} != ${nodeCount} × ${nf}`)
  if (edges.length !== edgeCount * ef) throw new Error(`edges.length ${edges.length} != ${edgeCount} × ${ef}`)

  const nodeType = nodeFields.indexOf('type')
  const nodeName = nodeFields.indexOf('name')
  const nodeId = nodeFields.indexOf('id')
  const nodeEdgeCount = nodeFields.indexOf('edge_count')
  const edgeType = edgeFields.indexOf('type')
  const edgeName = edgeFields.indexOf('name_or_index')
  const edgeTo = edgeFields.indexOf('to_node')
  const nodeTypes = meta.node_types[nodeType]
  const edgeTypes = meta.edge_types[edgeType]
  const indexEdgeTypes = new Set(['element', 'hidden'].map((t) => edgeTypes.indexOf(t)))

  let edgeSum = 0
  const ids = new Set()
  for (let i = 0; i < nodes.length; i += nf) {
    if (nodes[i + nodeName] >= strings.length) throw new Error(`node at ${i}: name index out of range`)
    if (nodes[i + nodeType] >= nodeTypes.length) throw new Error(`node at ${i}: type out of range`)
    const id = nodes[i + nodeId]
    if (ids.has(id)) throw new Error(`duplicate node id ${id}`)
    ids.add(id)
    edgeSum += nodes[i + nodeEdgeCount]
  }
  if (edgeSum !== edgeCount) throw new Error(`sum of node edge counts ${edgeSum} != edge_count ${edgeCount}`)
  for (let i = 0; i < edges.length; i += ef) {
    const to = edges[i + edgeTo]
    if (to < 0 || to >= nodes.length || to % nf !== 0) throw new Error(`edge at ${i}: to_node ${to} out of range or misaligned`)
    if (!indexEdgeTypes.has(edges[i + edgeType]) && edges[i + edgeName] >= strings.length) {
      throw new Error(`edge at ${i}: name index out of range`)
    }
  }
  if (nodeTypes[nodes[nodeType]] !== 'synthetic') throw new Error('node 0 is not the synthetic root')
  return { nodeCount, edgeCount, nodeFields }
}

function validateFile(file) {
  const text = readText(file)
  if (!text.trimEnd().endsWith(']}')) throw new Error(`${file}: does not end with ']}' (truncated?)`)
  const snap = JSON.parse(text)
  return { ...validateSnapshot(snap), snap }
}

/** The ids of the objects (node type 'object') called `name`, ascending. */
function idsOfObjectsNamed(snap, name) {
  const { meta } = snap.snapshot
  const nf = meta.node_fields.length
  const typeField = meta.node_fields.indexOf('type')
  const nameField = meta.node_fields.indexOf('name')
  const idField = meta.node_fields.indexOf('id')
  const objectType = meta.node_types[typeField].indexOf('object')
  const nameIndex = snap.strings.indexOf(name)
  const ids = []
  for (let i = 0; i < snap.nodes.length; i += nf) {
    if (snap.nodes[i + typeField] === objectType && snap.nodes[i + nameField] === nameIndex) ids.push(snap.nodes[i + idField])
  }
  // Ascending: the same objects may come in another order in the next snapshot of the process.
  return ids.sort((a, b) => a - b)
}

function countObjectsByName(snap, name) {
  return idsOfObjectsNamed(snap, name).length
}

module.exports = { readText, readSnapshot, validateSnapshot, validateFile, countObjectsByName, idsOfObjectsNamed }
