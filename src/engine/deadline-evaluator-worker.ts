/**
 * The evaluation worker of a `DeadlineEvaluator`: loads the bundle, then answers requests
 * from the shared memory forever, synchronously (`Atomics.wait` between them), until told to stop
 * or terminated past a deadline. Nothing here decides what to do with a result: it evaluates as
 * `PolicyInstance.evaluate` does in the calling thread, and writes back what that returned or threw.
 */
import { workerData } from 'node:worker_threads'
import { toMcpPolicyError } from '../errors.js'
import {
  type DeadlineWorkerAnswer,
  type DeadlineWorkerData,
  SLOTS_BYTES,
  Slot,
  Turn,
} from './deadline-evaluator.js'
import { type NdOptions, PolicyInstance } from './policy-instance.js'

const { buffer, bundle, memory } = workerData as DeadlineWorkerData
const slots = new Int32Array(buffer, 0, 4)
const encoder = new TextEncoder()

/** Writes the answer's JSON after the slots, growing the shared buffer as needed; its bytes. */
function write(text: string): number {
  for (;;) {
    const { read, written } = encoder.encodeInto(text, new Uint8Array(buffer, SLOTS_BYTES))
    if (read === text.length) return written
    const needed = SLOTS_BYTES + text.length * 3
    if (needed > buffer.maxByteLength) return write(JSON.stringify(tooLarge(text.length)))
    buffer.grow(needed)
  }
}

function tooLarge(chars: number): DeadlineWorkerAnswer {
  return {
    error: { code: 'ERR_ENGINE_TRAP', message: `the evaluation's result is too large (${chars} characters)` },
  }
}

function read(offset: number, length: number): string {
  return Buffer.from(buffer, SLOTS_BYTES + offset, length).toString('utf8')
}

function answer(request: () => DeadlineWorkerAnswer): void {
  let text: string
  try {
    text = JSON.stringify(request())
  } catch (err) {
    const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
    text = JSON.stringify({ error: { code: error.code, message: error.message } })
  }
  slots[Slot.LENGTH] = write(text)
}

let instance: PolicyInstance
try {
  instance = await PolicyInstance.create(bundle, memory)
} catch (err) {
  const error = toMcpPolicyError(err, 'ERR_ENGINE_INSTANTIATE')
  slots[Slot.LENGTH] = write(error.message)
  Atomics.store(slots, Slot.TURN, Turn.FAILED)
  Atomics.notify(slots, Slot.TURN)
  process.exit(1)
}
Atomics.store(slots, Slot.TURN, Turn.IDLE)
Atomics.notify(slots, Slot.TURN)

for (;;) {
  Atomics.wait(slots, Slot.TURN, Turn.IDLE)
  const turn = Atomics.load(slots, Slot.TURN)
  if (turn === Turn.STOP) break
  if (turn !== Turn.REQUEST) continue
  answer(() => {
    const headerBytes = slots[Slot.HEADER]!
    const inputBytes = slots[Slot.INPUT]!
    const header = JSON.parse(read(0, headerBytes)) as { entrypoint: string } & NdOptions
    const input = inputBytes < 0 ? undefined : read(headerBytes, inputBytes)
    return instance.evaluate(header.entrypoint, input, header)
  })
  Atomics.store(slots, Slot.TURN, Turn.ANSWER)
  Atomics.notify(slots, Slot.TURN)
}
