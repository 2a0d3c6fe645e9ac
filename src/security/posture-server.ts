/**
 * Posture checks of the server's settings for a cache: memory limit and eviction, persistence,
 * version and the features the cache uses, and the clock.
 */
import { type PostureCheck, type PostureProbe, ProbeRefusal, ask, check, configValue, parseInfo, skipped } from './posture-check.js'

/** Clock skew above this is a warning, in ms. */
export const SKEW_WARN_MS = 500
/** Clock skew above this is a failure, in ms. */
export const SKEW_FAIL_MS = 3000

/** `INFO` (every default section) as fields, or why it was refused. */
export async function readInfo(probe: PostureProbe): Promise<Map<string, string> | ProbeRefusal> {
  try {
    return parseInfo(await ask(probe, ['INFO']))
  } catch (error) {
    if (error instanceof ProbeRefusal) return error
    throw error
  }
}

/** `maxmemory` and `eviction-policy`, from `INFO memory`. */
export function checkMemory(info: Map<string, string> | ProbeRefusal): PostureCheck[] {
  if (info instanceof ProbeRefusal) return [skipped('maxmemory', info, 'maxmemory (INFO)'), skipped('eviction-policy', info, 'the eviction policy (INFO)')]
  return [maxmemoryCheck(Number(info.get('maxmemory') ?? 'NaN')), evictionPolicyCheck(info.get('maxmemory_policy') ?? '')]
}

/** `maxmemory`: a limit is set (`0` lets a cache grow until the kernel kills Redis). */
export function maxmemoryCheck(bytes: number): PostureCheck {
  if (Number.isNaN(bytes)) return check('maxmemory', 'skip', 'INFO did not report maxmemory')
  if (bytes > 0) return check('maxmemory', 'pass', `maxmemory is ${bytes} bytes (${(bytes / 1_048_576).toFixed(1)} MiB)`)
  const fix = 'CONFIG SET maxmemory <bytes> (e.g. 75% of the memory Redis may use), and the same in redis.conf'
  return check('maxmemory', 'fail', 'maxmemory is 0 (no limit): the cache grows until the machine runs out of memory and the kernel kills Redis', fix)
}

/** `eviction-policy`: `allkeys-lru`/`allkeys-lfu` pass, `volatile-*` and `allkeys-random` warn, `noeviction` fails. */
export function evictionPolicyCheck(policy: string): PostureCheck {
  const fix = 'CONFIG SET maxmemory-policy allkeys-lru (or allkeys-lfu), and the same in redis.conf'
  if (policy === 'allkeys-lru' || policy === 'allkeys-lfu') return check('eviction-policy', 'pass', `maxmemory-policy is ${policy}`)
  if (policy === 'noeviction') return check('eviction-policy', 'fail', 'maxmemory-policy is noeviction: once memory is full every cache write fails (OOM errors) instead of evicting old entries', fix)
  if (policy.startsWith('volatile-')) {
    return check('eviction-policy', 'warn', `maxmemory-policy is ${policy}: only keys with a TTL are evicted, so entries without one (and the cache's tag and epoch keys) fill memory until writes fail`, fix)
  }
  if (policy === 'allkeys-random') return check('eviction-policy', 'warn', 'maxmemory-policy is allkeys-random: hot entries are evicted as readily as cold ones', fix)
  return check('eviction-policy', 'skip', policy === '' ? 'INFO did not report maxmemory_policy' : `unknown maxmemory-policy "${policy}"`)
}

/**
 * `persistence`: RDB snapshots or AOF on a pure cache. Never a failure: persistence buys a warm
 * cache after a restart, at the cost of fork pauses and disk writes.
 */
export async function checkPersistence(probe: PostureProbe, info: Map<string, string> | ProbeRefusal): Promise<PostureCheck> {
  let save: string | undefined
  try {
    save = await configValue(probe, 'save')
  } catch (error) {
    if (!(error instanceof ProbeRefusal)) throw error
  }
  const aof = info instanceof ProbeRefusal ? undefined : info.get('aof_enabled') === '1'
  return persistenceCheck(save, aof)
}

