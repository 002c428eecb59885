// A node:cluster program for test/state/cluster-state-store.test.ts, run as
// `node dist/test/state/cluster-state-fixture.js`: the primary runs the ClusterStateRelay exactly
// as `mcp-policy serve` does and forks two workers (replacing any that dies); each worker opens the
// memory store through openStateStore (so it gets the cluster store) and answers a tiny HTTP API on
// a port of its own (exclusive), which keeps answering while the primary is stopped. The primary
// prints one JSON line per event on stdout: {"primary":pid}, {"worker":id,"pid":pid,"port":port}.
import cluster from 'node:cluster'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { stateRelayEnv } from '../../src/state/cluster-state-messages.js'
import { ClusterStateRelay } from '../../src/state/cluster-state-relay.js'
import { openStateStore } from '../../src/state/open-state-store.js'
import type { StateChange } from '../../src/state/state-store.js'

if (cluster.isPrimary) {
  new ClusterStateRelay(cluster)
  const fork = () => {
    const worker = cluster.fork({ [stateRelayEnv]: '1' })
    worker.on('message', (message: { fixture?: string; port?: number }) => {
      if (message?.fixture === 'port')
        process.stdout.write(
          `${JSON.stringify({ worker: worker.id, pid: worker.process.pid, port: message.port })}\n`,
        )
    })
  }
  cluster.on('exit', () => fork())
  process.stdout.write(`${JSON.stringify({ primary: process.pid })}\n`)
  fork()
  fork()
  process.on('SIGTERM', () => {
    cluster.removeAllListeners('exit')
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
    process.exit(0)
  })
} else {
  const store = await openStateStore({ backend: 'memory' })
  const changes: (StateChange & { receivedAt: number })[] = []
  store.watch('revocation', (change) => changes.push({ ...change, receivedAt: Date.now() }))
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture')
    const ns = url.searchParams.get('ns') ?? 'revocation'
    const key = url.searchParams.get('key') ?? ''
    const value = url.searchParams.get('value')
    const ttl = Number(url.searchParams.get('ttl') ?? 60_000)
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    try {
      switch (url.pathname) {
        case '/set':
          await store.set(ns, key, value, ttl)
          return answer(200, { ok: true, at: Date.now() })
        case '/set-if-absent':
          return answer(200, { written: await store.setIfAbsent(ns, key, value, ttl) })
        case '/delete':
          return answer(200, { deleted: await store.delete(ns, key) })
        case '/get':
          return answer(200, { entry: (await store.get(ns, key)) ?? null })
        case '/scan':
          return answer(200, { keys: (await store.scan(ns)).map((e) => e.key).sort() })
        case '/status':
          return answer(200, { available: store.available, backend: store.backend, changes })
        default:
          return answer(404, {})
      }
    } catch (err) {
      return answer(503, { code: (err as { code?: string }).code, message: (err as Error).message })
    }
  })
  server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
    process.send?.({ fixture: 'port', port: (server.address() as AddressInfo).port })
  })
}
