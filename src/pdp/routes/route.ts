import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DecisionService } from '../decision-service.js'
import type { PdpLimits } from '../pdp-config.js'
import type { PdpMetrics } from '../pdp-metrics.js'

/** What every route handler may use. */
export interface PdpContext {
  service: DecisionService
  limits: PdpLimits
  metrics: PdpMetrics
  /** True once a bundle is loaded and until shutdown begins. */
  ready(): boolean
  /** Facts for `/health/ready` (bundle, last bundle error, log). */
  status(): Record<string, unknown>
}

/** A route: answers the request, or returns false when the path is not its own. */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  context: PdpContext,
) => Promise<boolean> | boolean
