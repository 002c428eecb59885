// The sample server lives in src/demo (npm start uses it); tests import it from here.
export * from '../../src/demo/sample-mcp-server.js'
