import { describe, expect, it } from 'vitest'
import { RequestNormalizer } from '../../src/index.js'
import { analysisDeclarations } from '../../src/normalize/argument-analysis/analysis-declarations.js'

// The analysis step of normalization: the bundle's data declares which argument an analyzer reads
// (mcp_data.servers[s].tools[t].arguments[a].analyze), and the input document carries what it found.

const normalizer = new RequestNormalizer({
  servers: {
    postgres: { resource: 'https://mcp.example.com/postgres' },
    fetch: { resource: 'https://mcp.example.com/fetch' },
  },
})

const analysis = analysisDeclarations({
  mcp_data: {
    servers: {
      postgres: {
        tools: { query: { arguments: { sql: { analyze: 'sql:postgres', sql_read_only: true } } } },
      },
      fetch: { tools: { fetch: { arguments: { url: { analyze: 'url' } } } } },
    },
  },
})

const call = (name: string, args: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } })

describe('argument analysis in the normalizer', () => {
  it('adds input.mcp.tool.analysis for the declared arguments (the document validates)', async () => {
    const input = await normalizer.normalize(
      { server: 'postgres', message: call('query', { sql: 'select "pg_sleep"(10)', limit: 5 }) },
      { analysis },
    )
    expect(input.mcp.tool).toEqual({
      name: 'query',
      arguments: { sql: 'select "pg_sleep"(10)', limit: 5 },
      analysis: {
        sql: {
          analyzer: 'sql:postgres',
          parsed: true,
          statements: ['select'],
          statement_kinds: ['select'],
          functions: [{ name: 'pg_sleep' }],
          tables: [],
          locking: [],
        },
      },
    })
    // The verbatim params stay as sent.
    expect(input.mcp.params).toEqual({ name: 'query', arguments: { sql: 'select "pg_sleep"(10)', limit: 5 } })
  })

  it('analyses each element of an array argument', async () => {
    const input = await normalizer.normalize(
      {
        server: 'fetch',
        message: call('fetch', { url: ['https://a.example/', 'https://a.example\\@b.example/'] }),
      },
      { analysis },
    )
    expect(input.mcp.tool?.analysis?.url).toMatchObject([
      { parsed: true, ambiguous: false },
      { parsed: true, ambiguous: true },
    ])
  })

  it('adds nothing without declarations, for other tools and servers, or when the argument is absent', async () => {
    const plain = await normalizer.normalize({
      server: 'postgres',
      message: call('query', { sql: 'select 1' }),
    })
    expect(plain.mcp.tool).not.toHaveProperty('analysis')
    const other = await normalizer.normalize(
      { server: 'postgres', message: call('list_tables', { sql: 'x' }) },
      { analysis },
    )
    expect(other.mcp.tool).not.toHaveProperty('analysis')
    const absent = await normalizer.normalize(
      { server: 'postgres', message: call('query', { limit: 1 }) },
      { analysis },
    )
    expect(absent.mcp.tool).not.toHaveProperty('analysis')
    const elsewhere = await normalizer.normalize(
      { server: 'fetch', message: call('query', { sql: 'x' }) },
      { analysis },
    )
    expect(elsewhere.mcp.tool).not.toHaveProperty('analysis')
  })

  it('a message cannot bring its own analysis: the tool facts are built from name and arguments only', async () => {
    const forged = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'query',
        arguments: { sql: 'select pg_sleep(1)' },
        analysis: { sql: { parsed: true } },
      },
    })
    const input = await normalizer.normalize({ server: 'postgres', message: forged }, { analysis })
    expect(input.mcp.tool?.analysis?.sql).toMatchObject({ functions: [{ name: 'pg_sleep' }] })
  })
})
