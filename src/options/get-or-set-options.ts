import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import { assertValidTags, isTagList } from '../shared/key.js'
import { type Duration, MAX_DURATION_MS, parseDuration } from '../shared/duration.js'
import { booleanOption, isRecord, rejectUnknownKeys } from '../shared/validate.js'

/** Loader deadlines of `getOrSet`. */
export interface LoaderTimeouts {
  /**
   * Past this, a caller that has a stale (graced) value gets it at once while the loader goes on
   * in the background and updates the cache. Without a stale value it has no effect.
   * @default none
   */
  soft?: Duration
  /**
   * Past this, the caller gets the stale value if there is one, else `E_FACTORY_TIMEOUT`. The
   * loader still finishes in the background and its result is cached.
   * @default none
   */
  hard?: Duration
}

/** Cross-instance single-flight through a Redis lock (GenericRedisCache only). */
export interface LockOptions {
  /** Lock lifetime; renewed every third of it while the loader runs. @default '2s' */
  lease?: Duration
  /** Longest wait for another instance's loader before `E_LOCK_TIMEOUT`. @default '10s' */
  wait?: Duration
}

/** How `getOrSet` treats expiry, slow loaders and failures. Settable on the cache and per call. */
export interface GetOrSetPolicy {
  /**
   * Keep entries this long past their ttl and serve them when the loader fails or times out
   * (stale-if-error). `get()` never returns a stale value.
   * @default 0 (no grace)
   */
  grace?: Duration
  /** Loader soft and hard timeouts. */
  timeout?: LoaderTimeouts
  /**
   * Fraction of the ttl (between 0 and 1, exclusive) after which a hit starts one background
   * refresh, so hot keys never expire under load.
   * @default none
   */
  eagerRefresh?: number
  /**
   * Spread of ttls: each write lives ttl × (1 − random × ttlJitter), so keys written together do
   * not expire together. Between 0 and 1.
   * @default 0
   */
  ttlJitter?: number
  /** Cross-instance single-flight; `true` uses the default lease and wait. @default false */
  lock?: boolean | LockOptions
}

/** A policy after validation, in ms. */
export interface ResolvedGetOrSetPolicy {
  readonly ttlMs: number
  readonly graceMs: number
  readonly softTimeoutMs: number | undefined
  readonly hardTimeoutMs: number | undefined
  readonly eagerRefresh: number | undefined
  readonly ttlJitter: number
  readonly lock: { readonly leaseMs: number; readonly waitMs: number } | false
  readonly forceFresh: boolean
  readonly tags: readonly string[]
}

export const POLICY_KEYS = ['grace', 'timeout', 'eagerRefresh', 'ttlJitter', 'lock'] as const
const CALL_KEYS = [...POLICY_KEYS, 'ttl', 'tags', 'forceFresh'] as const
const LOCK_DEFAULTS = { lease: '2s', wait: '10s' } as const

/** Validates the policy fields present in `raw`, each falling back to `base`. */
export function resolvePolicy(
  raw: GetOrSetPolicy & { ttl?: Duration; tags?: readonly string[]; forceFresh?: boolean },
  base: ResolvedGetOrSetPolicy,
  issues: OptionIssue[],
): ResolvedGetOrSetPolicy {
  const timeout: unknown = raw.timeout
  if (timeout !== undefined && !isRecord(timeout)) issues.push({ path: 'timeout', message: 'expected { soft?, hard? }' })
  const timeouts = isRecord(timeout) ? timeout : {}
  rejectUnknownKeys(timeouts, ['soft', 'hard'], 'timeout.', issues)
  return {
    ttlMs: raw.ttl === undefined ? base.ttlMs : (parseDuration(raw.ttl, 'ttl', issues) ?? 0),
    graceMs: raw.grace === undefined ? base.graceMs : (parseDuration(raw.grace, 'grace', issues) ?? 0),
    softTimeoutMs: timeouts.soft === undefined ? base.softTimeoutMs : parseDuration(timeouts.soft, 'timeout.soft', issues),
    hardTimeoutMs: timeouts.hard === undefined ? base.hardTimeoutMs : parseDuration(timeouts.hard, 'timeout.hard', issues),
    eagerRefresh: raw.eagerRefresh === undefined ? base.eagerRefresh : fraction(raw.eagerRefresh, 'eagerRefresh', issues, true),
    ttlJitter: raw.ttlJitter === undefined ? base.ttlJitter : (fraction(raw.ttlJitter, 'ttlJitter', issues, false) ?? 0),
    lock: raw.lock === undefined ? base.lock : resolveLock(raw.lock, issues),
    forceFresh: raw.forceFresh === undefined ? false : (booleanOption(raw.forceFresh, 'forceFresh', issues) ?? false),
    tags: raw.tags === undefined ? base.tags : tagsOption(raw.tags, issues),
  }
}

/** Which call the options belong to: `set`/`setMany` take `ttl` and `tags` only. */
export type CallKind = 'set' | 'getOrSet'

const SET_KEYS = ['ttl', 'tags'] as const

/** Parsed duration strings: per-call `ttl: '1m'` is parsed once per process, not once per call. */
const DURATION_MEMO = new Map<string, number>()
const DURATION_MEMO_LIMIT = 256

