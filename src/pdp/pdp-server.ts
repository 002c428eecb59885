import { readFile } from 'node:fs/promises'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { DecisionLog } from '../audit/decision-log.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { listenError } from '../listen-error.js'
import { BackchannelLogoutReceiver } from '../signals/backchannel-logout-receiver.js'
import { type SignalObserver, SsfReceiver } from '../signals/ssf-receiver.js'
import { AuthzenMapper } from './authzen-mapping.js'
import { openDecisionCore } from './decision-core.js'
import type { DecisionService } from './decision-service.js'
import { CallerAuthenticator } from './http/caller-auth.js'
import { sendError } from './http/respond.js'
import { assertSafeBind } from './load-pdp-config.js'
import type { PdpConfig } from './pdp-config.js'
import type { PdpMetrics } from './pdp-metrics.js'
import { authzenRoutes } from './routes/authzen-routes.js'
import { BACKCHANNEL_LOGOUT_PATH, backchannelLogoutRoute } from './routes/backchannel-logout-route.js'
import { EXT_AUTHZ_PREFIX, extAuthzRoute } from './routes/ext-authz-route.js'
import { healthRoutes } from './routes/health-routes.js'
import { mcpRoutes } from './routes/mcp-routes.js'
import { opaDataRoute } from './routes/opa-data-route.js'
import type { PdpContext, Route } from './routes/route.js'
import { SSF_EVENTS_PATH, ssfRoute } from './routes/ssf-route.js'

/** A running PDP (one process or one worker). */
export interface RunningPdp {
  /** `http(s)://host:port` it listens on. */
  url: string
  port: number
  service: DecisionService
  metrics: PdpMetrics
  log: DecisionLog | undefined
  /** Loads new bundle bytes (verified, atomic swap); a bad bundle leaves the old one serving. */
  loadBundleBytes(bytes: Uint8Array, origin: string): Promise<void>
  /** Stop accepting, finish in-flight requests, flush and fsync the log. */
  close(): Promise<void>
}

/** Options for {@link startPdp} beyond the configuration. */
export interface StartPdpOptions {
  /** Worker id for log chain ids and metric labels. */
  worker?: string
  /** Share the listening socket with sibling workers (node:cluster does this by itself). */
  exclusive?: boolean
}

/**
 * Starts the PDP HTTP service in this process: loads the bundle (refusing to start without one),
 * opens this worker's decision-log chain, starts the revocation receivers that are configured
 * (`ssf`: push endpoint and pollers; `backchannelLogout`), and listens with the configured limits.
 *
 * @throws McpPolicyError `ERR_PDP_INSECURE_BIND`, `ERR_PDP_CONFIG_INVALID`, `ERR_LISTEN_ADDRESS_IN_USE`,
 *   bundle and log errors.
 * @example
 * ```ts
 * const pdp = await startPdp({ ...defaultPdpConfig(), port: 0, workers: 1 })
 * console.log(pdp.url)
 * await pdp.close()
 * ```
 */
export async function startPdp(config: PdpConfig, options: StartPdpOptions = {}): Promise<RunningPdp> {
  assertSafeBind(config)
  const worker = options.worker ?? String(process.pid)
  const core = await openDecisionCore(config, { worker, chain: 'pdp' })
  const { service, metrics, log } = core
  let draining = false
  let receivers: Awaited<ReturnType<typeof openSignalReceivers>>
  try {
    receivers = openSignalReceivers(config, core)
  } catch (err) {
    await core.close()
    throw err
  }

  const context: PdpContext = {
    service,
    limits: config.limits,
    metrics,
    ready: () => service.engine.bundle !== undefined && !draining,
    status: () => ({ draining, ...core.status() }),
  }
  const routes: Route[] = [
    healthRoutes,
    mcpRoutes,
    opaDataRoute,
    extAuthzRoute,
    authzenRoutes(
      new AuthzenMapper({ servers: config.normalize.servers, environment: config.normalize.environment }),
    ),
    ...receivers.routes,
  ]
  const callerAuth = new CallerAuthenticator(config.callerAuth)
  const handler = requestHandler(routes, context, callerAuth, receivers.selfAuthenticated)
  let server: Server
  try {
    server = await listen(config, handler, options, metrics)
  } catch (err) {
    await core.close()
    throw err
  }
  receivers.ssf?.start((_transmitter, error) => metrics.signal('ssf', 'poll', 'unavailable', error.code))
  const port = (server.address() as AddressInfo).port
  const scheme = config.tls ? 'https' : 'http'
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host

  return {
    url: `${scheme}://${hostForUrl}:${port}`,
    port,
    service,
    metrics,
    log,
    loadBundleBytes: core.loadBundleBytes,
    async close() {
      draining = true
      await receivers.ssf?.close()
      await core.stopBundleSource()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
      await core.close()
    },
  }
}

