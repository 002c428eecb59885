import { generateKeyPairSync } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DecisionLog, PolicyEngine } from '../../src/index.js'
import { buildPolicy } from './build-policy.js'

// Grants by subject; tools/list answers with visible_tools; arguments named in data.sensitive are
// masked in the log (redact); tools in data.approval need a human; tool results containing
// data.secret_marker are redacted before the model sees them.
const policy = `package mcp

granted if input.mcp.tool.name in data.grants[input.subject.id]

listing if input.mcp.method == "tools/list"

allow if listing

allow if granted

redact contains concat("", ["/mcp/tool/arguments/", name]) if {
	some name, _ in input.mcp.tool.arguments
	name in data.sensitive
}

obligations["visible_tools"] := sort([t | some t in data.visible]) if listing

obligations["redact"] := sort(redact) if count(redact) > 0

obligations["require_approval"] := {"reason": "a write needs a second person"} if {
	granted
	input.mcp.tool.name in data.approval
}

decision := {"allow": true, "status": 200, "reasons": [], "obligations": obligations} if allow

decision := {"allow": false, "status": 403, "reasons": [{"code": "not_granted", "message": "no grant"}], "obligations": obligations} if not allow

secret contains i if {
	some i, item in input.result.content
	contains(item.text, data.secret_marker)
}

response := {"allow": true, "reasons": [], "redactions": [r |
	some i in secret
	r := {"path": concat("", ["/result/content/", format_int(i, 10), "/text"]), "replacement": "[REDACTED]"}
]}
`

const recordedData = {
  grants: {
    alice: ['get_issue', 'create_issue'],
    bob: ['get_issue', 'list_repos'],
    'service-account-for-the-nightly-export@example.com': ['list_repos'],
  },
  visible: ['get_issue', 'create_issue', 'list_repos'],
  sensitive: ['password'],
  approval: ['create_issue'],
  secret_marker: 'SECRET',
}

// Every kind of change: alice loses get_issue (allow→deny) and gains delete_repo (deny→allow);
// tools/list shows delete_repo but no longer list_repos (visible_tools +/−, widens); create_issue
// needs no approval (require_approval −, widens); token is masked too (redact +, narrows); results
// are no longer redacted (redactions −, widens).
const candidateData = {
  ...recordedData,
  grants: { ...recordedData.grants, alice: ['create_issue', 'delete_repo'] },
  visible: ['get_issue', 'create_issue', 'delete_repo'],
  sensitive: ['password', 'token'],
  approval: [],
  secret_marker: 'NOT-IN-ANY-RESULT',
}

const subjects = ['alice', 'bob', 'service-account-for-the-nightly-export@example.com']
const tools = ['get_issue', 'create_issue', 'delete_repo', 'list_repos']

/** What {@link recordEvidence} made: the bundles, three logs and the checkpoint public key. */
export interface ReplayEvidence {
  dir: string
  recorded: Awaited<ReturnType<typeof buildPolicy>>
  candidate: Awaited<ReturnType<typeof buildPolicy>>
  /** Bundle store holding the recorded bundle. */
  store: string
  /** Signed checkpoints, verifiable with `publicKey`. */
  signedLog: string
  /** One event's result edited after the fact (line `tamperedLine` of `tamperedFile`). */
  tamperedLog: string
  tamperedFile: string
  tamperedLine: number
  /** Written without a signing key: no checkpoint. */
  unsignedLog: string
  /** PEM file of the Ed25519 public key that signed `signedLog`'s checkpoints. */
  publicKey: string
}

/**
 * Builds a recorded and a candidate bundle with the real OPA toolchain and writes real decision
 * logs with the engine (decisions and tool-result judgements, masked as the PDP masks them): one
 * with signed checkpoints, one edited after the fact, one without a key.
 */
export async function recordEvidence(): Promise<ReplayEvidence> {
  const [recorded, candidate] = await Promise.all([
    buildPolicy({ rego: { 'policy.rego': policy }, data: recordedData, revision: 'policy-v1' }),
    buildPolicy({ rego: { 'policy.rego': policy }, data: candidateData, revision: 'policy-v2-candidate' }),
  ])
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-evidence-'))
  const engine = await PolicyEngine.fromBundleFile(recorded.path)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const publicKeyFile = join(dir, 'checkpoint.pub.pem')
  await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }))
  const write = async (name: string, count: number, signed: boolean) => {
    const logDir = join(dir, name)
    await mkdir(logDir)
    const log = await DecisionLog.open({
      dir: logDir,
      durability: 'batch',
      ...(signed ? { signingKey: privateKey } : {}),
    })
    for (let i = 0; i < count; i++) {
      const subject = subjects[i % subjects.length]!
      const listing = i % 5 === 0
      const input = {
        mcp: listing
          ? { method: 'tools/list' }
          : {
              method: 'tools/call',
              tool: {
                name: tools[i % tools.length],
                arguments: i % 4 === 1 ? { password: 'hunter2', token: 't-1', n: i } : { n: i },
              },
            },
        subject: { id: subject },
        server: { id: 'github' },
      }
      const outcome = engine.decide(input)
      if (outcome.error) throw outcome.error
      const bundles = { default: { revision: outcome.bundle!.revision, digest: outcome.bundle!.digest } }
      await log.append({
        path: 'mcp/decision',
        input,
        result: outcome.decision,
        bundles,
        nd_builtin_cache: outcome.ndBuiltinCache,
        redact: outcome.decision.obligations?.redact,
      })
      if (!listing && outcome.decision.allow && i % 3 === 0) {
        // The tool's result, judged before the model sees it; every other one holds a secret.
        const response = {
          request: input,
          result: { content: [{ type: 'text', text: i % 2 ? `issue ${i}: SECRET sauce` : `issue ${i}` }] },
        }
        const judged = engine.judgeResponse(response)
        if (judged.error) throw judged.error
        await log.append({
          path: 'mcp/response',
          input: response,
          result: judged.judgement,
          bundles,
          nd_builtin_cache: judged.ndBuiltinCache,
        })
      }
    }
    await log.close()
    return logDir
  }
  const [signedLog, tamperedLog, unsignedLog] = await Promise.all([
    write('signed', 30, true),
    write('tampered', 12, false),
    write('unsigned', 12, false),
  ])
  // An allowed decision made to read as a deny after the fact: its hash no longer matches.
  const tamperedFile = join(tamperedLog, (await readdir(tamperedLog)).find((f) => f.endsWith('.jsonl'))!)
  const lines = (await readFile(tamperedFile, 'utf8')).trimEnd().split('\n')
  const index = lines.findIndex((l) => {
    const event = JSON.parse(l) as { path: string; result: { allow: boolean } }
    return event.path === 'mcp/decision' && event.result.allow
  })
  const event = JSON.parse(lines[index]!) as { result: unknown }
  event.result = { allow: false, status: 403, reasons: [{ code: 'edited', message: 'x' }], obligations: {} }
  lines[index] = JSON.stringify(event)
  await writeFile(tamperedFile, `${lines.join('\n')}\n`)
  return {
    dir,
    recorded,
    candidate,
    store: join(recorded.dir, 'store'),
    signedLog,
    tamperedLog,
    tamperedFile,
    tamperedLine: index + 1,
    unsignedLog,
    publicKey: publicKeyFile,
  }
}
