import type { RequestEnvelope } from '../normalize/request-normalizer.js'
import type { DecisionCoreConfig } from '../pdp/decision-core.js'
import type { ResponseJudgementRequest } from '../pdp/decision-port.js'

/** What a decision worker starts with (`workerData`). */
export interface DecisionWorkerData {
  /** The decision core's configuration, identity resolved by the main thread (so every thread trusts the same issuers). */
  config: DecisionCoreConfig
  /** The worker's id: its log chain is `gateway-<worker>-<time>`, its events labelled `worker: <worker>`. */
  worker: string
  /** The bundle serving in the main thread when the worker was started. */
  bundle: { bytes: Uint8Array; origin: string }
  /**
   * The `EvaluationClock`'s memory: the worker publishes there the job it evaluates, since when,
   * and the last job it received; the pool reads it to enforce the evaluation deadline.
   */
  clock: SharedArrayBuffer
}

/**
 * The main thread's requests, each answered once by `seq`. Messages travel by structured clone: a
 * POST body goes as its bytes (the worker parses it), a decision comes back with the parsed
 * message, so nothing is parsed twice.
 */
export type ToDecisionWorker =
  | { op: 'decide'; seq: number; facts: RequestEnvelope }
  | { op: 'judge'; seq: number; body: ResponseJudgementRequest }
  | { op: 'bundle'; seq: number; bytes: Uint8Array; origin: string }
  | { op: 'flush'; seq: number }
  | { op: 'close'; seq: number }

/** A decision worker's messages: started (or not), and one answer per request. */
export type FromDecisionWorker =
  | { op: 'ready' }
  | { op: 'failed'; code: string; message: string }
  | { op: 'done'; seq: number; value: unknown }
  | { op: 'error'; seq: number; code: string; message: string }