/**
 * The revocation receivers the configuration turns on, their routes, and the paths that
 * authenticate their callers themselves: a transmitter presents its stream's credential and an
 * IdP its signed logout token, and neither holds a PDP caller credential.
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` for a receiver configuration that does not fit the identity configuration.
 */
function openSignalReceivers(config: PdpConfig, core: Awaited<ReturnType<typeof openDecisionCore>>) {
  const observe: SignalObserver = (receiver, event, outcome, code) =>
    core.metrics.signal(receiver, event, outcome, code)
  const options = {
    revocations: core.revocations,
    log: core.log,
    skewSeconds: core.identity.clockSkewSeconds ?? 60,
    tokenIssuers: core.identity.issuers.map((issuer) => issuer.issuer),
    observe,
  }
  const ssf = config.ssf
    ? new SsfReceiver(config.ssf, options, {
        timeoutMs: core.identity.jwksTimeoutMs,
        cooldownMs: core.identity.jwksCooldownMs,
      })
    : undefined
  const logout = config.backchannelLogout
    ? new BackchannelLogoutReceiver(config.backchannelLogout, core.identity, options)
    : undefined
  const routes: Route[] = []
  const selfAuthenticated = new Set<string>()
  if (ssf?.acceptsPush) {
    routes.push(ssfRoute(ssf))
    selfAuthenticated.add(SSF_EVENTS_PATH)
  }
  if (logout) {
    routes.push(backchannelLogoutRoute(logout))
    selfAuthenticated.add(BACKCHANNEL_LOGOUT_PATH)
  }
  return { ssf, routes, selfAuthenticated }
}

function requestHandler(
  routes: Route[],
  context: PdpContext,
  callerAuth: CallerAuthenticator,
  selfAuthenticated: ReadonlySet<string>,
) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (req.rawHeaders.length / 2 > context.limits.maxHeaders)
        throw new McpPolicyError(
          'ERR_PDP_HEADERS_TOO_LARGE',
          `more than ${context.limits.maxHeaders} headers`,
        )
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`)
      // Liveness stays open to probes; everything else, readiness and metrics included, needs a credential.
      if (url.pathname !== '/health' && !selfAuthenticated.has(url.pathname))
        callerAuth.check(req, { forwardsUserAuthorization: url.pathname.startsWith(EXT_AUTHZ_PREFIX) })
      for (const route of routes) if (await route(req, res, url, context)) return
      throw new McpPolicyError('ERR_PDP_NOT_FOUND', `no endpoint ${req.method} ${url.pathname}`)
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
      context.metrics.httpError(error.code)
      // After a refused body the rest of it may still be in flight: close rather than read it.
      sendError(res, error, error.code === 'ERR_PDP_BODY_TOO_LARGE' || error.code === 'ERR_PDP_BODY_INVALID')
    }
  }
}

async function listen(
  config: PdpConfig,
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: StartPdpOptions,
  metrics: PdpMetrics,
): Promise<Server> {
  const limits = config.limits
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the request and header timeouts only this often (default 30 s): check often enough
    // that a slowloris client is cut off close to the configured bound.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  }
  const server: Server = config.tls
    ? createHttpsServer(
        {
          ...serverOptions,
          cert: await readFile(config.tls.cert),
          key: await readFile(config.tls.key),
          ca: config.tls.ca ? await readFile(config.tls.ca) : undefined,
          // Ask for a certificate but let the handler decide, so a missing one is a 401 in our shape.
          requestCert: config.callerAuth.clientCertificates === true,
          rejectUnauthorized: false,
        },
        handler,
      )
    : createHttpServer(serverOptions, handler)
  // One more than the bound, so the handler can tell "too many" from "exactly the bound".
  server.maxHeadersCount = limits.maxHeaders + 1
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const [status, code, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'ERR_PDP_TIMEOUT', 'request not received in time']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'ERR_PDP_HEADERS_TOO_LARGE', 'headers exceed the size bound']
          : [400, 'ERR_PDP_BODY_INVALID', 'malformed HTTP request']
    metrics.httpError(code)
    if (socket.writable) {
      const body = JSON.stringify({ code, message })
      socket.end(
        `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    } else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(listenError(err, config.host, config.port, 'ERR_PDP_CONFIG_INVALID')),
    )
    server.listen({ host: config.host, port: config.port, exclusive: options.exclusive ?? true }, () =>
      resolve(),
    )
  })
  return server
}
