/**
 * The two ends of `strata migrate` and `strata validate`: the source (a strata namespace, or
 * keyv, cache-manager or bentocache data in Redis, from `--from`, `--source-url`,
 * `--source-namespace`, `--source-prefix`) and the target strata namespace (`--url`,
 * `--namespace`). Everything is checked before any connection is opened.
 */
import { Presets, SingleBar } from 'cli-progress'

import { bentocacheSource, cacheManagerSource, GenericRedisCache, InvalidOptionsError, keyvSource, type MigrationSource, type OptionIssue, strataSource } from '../index.js'
import { type CliIo, processIo } from './io.js'
import { resolveTarget, type Target, type TargetFlags } from './target.js'

/** The formats `--from` accepts. */
export const SOURCE_FORMATS = ['strata', 'keyv', 'cache-manager', 'bentocache'] as const

/** One of {@link SOURCE_FORMATS}. */
export type SourceFormat = (typeof SOURCE_FORMATS)[number]

/** Flags naming the source, as commander parses them. */
export interface SourceFlags extends TargetFlags {
  /** `--from`: the format of the source data. @default 'strata' */
  from?: string | undefined
  /** `--source-url`: where the source data is. @default the target's URL */
  sourceUrl?: string | undefined
  /** `--source-namespace`: strata namespace, keyv namespace, cache-manager keyPrefix or bentocache namespace. */
  sourceNamespace?: string | undefined
  /** `--source-prefix`: the raw Redis key prefix (keyv, cache-manager, bentocache), instead of the derived one. */
  sourcePrefix?: string | undefined
}

/** Both ends, checked; nothing connected yet. */
export interface Endpoints {
  readonly source: MigrationSource
  readonly sourceCache: GenericRedisCache | undefined
  readonly target: GenericRedisCache
  readonly targetInfo: Target
  /** What is read, for messages (no password). */
  readonly sourceLabel: string
}

/**
 * Builds both ends from the flags. Opens nothing: the caches connect on first use and the
 * importers when first read.
 * @throws InvalidOptionsError (`E_INVALID_OPTIONS`) naming every bad flag.
 */
export function resolveEndpoints(flags: SourceFlags, env: Readonly<Record<string, string | undefined>>): Endpoints {
  const from = (flags.from ?? 'strata') as SourceFormat
  if (!SOURCE_FORMATS.includes(from)) throw new InvalidOptionsError([{ path: '--from', message: `expected one of ${SOURCE_FORMATS.join(', ')}; got "${flags.from}"` }])
  if (from === 'strata' && flags.sourcePrefix !== undefined) throw new InvalidOptionsError([{ path: '--source-prefix', message: 'applies to --from keyv, cache-manager or bentocache; a strata source is named by --source-namespace' }])
  const targetInfo = resolveTarget(flags, env)
  const sourceUrl = flags.sourceUrl ?? targetInfo.url
  const sourceInfo = sourceTarget(from, flags, sourceUrl, targetInfo)
  const target = cacheFor(targetInfo)
  const timeoutMs = targetInfo.timeoutMs
  if (from === 'strata') {
    const sourceCache = cacheFor(sourceInfo)
    return { source: strataSource(sourceCache), sourceCache, target, targetInfo, sourceLabel: `strata namespace ${sourceInfo.namespace} at ${sourceInfo.displayUrl}` }
  }
  const common = { url: sourceUrl, timeoutMs, ...(flags.sourcePrefix !== undefined && { prefix: flags.sourcePrefix }) }
  const namespace = flags.sourceNamespace
  const source =
    from === 'keyv'
      ? keyvSource({ ...common, ...(namespace !== undefined && { namespace }) })
      : from === 'cache-manager'
        ? cacheManagerSource({ ...common, ...(namespace !== undefined && { keyPrefix: namespace }) })
        : bentocacheSource({ ...common, ...(namespace !== undefined && { namespace }) })
  return { source, sourceCache: undefined, target, targetInfo, sourceLabel: `${from} data at ${sourceInfo.displayUrl}` }
}

/** The source's URL checked as the target's is; a strata source also needs another namespace or server. */
function sourceTarget(from: SourceFormat, flags: SourceFlags, sourceUrl: string, targetInfo: Target): Target {
  const issues: OptionIssue[] = []
  let info: Target | undefined
  try {
    // The namespace rules are strata's: other formats' namespaces are checked by their importer.
    info = resolveTarget({ url: sourceUrl, namespace: from === 'strata' ? (flags.sourceNamespace ?? '') : 'strata', timeout: flags.timeout }, {})
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    for (const issue of error.issues) issues.push({ path: issue.path === '--url' ? '--source-url' : issue.path === '--namespace' ? '--source-namespace' : issue.path, message: issue.message })
  }
  if (from === 'strata' && flags.sourceNamespace === undefined) issues.push({ path: '--source-namespace', message: 'name the strata namespace to read' })
  if (info !== undefined && from === 'strata' && info.url === targetInfo.url && info.namespace === targetInfo.namespace) issues.push({ path: '--source-namespace', message: 'the source and the target are the same namespace on the same server' })
  if (issues.length > 0 || info === undefined) throw new InvalidOptionsError(issues)
  return info
}

/** A cache that reads and writes Redis only, and reports Redis failures instead of hiding them. */
function cacheFor(target: Target): GenericRedisCache {
  return new GenericRedisCache({ redisUrl: target.url, namespace: target.namespace, connectTimeout: target.timeoutMs, l2Timeout: target.timeoutMs, l1: false, coherence: false, suppressL2Errors: false })
}

/** Closes whatever the ends opened. */
export async function closeEndpoints(ends: Endpoints): Promise<void> {
  await Promise.allSettled([ends.source.close(), ends.sourceCache?.disconnect(), ends.target.disconnect()])
}

/**
 * A progress line on stderr (cli-progress), only when stderr is the process's own terminal and
 * the output is not JSON. The total is unknown (SCAN), so it shows counts, not a percentage.
 */
export function progressBar(io: CliIo, json: boolean, format: string): { update(values: Record<string, number>): void; stop(): void } {
  if (json || io !== processIo || process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined }
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, noTTYOutput: false }, Presets.shades_classic)
  bar.start(0, 0)
  return { update: (values) => bar.update(values['scanned'] ?? 0, values), stop: () => bar.stop() }
}
