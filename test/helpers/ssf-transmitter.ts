import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { JWTHeaderParameters } from 'jose'
import { SignJWT } from 'jose'
import { request } from 'undici'
import { closeServer, listen } from '../identity/jwks-server.js'
import { type TestKey, testKey } from '../identity/test-keys.js'

/** What one SET says: its event type, the event's members, whom it is about. */
export interface TestEvent {
  type: string
  /** Members of the event object (CAEP `event_timestamp`, `change_type`…). */
  event?: Record<string, unknown>
  /** The SET's `sub_id`. */
  subject?: unknown
}

/** How to spoil a SET for a bad-input test. */
export interface SetOverrides {
  /** Claims merged over the defaults (`iss`, `aud`, `iat`, `jti`, `sub_id`, `events`); undefined removes one. */
  claims?: Record<string, unknown>
  /** Header members merged over `{alg, kid, typ: 'secevent+jwt'}`; undefined removes one. */
  header?: Partial<JWTHeaderParameters>
  /** Sign with another key (a forgery). */
  key?: TestKey
}

/** A Shared Signals transmitter on loopback, as an IdP runs one. */
export interface TestTransmitter {
  /** Its issuer: `http://127.0.0.1:<port>/<tenant>` (a path, so discovery must insert the well-known part). */
  issuer: string
  /** The audience its stream was created with. */
  audience: string
  key: TestKey
  /** The stream id, readable at its configuration endpoint (poll delivery). */
  streamId: string
  /** The credential its poll and stream endpoints require. */
  pollAuthorization: string
  /** Metadata (`/.well-known/ssf-configuration/...`) requests served. */
  metadataRequests: () => number
  /** Poll requests served. */
  pollRequests: () => number
  /** Signs a SET for `event`, with a fresh `jti` unless overridden. */
  sign: (event: TestEvent, overrides?: SetOverrides) => Promise<string>
  /** POSTs a SET to a receiver (RFC 8935) and reads the answer. */
  push: (
    url: string,
    set: string,
    authorization?: string,
  ) => Promise<{
    status: number
    body: Record<string, unknown> | undefined
    headers: Record<string, unknown>
  }>
  /** Queues a SET for poll delivery: delivered on every poll until acknowledged or reported in setErrs. */
  enqueue: (set: string) => void
  /** The jtis receivers acknowledged, in order. */
  acked: string[]
  /** The errors receivers reported (`setErrs`), by jti. */
  setErrs: Record<string, { err: string; description: string }>
  /** SETs still queued. */
  queued: () => number
  /** `down`: every endpoint answers 503. */
  setMode: (mode: 'ok' | 'down') => void
  close: () => Promise<void>
}

/**
 * Starts a transmitter that signs real SETs with jose (ES256) and serves, over real HTTP on
 * 127.0.0.1: its metadata at `/.well-known/ssf-configuration/<tenant>` (SSF 1.0 §6.2), its JWKS,
 * a stream configuration endpoint naming its RFC 8936 poll endpoint, and that endpoint (long poll
 * of up to 1 s, acknowledgements and `setErrs` as RFC 8936 defines them).
 */
