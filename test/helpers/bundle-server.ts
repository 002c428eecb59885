import { createServer, type IncomingHttpHeaders } from 'node:http'
import { closeServer, listen } from '../identity/jwks-server.js'

/**
 * How the server answers: `ok` serves the bundle (304 when If-None-Match matches), `error` 500,
 * `missing` 404, `reset` drops the connection, `hang` never answers, `flood` streams chunked
 * bytes without end (until the client hangs up).
 */
export type BundleServerMode = 'ok' | 'error' | 'missing' | 'reset' | 'hang' | 'flood'

/** One request the server saw. */
export interface SeenRequest {
  headers: IncomingHttpHeaders
  status: number | 'reset' | 'hang' | 'flood'
}

/** An OPA bundle service on loopback serving one bundle at `/bundles/mcp.tar.gz`. */
export interface BundleServer {
  url: string
  requests: SeenRequest[]
  /** Serve these bytes from now on, with this ETag (none when undefined). */
  setBundle: (bytes: Uint8Array, etag?: string) => void
  setMode: (mode: BundleServerMode) => void
  /** Send `content-length` (default) or stream the body chunked without one. */
  setChunked: (chunked: boolean) => void
  /** Resolves once the client of a `flood` response has hung up, with the bytes written until then. */
  floodEnded: () => Promise<number>
  close: () => Promise<void>
}

/** Starts a bundle server on 127.0.0.1 with an ephemeral port, speaking OPA's bundle protocol (ETag, If-None-Match, 304). */
export async function startBundleServer(bytes: Uint8Array, etag?: string): Promise<BundleServer> {
  let bundle = { bytes, etag }
  let mode: BundleServerMode = 'ok'
  let chunked = false
  const requests: SeenRequest[] = []
  let floodDone: Promise<number> = new Promise(() => {})
  const server = createServer((req, res) => {
    const seen: SeenRequest = { headers: req.headers, status: 200 }
    requests.push(seen)
    if (mode === 'hang') {
      seen.status = 'hang'
      return
    }
    if (mode === 'reset') {
      seen.status = 'reset'
      req.socket.destroy()
      return
    }
    if (mode === 'flood') {
      seen.status = 'flood'
      floodDone = flood(res)
      return
    }
    if (mode === 'error' || mode === 'missing' || req.url !== '/bundles/mcp.tar.gz') {
      seen.status = mode === 'error' ? 500 : 404
      res.writeHead(seen.status).end()
      return
    }
    if (bundle.etag !== undefined && req.headers['if-none-match'] === bundle.etag) {
      seen.status = 304
      res.writeHead(304, { etag: bundle.etag }).end()
      return
    }
    const headers: Record<string, string | number> = { 'content-type': 'application/gzip' }
    if (bundle.etag !== undefined) headers.etag = bundle.etag
    if (!chunked) headers['content-length'] = bundle.bytes.byteLength
    res.writeHead(200, headers)
    if (chunked) {
      const half = Math.floor(bundle.bytes.byteLength / 2)
      res.write(bundle.bytes.subarray(0, half))
      res.end(bundle.bytes.subarray(half))
    } else res.end(bundle.bytes)
  })
  const port = await listen(server)
  return {
    url: `http://127.0.0.1:${port}/bundles/mcp.tar.gz`,
    requests,
    setBundle: (next, nextEtag) => {
      bundle = { bytes: next, etag: nextEtag }
    },
    setMode: (next) => {
      mode = next
    },
    setChunked: (next) => {
      chunked = next
    },
    floodEnded: () => floodDone,
    close: () => closeServer(server),
  }
}

function flood(res: import('node:http').ServerResponse): Promise<number> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 0x1f)
    let written = 0
    res.writeHead(200, { 'content-type': 'application/gzip', etag: '"flood"' })
    const pump = () => {
      while (!res.destroyed) {
        written += chunk.byteLength
        if (!res.write(chunk)) {
          res.once('drain', pump)
          return
        }
      }
    }
    res.on('close', () => resolve(written))
    pump()
  })
}
