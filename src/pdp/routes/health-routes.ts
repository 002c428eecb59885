import { sendJson } from '../http/respond.js'
import type { Route } from './route.js'

/**
 * `GET /health` (the process answers), `GET /health/ready` (a bundle is loaded and the PDP is not
 * draining; 503 otherwise, with the reason) and `GET /metrics` (Prometheus text). Readiness names
 * the bundle by its digest, never by its path or URL (`DecisionCore.status`): a PDP without
 * `callerAuth` answers it to anyone on loopback.
 */
export const healthRoutes: Route = async (req, res, url, context) => {
  if (req.method !== 'GET') return false
  switch (url.pathname) {
    case '/health':
      sendJson(res, 200, { status: 'ok', pid: process.pid })
      return true
    case '/health/ready': {
      const ready = context.ready()
      sendJson(res, ready ? 200 : 503, { ready, ...context.status() })
      return true
    }
    case '/metrics': {
      const text = await context.metrics.registry.metrics()
      res.writeHead(200, { 'content-type': context.metrics.registry.contentType })
      res.end(text)
      return true
    }
    default:
      return false
  }
}