/**
 * The one resolver of per-call options, shared by `set`, `setMany` and `getOrSet`: the cache's
 * resolved defaults when the call gives nothing, else those defaults with the call's fields
 * merged in. Unknown fields (a typo such as `tll`) are rejected with every problem listed.
 *
 * Fast path: options holding only `ttl` and/or `tags` (the common shapes) are merged without the
 * issue list, with duration strings parsed from a memo. It trades one object allocation per call
 * for not re-validating the whole policy; anything else takes the full path.
 */
export function resolveCallOptions(raw: unknown, defaults: ResolvedGetOrSetPolicy, kind: CallKind): ResolvedGetOrSetPolicy {
  if (raw === undefined) return defaults
  const fast = mergeSimple(raw, defaults)
  if (fast !== undefined) return fast
  const issues: OptionIssue[] = []
  if (!isRecord(raw)) throw new InvalidOptionsError([{ path: '(options)', message: 'expected an object' }])
  rejectUnknownKeys(raw, kind === 'set' ? SET_KEYS : CALL_KEYS, '', issues)
  const policy = resolvePolicy(raw, defaults, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return policy
}

/**
 * Whether per-call options hold only a valid `ttl` and/or `tags`: such a call cannot change how
 * L1 is read (no `forceFresh`, no `eagerRefresh`), so its L1 hit needs no merged policy at all.
 * Allocates nothing.
 */
export function isPlainWriteOptions(raw: unknown): boolean {
  if (raw === undefined || raw === lastPlain) return true
  if (typeof raw !== 'object' || raw === null) return false
  for (const name in raw) {
    const value = (raw as Record<string, unknown>)[name]
    if (name === 'ttl') {
      if (quickDuration(value) === undefined) return false
    } else if (name !== 'tags' || !isTagList(value)) return false
  }
  lastPlain = raw
  return true
}

/**
 * The options object last found plain. Options hoisted into a constant are checked once, not on
 * every hit. The trade-off: such an object mutated afterwards into something invalid is caught
 * only when a call goes past L1 (where options are always resolved in full).
 */
let lastPlain: object | undefined

/** `ttl`/`tags`-only options merged into `defaults`; `undefined` when the full path is needed. */
function mergeSimple(raw: unknown, defaults: ResolvedGetOrSetPolicy): ResolvedGetOrSetPolicy | undefined {
  if (raw === undefined || !isPlainWriteOptions(raw)) return undefined
  const { ttl, tags = defaults.tags } = raw as { ttl?: unknown; tags?: readonly string[] }
  // Both were checked by isPlainWriteOptions (the duration is memoized by then).
  const ttlMs = ttl === undefined ? defaults.ttlMs : (quickDuration(ttl) as number)
  if (ttlMs === defaults.ttlMs && tags === defaults.tags) return defaults
  return { ...defaults, ttlMs, tags }
}

function quickDuration(value: unknown): number | undefined {
  // Anything else (out of range included) takes the full path, which names the problem.
  if (typeof value === 'number') return value >= 0 && value <= MAX_DURATION_MS ? value : undefined
  if (typeof value !== 'string') return undefined
  const known = DURATION_MEMO.get(value)
  if (known !== undefined) return known
  const ms = parseDuration(value, 'ttl', [])
  if (ms !== undefined && DURATION_MEMO.size < DURATION_MEMO_LIMIT) DURATION_MEMO.set(value, ms)
  return ms
}

/** Policy defaults before a cache's own settings. */
export function basePolicy(ttlMs: number): ResolvedGetOrSetPolicy {
  return {
    ttlMs,
    graceMs: 0,
    softTimeoutMs: undefined,
    hardTimeoutMs: undefined,
    eagerRefresh: undefined,
    ttlJitter: 0,
    lock: false,
    forceFresh: false,
    tags: [],
  }
}

function resolveLock(raw: unknown, issues: OptionIssue[]): ResolvedGetOrSetPolicy['lock'] {
  if (raw === false) return false
  if (raw !== true && !isRecord(raw)) {
    issues.push({ path: 'lock', message: 'expected true, false or { lease?, wait? }' })
    return false
  }
  const options = raw === true ? {} : raw
  rejectUnknownKeys(options, ['lease', 'wait'], 'lock.', issues)
  const leaseMs = parseDuration(options.lease ?? LOCK_DEFAULTS.lease, 'lock.lease', issues) ?? 1
  const waitMs = parseDuration(options.wait ?? LOCK_DEFAULTS.wait, 'lock.wait', issues) ?? 1
  if (leaseMs < 10) issues.push({ path: 'lock.lease', message: 'must be at least 10ms' })
  return { leaseMs, waitMs }
}

function fraction(input: unknown, path: string, issues: OptionIssue[], exclusive: boolean): number | undefined {
  const ok = typeof input === 'number' && (exclusive ? input > 0 && input < 1 : input >= 0 && input <= 1)
  if (ok) return input
  issues.push({ path, message: `expected a number ${exclusive ? 'between 0 and 1 (exclusive)' : 'from 0 to 1'}` })
  return undefined
}

function tagsOption(input: unknown, issues: OptionIssue[]): readonly string[] {
  try {
    assertValidTags(input)
    return input
  } catch (error) {
    issues.push(...(error as InvalidOptionsError).issues)
    return []
  }
}
