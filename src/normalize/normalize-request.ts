import type { InputDocument } from './input-document.js'
import type { NormalizeConfig } from './normalize-config.js'
import { type RequestEnvelope, RequestNormalizer, type SubjectResolver } from './request-normalizer.js'

const normalizers = new WeakMap<
  NormalizeConfig,
  WeakMap<SubjectResolver | typeof noIdentity, RequestNormalizer>
>()
const noIdentity = {}

/**
 * One-call form of {@link RequestNormalizer}: normalizes a message with a configuration object,
 * reusing one compiled normalizer per (configuration, verifier) pair. Long-running services should
 * hold a `RequestNormalizer` themselves.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_*`.
 * @example
 * ```ts
 * const input = await normalizeRequest({ message: body, headers }, { defaultServer: 'github', servers: { github: { resource } } }, verifier)
 * ```
 */
export function normalizeRequest(
  envelope: RequestEnvelope,
  config: NormalizeConfig,
  identity?: SubjectResolver,
): Promise<InputDocument> {
  let byIdentity = normalizers.get(config)
  if (!byIdentity) {
    byIdentity = new WeakMap()
    normalizers.set(config, byIdentity)
  }
  const key = identity ?? noIdentity
  let normalizer = byIdentity.get(key)
  if (!normalizer) {
    normalizer = new RequestNormalizer(config, identity)
    byIdentity.set(key, normalizer)
  }
  return normalizer.normalize(envelope)
}
