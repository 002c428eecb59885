/**
 * The entry script of one gateway decision worker (a worker thread started by `DecisionPool`): its
 * own policy engine, token verifier and decision-log chain, answering the main thread's requests
 * over the thread's port. Not a module to import: it runs only as a worker.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { EvaluationClock } from '../engine/evaluation-clock.js'
import { toMcpPolicyError } from '../errors.js'
import { type DecisionCore, openDecisionCore } from '../pdp/decision-core.js'
import type { DecisionWorkerData, FromDecisionWorker, ToDecisionWorker } from './decision-worker-protocol.js'

const port = parentPort
if (!port) throw new Error('decision-worker.js runs only as a worker thread of the gateway')
const data = workerData as DecisionWorkerData
const reply = (message: FromDecisionWorker) => port.postMessage(message)
const clock = new EvaluationClock(data.clock)

const opened: Promise<DecisionCore | undefined> = openDecisionCore(data.config, {
  worker: data.worker,
  chain: 'gateway',
  bundle: data.bundle,
  clock,
}).then(
  (core) => {
    reply({ op: 'ready' })
    return core
  },
  (err: unknown) => {
    const error = toMcpPolicyError(err, 'ERR_GATEWAY_WORKER_FAILED')
    reply({ op: 'failed', code: error.code, message: error.message })
    port.close()
    return undefined
  },
)

port.on('message', (message: ToDecisionWorker) => {
  // Received: were this thread stopped now, the pool knows what it sent later never arrived.
  clock.received(message.seq)
  // Everything waits for the core: the main thread may send before this worker is ready, and
  // continuations of one promise run in the order they were attached, so requests keep their order.
  opened
    .then(async (core) => {
      if (!core) return
      switch (message.op) {
        case 'decide':
          return reply({
            op: 'done',
            seq: message.seq,
            value: await core.service.decideMessage(message.facts, { job: message.seq }),
          })
        case 'judge':
          return reply({
            op: 'done',
            seq: message.seq,
            value: await core.service.judgeResponse(message.body, { job: message.seq }),
          })
        case 'bundle':
          await core.loadBundleBytes(message.bytes, message.origin)
          return reply({ op: 'done', seq: message.seq, value: null })
        case 'flush':
          await core.log?.flush()
          return reply({ op: 'done', seq: message.seq, value: null })
        case 'close':
          await core.close()
          reply({ op: 'done', seq: message.seq, value: null })
          port.close()
          return
      }
    })
    .catch((err: unknown) => {
      const error = toMcpPolicyError(err, 'ERR_GATEWAY_WORKER_FAILED')
      reply({ op: 'error', seq: message.seq, code: error.code, message: error.message })
    })
})
