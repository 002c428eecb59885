import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** How the collector answers one upload: accept, fail with a status, or store it and drop the connection. */
export type CollectorAnswer = 'ok' | 500 | 503 | 413 | 'store-then-drop'

/** One upload as the collector saw it. */
export interface CollectorRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  events: Record<string, unknown>[]
  answer: CollectorAnswer
}

/** A real OPA decision-log collector on loopback (node:http), scripted to fail as a test needs. */
export interface LogCollector {
  url: string
  requests: CollectorRequest[]
  /** Events stored (accepted, or stored before the connection was dropped), duplicates included. */
  stored: Record<string, unknown>[]
  close(): Promise<void>
}

/** Starts the collector on `port` (0: any); `answer` decides each upload's fate (`n` counts from 0). */
export async function startLogCollector(
  answer: (n: number, events: readonly Record<string, unknown>[]) => CollectorAnswer,
  port = 0,
): Promise<LogCollector> {
  const requests: CollectorRequest[] = []
  const stored: Record<string, unknown>[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
      const events = JSON.parse(body.toString('utf8')) as Record<string, unknown>[]
      const fate = answer(requests.length, events)
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, events, answer: fate })
      if (fate === 'ok' || fate === 'store-then-drop') stored.push(...events)
      if (fate === 'store-then-drop') {
        // The collector kept the batch but the shipper never hears so: it must re-send.
        req.socket.destroy()
        return
      }
      res.writeHead(fate === 'ok' ? 200 : fate).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stored,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A loopback port nothing listens on (yet): connections to it are refused. */
export async function unusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
