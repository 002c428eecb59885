/** The `.manifest` of an OPA bundle, as far as this engine reads it. */
export interface BundleManifest {
  revision?: string
  roots?: string[]
  wasm?: { entrypoint: string; module: string }[]
  metadata?: Record<string, unknown>
  [key: string]: unknown
}

/**
 * A loaded, verified bundle: everything the engine needs to evaluate, and what the decision log
 * names it by (`bundles{name:{revision, digest}}`).
 */
export interface Bundle {
  /** Bundle name: the manifest's `metadata.name`, else `default`. */
  readonly name: string
  /** The manifest's revision ('' when unset). */
  readonly revision: string
  /** `sha256:<hex>` of the archive bytes: the key of the bundle store. */
  readonly digest: string
  readonly manifest: BundleManifest
  /** The compiled policy module. */
  readonly wasm: Uint8Array
  /** The merged data document. */
  readonly data: unknown
  /** Whether `.signatures.json` was verified on load. */
  readonly signed: boolean
}
