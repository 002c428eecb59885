import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** Where the shipped gateway configuration lives. */
export const nginxGatewayDir = resolve('src/gateway/nginx')

/** The nginx binary and njs module found on this machine, if both are there. */
export function findNginx(): { nginx: string; njsModule: string } | undefined {
  const candidates = [process.env.NGINX_BIN, 'nginx', '/usr/sbin/nginx'].filter(Boolean) as string[]
  const njsModule = process.env.NGINX_NJS_MODULE ?? '/usr/lib/nginx/modules/ngx_http_js_module.so'
  if (!existsSync(njsModule)) return undefined
  for (const nginx of candidates) {
    try {
      execFileSync(nginx, ['-v'], { stdio: 'ignore' })
      return { nginx, njsModule }
    } catch {
      // not this one
    }
  }
  return undefined
}

/** Settings for {@link startNginxGateway}. */
export interface NginxGatewayOptions {
  /** The PDP's base URL, e.g. `http://127.0.0.1:8181`. */
  pdp: string
  /** The upstream MCP endpoint, e.g. `http://127.0.0.1:3000/mcp`. */
  upstream: string
  serverId: string
  judgeResults?: boolean
  /** `input.destination.model` for result judgements; omitted = the policy's default. */
  destination?: string
  pdpAuthorization?: string
}

/** A running nginx gateway. */
export interface NginxGateway {
  /** The MCP endpoint clients talk to. */
  url: string
  prefix: string
  errorLog: () => Promise<string>
  accessLog: () => Promise<string>
  close: () => Promise<void>
}

/**
 * Renders `src/gateway/nginx/nginx.conf` into a temp prefix (pid, logs and temp paths there) and
 * runs nginx in the foreground as a child process on a free loopback port, until `close` (which
 * also removes the prefix).
 */
export async function startNginxGateway(options: NginxGatewayOptions): Promise<NginxGateway> {
  const found = findNginx()
  if (!found) throw new Error('nginx with the njs module (libnginx-mod-http-js) is not installed')
  const prefix = await mkdtemp(join(tmpdir(), 'mcp-policy-nginx-'))
  // Workers run as an unprivileged user when the master is root: they must reach the temp paths.
  await chmod(prefix, 0o755)
  const port = await freePort()
  const pdp = new URL(options.pdp)
  const upstream = new URL(options.upstream)
  const values: Record<string, string> = {
    NJS_MODULE: found.njsModule,
    PREFIX: prefix,
    SCRIPT_DIR: nginxGatewayDir,
    LISTEN: `127.0.0.1:${port}`,
    PDP: pdp.host,
    PDP_AUTHORIZATION: options.pdpAuthorization ?? '',
    UPSTREAM: upstream.host,
    // The Host the MCP server expects: its own authority, as in the upstream URL.
    UPSTREAM_HOST: upstream.host,
    UPSTREAM_PATH: upstream.pathname,
    SERVER_ID: options.serverId,
    JUDGE_RESULTS: options.judgeResults === false ? 'off' : 'on',
    DESTINATION: options.destination ?? '',
  }
  const template = await readFile(join(nginxGatewayDir, 'nginx.conf'), 'utf8')
  const conf = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`nginx.conf placeholder ${name} has no value`)
    return value
  })
  const confPath = join(prefix, 'nginx.conf')
  await writeFile(confPath, conf)
  const errorLogPath = join(prefix, 'error.log')
  const child = spawn(found.nginx, ['-p', prefix, '-e', errorLogPath, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  await waitForPort(port, child, () => stderr)
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    prefix,
    errorLog: () => readFile(errorLogPath, 'utf8').catch(() => ''),
    accessLog: () => readFile(join(prefix, 'access.log'), 'utf8').catch(() => ''),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
      await rm(prefix, { recursive: true, force: true })
    },
  }
}

/** A free TCP port on 127.0.0.1 (for a child process to listen on). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr()}`)
    const open = await new Promise<boolean>((done) => {
      const socket = new Socket()
      socket.once('connect', () => {
        socket.destroy()
        done(true)
      })
      socket.once('error', () => done(false))
      socket.connect(port, '127.0.0.1')
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr()}`)
}
