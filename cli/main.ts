#!/usr/bin/env node
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { buildCommand } from './build.js'
import { catalogCommand } from './catalog.js'
import { checkCommand } from './check.js'
import { demoCommand } from './demo.js'
import { evalCommand } from './eval.js'
import { gatewayCommand } from './gateway.js'
import { initCommand } from './init.js'
import { keygenCommand } from './keygen.js'
import { normalizeCommand } from './normalize.js'
import { replayCommand } from './replay.js'
import { serveCommand } from './serve.js'
import { testCommand } from './test.js'
import { tokenCommand } from './token.js'
import { toolchainCommand } from './toolchain.js'
import { verifyLogCommand } from './verify-log.js'

// Exit codes: 0 success/allowed, 1 denied or failed check, 2 error. See docs/cli.md, "Exit codes".
await yargs(hideBin(process.argv))
  .scriptName('mcp-policy')
  .command(buildCommand)
  .command(catalogCommand)
  .command(checkCommand)
  .command(demoCommand)
  .command(evalCommand)
  .command(gatewayCommand)
  .command(initCommand)
  .command(keygenCommand)
  .command(normalizeCommand)
  .command(replayCommand)
  .command(serveCommand)
  .command(testCommand)
  .command(tokenCommand)
  .command(toolchainCommand)
  .command(verifyLogCommand)
  .demandCommand(1, 'name a command')
  .strict()
  .fail((message, err, y) => {
    if (err) throw err
    process.stderr.write(`${y.help()}\n\n${message}\n`)
    process.exit(2)
  })
  .help()
  .parseAsync()