export async function startTestTransmitter(audience: string): Promise<TestTransmitter> {
  const key = await testKey('ES256', `ssf-${randomUUID().slice(0, 8)}`)
  const streamId = `stream-${randomUUID().slice(0, 8)}`
  const pollAuthorization = `Bearer poll-${randomUUID()}`
  const queue = new Map<string, string>()
  const acked: string[] = []
  const setErrs: Record<string, { err: string; description: string }> = {}
  const waiting = new Set<() => void>()
  let metadataCount = 0
  let pollCount = 0
  let mode: 'ok' | 'down' = 'ok'
  let origin = ''
  const tenant = '/tenants/acme'
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    if (mode === 'down') return json(503, { error: 'down' })
    if (req.method === 'GET' && url.pathname === `/.well-known/ssf-configuration${tenant}`) {
      metadataCount++
      return json(200, {
        spec_version: '1_0',
        issuer: `${origin}${tenant}`,
        jwks_uri: `${origin}/jwks`,
        delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
        configuration_endpoint: `${origin}/ssf/stream`,
      })
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(200, { keys: [key.publicJwk] })
    if (req.headers.authorization !== pollAuthorization) return json(401, { error: 'unauthorized' })
    if (req.method === 'GET' && url.pathname === '/ssf/stream') {
      if (url.searchParams.get('stream_id') !== streamId) return json(404, { error: 'no such stream' })
      return json(200, {
        stream_id: streamId,
        iss: `${origin}${tenant}`,
        aud: audience,
        delivery: { method: 'urn:ietf:rfc:8936', endpoint_url: `${origin}/ssf/poll` },
      })
    }
    if (req.method === 'POST' && url.pathname === '/ssf/poll') {
      readJson(req).then(
        async (body) => {
          pollCount++
          for (const jti of (body.ack as string[] | undefined) ?? []) {
            if (queue.delete(jti)) acked.push(jti)
          }
          for (const [jti, error] of Object.entries(
            (body.setErrs as Record<string, { err: string; description: string }> | undefined) ?? {},
          )) {
            setErrs[jti] = error
            queue.delete(jti)
          }
          if (queue.size === 0 && body.returnImmediately !== true)
            await new Promise<void>((resolve) => {
              const wake = () => {
                clearTimeout(timer)
                waiting.delete(wake)
                resolve()
              }
              const timer = setTimeout(wake, 1_000)
              waiting.add(wake)
            })
          const max = typeof body.maxEvents === 'number' ? body.maxEvents : 100
          const sets = Object.fromEntries([...queue].slice(0, max))
          json(200, { sets, moreAvailable: queue.size > max })
        },
        () => json(400, { error: 'bad json' }),
      )
      return
    }
    json(404, { error: 'not found' })
  })
  const port = await listen(server)
  origin = `http://127.0.0.1:${port}`
  const issuer = `${origin}${tenant}`
  return {
    issuer,
    audience,
    key,
    streamId,
    pollAuthorization,
    metadataRequests: () => metadataCount,
    pollRequests: () => pollCount,
    sign: async (event, overrides = {}) => {
      const now = Math.floor(Date.now() / 1000)
      const claims: Record<string, unknown> = {
        iss: issuer,
        aud: audience,
        iat: now,
        jti: randomUUID(),
        ...(event.subject !== undefined && { sub_id: event.subject }),
        events: { [event.type]: event.event ?? {} },
        ...overrides.claims,
      }
      for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name]
      const signer = overrides.key ?? key
      const header: Record<string, unknown> = {
        alg: signer.alg,
        kid: signer.kid,
        typ: 'secevent+jwt',
        ...overrides.header,
      }
      for (const name of Object.keys(header)) if (header[name] === undefined) delete header[name]
      return new SignJWT(claims).setProtectedHeader(header as JWTHeaderParameters).sign(signer.privateKey)
    },
    push: async (url, set, authorization) => {
      const response = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/secevent+jwt',
          accept: 'application/json',
          ...(authorization !== undefined && { authorization }),
        },
        body: set,
      })
      const text = await response.body.text()
      return {
        status: response.statusCode,
        body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
        headers: response.headers,
      }
    },
    enqueue: (set) => {
      const jti = JSON.parse(Buffer.from(set.split('.')[1]!, 'base64url').toString()).jti as string
      queue.set(jti, set)
      for (const wake of [...waiting]) wake()
    },
    acked,
    setErrs,
    queued: () => queue.size,
    setMode: (next) => {
      mode = next
    },
    close: async () => {
      for (const wake of [...waiting]) wake()
      server.closeAllConnections()
      await closeServer(server)
    },
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
}

/** CAEP, RISC and SSF event type URIs used by the tests. */
export const eventTypes = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  tokenClaimsChange: 'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountPurged: 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  credentialCompromise: 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
} as const
