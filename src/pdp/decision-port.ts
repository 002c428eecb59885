import type { Decision } from '../engine/decision.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { McpMessage } from '../normalize/mcp-message.js'
import type { RequestEnvelope } from '../normalize/request-normalizer.js'
import type { McpDecisionResponse, McpResponseJudgement } from './decision-service.js'

/** What deciding one MCP message yields: the response, and what the normalizer built and parsed. */
export interface DecidedMessage {
  response: McpDecisionResponse
  /** The input document decided; absent when the message could not be normalized (or decided at all). */
  input?: InputDocument
  /** The message exactly as the normalizer parsed and checked it: what an enforcement point forwards. */
  message?: McpMessage
}

/**
 * A client request the policy admitted, kept by an enforcement point (the gateway, the in-process
 * transport) until its answer passes back and is judged against this input and decision.
 */
export interface AdmittedRequest {
  method: string
  input: InputDocument
  decision: Decision
}

/** A tool result to judge at `mcp/response`, as {@link DecisionService.judgeResponse} takes it. */
export interface ResponseJudgementRequest {
  /** The request's input document (the caller decided it), or else `facts` to normalize again. */
  request?: unknown
  facts?: RequestEnvelope
  result: unknown
  destination?: unknown
  /** The request's own `redact` obligation, when the caller decided the request already. */
  requestRedact?: readonly string[]
}

/**
 * Where an enforcement point gets its decisions: normalize → decide → log one message, and judge a
 * tool result. {@link DecisionService} is one (in this thread); the gateway's worker-thread pool
 * is another, so the gateway's code is the same whichever decides. Every implementation fails
 * closed: a message it cannot decide is denied with a stable reason code and logged, never thrown.
 *
 * @example
 * ```ts
 * const port: DecisionPort = core.service // or a DecisionPool
 * const { response, message } = await port.decideMessage({ message: body, headers, server: 'filesystem' })
 * if (response.allow) forward(message)
 * ```
 */
export interface DecisionPort {
  /** Normalizes and decides one message at `mcp/decision`, logged before it resolves. */
  decideMessage(facts: RequestEnvelope): Promise<DecidedMessage>
  /** Judges a tool result at `mcp/response`, logged before it resolves. */
  judgeResponse(body: ResponseJudgementRequest): Promise<McpResponseJudgement>
}