/** `persistence` from the `save` setting and whether AOF is on (`undefined`: could not be read). */
export function persistenceCheck(save: string | undefined, aof: boolean | undefined): PostureCheck {
  const on = [...(save !== undefined && save.trim() !== '' ? [`RDB snapshots (save "${save}")`] : []), ...(aof === true ? ['AOF (appendonly yes)'] : [])]
  const tradeOff = 'a pure cache can be rebuilt from its sources: persistence buys a warm cache after a restart, at the cost of fork pauses and disk writes'
  const fix = 'if a cold cache after a restart is acceptable: CONFIG SET save "" and CONFIG SET appendonly no (and in redis.conf)'
  if (on.length > 0) return check('persistence', 'warn', `${on.join(' and ')} on: ${tradeOff}`, fix)
  if (save === undefined || aof === undefined) return check('persistence', 'skip', `could not read ${save === undefined ? 'the RDB schedule (CONFIG GET save)' : 'whether AOF is on (INFO)'}`)
  return check('persistence', 'pass', 'no RDB snapshots and no AOF: a pure cache')
}

/** Features of the cache and the Redis version each needs. */
const FEATURES: ReadonlyArray<{ readonly name: string; readonly major: number }> = [
  { name: 'client tracking (L1 coherence across instances)', major: 6 },
  { name: 'ACL users', major: 6 },
  { name: "the allow-cross-slot-keys script flag (cluster scripts)", major: 7 },
  { name: 'ACL DRYRUN (permission checks)', major: 7 },
]

/** `server-version`: 7.0+ passes; 6.x warns (features missing); older fails (no client tracking). */
export function checkServerVersion(info: Map<string, string> | ProbeRefusal): PostureCheck {
  if (info instanceof ProbeRefusal) return skipped('server-version', info, 'the server version (INFO)')
  const version = info.get('redis_version')
  if (version === undefined) return check('server-version', 'skip', 'INFO did not report redis_version')
  const major = Number(version.split('.')[0])
  const missing = FEATURES.filter((feature) => major < feature.major).map((feature) => `${feature.name} needs ${feature.major}.0+`)
  if (missing.length === 0) return check('server-version', 'pass', `Redis ${version}: has every feature the cache uses (${FEATURES.map((feature) => feature.name).join(', ')})`)
  const fix = 'upgrade to Redis 7.0 or later'
  return check('server-version', major < 6 ? 'fail' : 'warn', `Redis ${version}: ${missing.join('; ')}`, fix)
}

/**
 * `clock-skew`: this host's clock against Redis `TIME`, half the round trip allowed for. Entries
 * carry logical expiry and grace times written with the writer's clock, and the coherence
 * staleness bound is measured in time too: a skewed clock serves entries past their TTL, or
 * drops them early.
 */
export async function checkClockSkew(probe: PostureProbe): Promise<PostureCheck> {
  const now = probe.now ?? Date.now
  const sentAt = now()
  let reply
  try {
    reply = await ask(probe, ['TIME'])
  } catch (error) {
    return skipped('clock-skew', error, 'the clock (TIME)')
  }
  const receivedAt = now()
  const [seconds, micros] = Array.isArray(reply) ? reply.map(Number) : []
  if (seconds === undefined || micros === undefined) return check('clock-skew', 'skip', 'TIME gave no time')
  return clockSkewCheck(seconds * 1000 + micros / 1000 - (sentAt + receivedAt) / 2, receivedAt - sentAt)
}

/** `clock-skew` for a measured skew (Redis minus this host, ms) and round trip (ms). */
export function clockSkewCheck(skewMs: number, roundTripMs: number): PostureCheck {
  const skew = Math.round(Math.abs(skewMs))
  const side = skewMs > 0 ? 'ahead of' : 'behind'
  const text = `Redis' clock is ${skew} ms ${side} this host's (round trip ${Math.round(roundTripMs)} ms)`
  const why = 'entries carry expiry and grace times from the writer\'s clock, so skew serves them past their TTL or drops them early, and loosens the staleness bound'
  const fix = 'synchronise both clocks with NTP (chrony, systemd-timesyncd)'
  if (skew > SKEW_FAIL_MS) return check('clock-skew', 'fail', `${text}: ${why}`, fix)
  if (skew > SKEW_WARN_MS) return check('clock-skew', 'warn', `${text}: ${why}`, fix)
  return check('clock-skew', 'pass', text)
}
