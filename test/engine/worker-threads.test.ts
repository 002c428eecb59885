import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { buildPolicy } from '../helpers/build-policy.js'

// Runs in each worker: its own engine, its own WebAssembly instance (the built library, as a PDP worker would load it).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
import(workerData.library).then(async ({ PolicyEngine }) => {
  const engine = await PolicyEngine.fromBundleFile(workerData.bundle)
  let allowed = 0
  for (let i = 0; i < 2000; i++) if (engine.decide({ n: i }).decision.allow) allowed++
  parentPort.postMessage({ allowed, threadBundle: engine.bundle.digest })
})
`

describe('one engine per worker thread', async () => {
  const built = await buildPolicy({
    rego: {
      'policy.rego':
        'package mcp\n\ndecision := {"allow": input.n % 2 == 0, "reasons": [{"code": "odd", "message": "odd"}]}\n',
    },
  })

  it('engines in parallel workers share no state and agree', async () => {
    const library = new URL(`file://${packageRoot()}/dist/src/index.js`).href
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ allowed: number; threadBundle: string }>((resolve, reject) => {
            const worker = new Worker(workerSource, {
              eval: true,
              workerData: { library, bundle: built.path },
            })
            worker.once('message', (message) => {
              resolve(message)
              void worker.terminate()
            })
            worker.once('error', reject)
          }),
      ),
    )
    expect(results).toEqual([0, 1, 2].map(() => ({ allowed: 1000, threadBundle: built.digest })))
  })
})
