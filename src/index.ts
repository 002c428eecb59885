// The public API: every name here is a decision (test/public-api.test.ts pins the list). Helpers
// stay in their modules, marked @internal; the demo and the init templates are the CLI's, not the library's.
export type { CheckpointKey, CheckpointLogConfig, CheckpointSigning } from './audit/checkpoint-key.js'
export {
  CHECKPOINT_PRIVATE_KEY_FILE,
  CHECKPOINT_PUBLIC_KEY_FILE,
  createCheckpointKey,
  defaultCheckpointSigning,
  loadOrCreateCheckpointKey,
} from './audit/checkpoint-key.js'
export type { CheckpointPayload, DecisionEvent, DecisionRecord } from './audit/decision-event.js'
export { REJECTED_PATH, REVOCATION_PATH } from './audit/decision-event.js'
export type { DecisionLogOptions, Durability } from './audit/decision-log.js'
export { checkpointPath, DecisionLog, eventFilePath } from './audit/decision-log.js'
export type { LogShipperOptions, LogShipperStats } from './audit/log-shipper.js'
export { LogShipper } from './audit/log-shipper.js'
export type { ObligationChange, ObligationEffect } from './audit/obligation-diff.js'
export type {
  ReplayBundle,
  ReplayDifference,
  ReplayOptions,
  ReplayProgressBytes,
  ReplayReport,
} from './audit/replay-log.js'
export { replayLog } from './audit/replay-log.js'
export type { ReplayHtmlOptions } from './audit/replay-report-html.js'
export { renderReplayHtml } from './audit/replay-report-html.js'
export type { ReplaySummaryOptions } from './audit/replay-summary-markdown.js'
export { renderReplaySummaryMarkdown } from './audit/replay-summary-markdown.js'
export type { LogFinding, LogFindingKind, LogVerification, VerifyLogOptions } from './audit/verify-log.js'
export { verifyLog } from './audit/verify-log.js'
export type { BuildBundleOptions, BuiltBundle } from './bundle/build-bundle.js'
export { buildBundle } from './bundle/build-bundle.js'
export type { Bundle, BundleManifest } from './bundle/bundle.js'
export type { LoadBundleOptions } from './bundle/load-bundle.js'
export { loadBundle } from './bundle/load-bundle.js'
export type { BundleSizeLimits } from './bundle/read-bundle-archive.js'
export type { BundleVerification, BundleVerificationKey } from './bundle/verify-bundle-signature.js'
export { verifyBundleSignature } from './bundle/verify-bundle-signature.js'
export type { CatalogKind } from './catalog/catalog-digest.js'
export type { CatalogSource } from './catalog/connect-mcp-client.js'
export type { CatalogImport, ImportCatalogOptions } from './catalog/import-catalog.js'
export { importCatalog } from './catalog/import-catalog.js'
export type {
  CatalogEntry,
  CatalogLimits,
  ServerCatalog,
  SkippedEntry,
  ToolHints,
} from './catalog/list-server-catalog.js'
export type { CatalogChange, CatalogMerge, HintChange } from './catalog/merge-server-catalog.js'
export {
  DEFAULT_BUNDLE_DATA_FILE,
  DEFAULT_BUNDLE_DIR,
  DEFAULT_BUNDLE_FILE,
  DEFAULT_BUNDLE_POLL_SECONDS,
  DEFAULT_BUNDLE_STORE,
  DEFAULT_CHECKPOINT_KEY_DIR,
  DEFAULT_DEV_CLIENT_ID,
  DEFAULT_DEV_KEY_DIR,
  DEFAULT_DEV_TOKEN_LIFETIME,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HOST,
  DEFAULT_LOG_DIR,
  DEFAULT_PDP_PORT,
  DEFAULT_REGO_DIR,
  DEFAULT_SERVER,
  DEFAULT_SERVERS,
  defaultServerResource,
} from './defaults.js'
export { enforcePolicy } from './enforce/enforce-policy.js'
export type { PolicyEnforcementOptions } from './enforce/policy-enforcing-transport.js'
export { PolicyEnforcingTransport } from './enforce/policy-enforcing-transport.js'
export type { Decision, Obligations, Reason, ResponseJudgement } from './engine/decision.js'
export type { NdBuiltinCache } from './engine/nd-builtin-cache.js'
export type {
  BundleRef,
  DecisionOutcome,
  EvaluateOptions,
  Evaluation,
  PolicyEngineOptions,
  ResponseOutcome,
} from './engine/policy-engine.js'
export { DECISION_ENTRYPOINT, PolicyEngine, RESPONSE_ENTRYPOINT } from './engine/policy-engine.js'
export type { MemoryLimits, NdOptions } from './engine/policy-instance.js'
export type { McpPolicyErrorCode } from './errors.js'
export { errorCodes, errorTable, McpPolicyError, toMcpPolicyError } from './errors.js'
export type {
  GatewayConfig,
  GatewayLimits,
  HttpUpstreamConfig,
  StdioUpstreamConfig,
  UpstreamConfig,
} from './gateway/gateway-config.js'
export {
  defaultGatewayConfig,
  gatewayConfigSchema,
  loadGatewayConfig,
  resolveGatewayConfig,
} from './gateway/gateway-config.js'
export type { RunningGateway, StartGatewayOptions } from './gateway/mcp-gateway.js'
export { startGateway } from './gateway/mcp-gateway.js'
export type { CacheStats } from './identity/cache-stats.js'
export type { DevActClaim, DevKey, DevTokenOptions } from './identity/dev-token.js'
export {
  createDevKey,
  devIssuer,
  devIssuerConfig,
  loadOrCreateDevKey,
  mintDevToken,
} from './identity/dev-token.js'
export type { Duration } from './identity/duration.js'
export type {
  ClaimMapping,
  IdentityConfig,
  IntrospectionConfig,
  IssuerConfig,
} from './identity/identity-config.js'
export {
  defaultAlgorithms,
  defaultMaxTokenLifetime,
  supportedAlgorithms,
} from './identity/identity-config.js'
export { assertIdentityConfig, identityConfigSchema } from './identity/identity-config-schema.js'
export type {
  IdentityEvents,
  IntrospectionOutcome,
  RevocationUnavailableAction,
} from './identity/identity-events.js'
export type {
  RevocableToken,
  Revocation,
  RevocationKind,
  RevocationListOptions,
} from './identity/revocation-list.js'
export { RevocationList } from './identity/revocation-list.js'
export type { Actor, Subject, TokenFacts } from './identity/subject.js'
export type { TokenPolicy } from './identity/token-policy.js'
export type { TokenVerifierOptions } from './identity/token-verifier.js'
export { TokenVerifier } from './identity/token-verifier.js'
export type { AnalysisDeclarations } from './normalize/argument-analysis/analysis-declarations.js'
export { analysisDeclarations } from './normalize/argument-analysis/analysis-declarations.js'
export type { ToolArgumentAnalysis } from './normalize/argument-analysis/analyze-arguments.js'
export { loadArgumentAnalyzers } from './normalize/argument-analysis/analyze-arguments.js'
export type {
  ArgumentAnalysis,
  FailedAnalysis,
  SqlAnalysis,
  SqlName,
  UrlAmbiguity,
  UrlAnalysis,
} from './normalize/argument-analysis/argument-analysis.js'
export type {
  ArgumentValidation,
  ArgumentValidationError,
} from './normalize/argument-validation/argument-validation.js'
export type { SchemaLimits } from './normalize/argument-validation/bounded-schema.js'
export type { ToolInputSchemas } from './normalize/argument-validation/tool-input-schemas.js'
export { toolInputSchemas } from './normalize/argument-validation/tool-input-schemas.js'
export type { HeaderBag } from './normalize/http-envelope.js'
export type { InputDocument, McpFacts, RequestContext } from './normalize/input-document.js'
export type { NormalizeConfig, NormalizeLimits, ServerRoute } from './normalize/normalize-config.js'
export { normalizeRequest } from './normalize/normalize-request.js'
export type { NormalizeOptions, RequestEnvelope, SubjectResolver } from './normalize/request-normalizer.js'
export { RequestNormalizer } from './normalize/request-normalizer.js'
export type { AuthzenEvaluation } from './pdp/authzen-mapping.js'
export { AuthzenMapper } from './pdp/authzen-mapping.js'
export type {
  BundleMeta,
  BundleSource,
  BundleSourceError,
  BundleSourceStatus,
  OnBundle,
} from './pdp/bundle-source.js'
export type { DecidedMessage, DecisionPort, ResponseJudgementRequest } from './pdp/decision-port.js'
export type { DecisionObserver, McpDecisionResponse, McpResponseJudgement } from './pdp/decision-service.js'
export { DecisionService } from './pdp/decision-service.js'
export type { FileBundleSourceOptions } from './pdp/file-bundle-source.js'
export { FileBundleSource } from './pdp/file-bundle-source.js'
export type { HttpBundleSourceOptions } from './pdp/http-bundle-source.js'
export { HttpBundleSource } from './pdp/http-bundle-source.js'
export type { JsonRpcDenial } from './pdp/jsonrpc-denial.js'
export { jsonRpcDenial, POLICY_DENIED_ERROR_CODE } from './pdp/jsonrpc-denial.js'
export { loadPdpConfig, pdpConfigSchema, resolvePdpConfig } from './pdp/load-pdp-config.js'
export type { RunPdpOptions } from './pdp/pdp-cluster.js'
export { runPdp } from './pdp/pdp-cluster.js'
export type {
  BundleSourceConfig,
  CallerAuthConfig,
  PdpConfig,
  PdpLimits,
  PdpLogConfig,
  TlsConfig,
} from './pdp/pdp-config.js'
export { defaultPdpConfig } from './pdp/pdp-config.js'
export type { RunningPdp, StartPdpOptions } from './pdp/pdp-server.js'
export { startPdp } from './pdp/pdp-server.js'
export type { PolicyCheck } from './policy-test/check-policy.js'
export { checkPolicy } from './policy-test/check-policy.js'
export type {
  CaseExpectation,
  CaseIdentity,
  DecisionCase,
  DecisionCaseFile,
} from './policy-test/decision-cases.js'
export type { TestReportFormat } from './policy-test/format-test-report.js'
export { formatTestReport } from './policy-test/format-test-report.js'
export type { PolicyTestReport, PolicyTestResult, TestOutcome } from './policy-test/policy-test-result.js'
export { reportExitCode } from './policy-test/policy-test-result.js'
export type { PolicyTestOptions } from './policy-test/run-policy-tests.js'
export { runPolicyTests } from './policy-test/run-policy-tests.js'
export type { BackchannelLogoutConfig } from './signals/backchannel-logout-config.js'
export { backchannelLogoutConfigSchema } from './signals/backchannel-logout-config.js'
export type {
  RevocationOutcome,
  RevocationSignal,
  SignalDelivery,
  SignalReceiver,
} from './signals/revocation-record.js'
export type { SsfConfig, SsfPollConfig, SsfTransmitterConfig } from './signals/ssf-config.js'
export { ssfConfigSchema } from './signals/ssf-config.js'
export { MemoryStateStore } from './state/memory-state-store.js'
export { openStateStore } from './state/open-state-store.js'
export type { RedisStateStoreOptions } from './state/redis-state-store.js'
export { RedisStateStore } from './state/redis-state-store.js'
export type { StateConfig } from './state/state-config.js'
export { stateConfigSchema } from './state/state-config.js'
export type {
  StateAvailabilityListener,
  StateBackend,
  StateChange,
  StateChangeListener,
  StateEntry,
  StateStore,
} from './state/state-store.js'
export type { ResolveOpaOptions } from './toolchain/opa.js'
export { resolveOpa } from './toolchain/opa.js'
export { OPA_VERSION } from './toolchain/opa-version.js'
