import { ErrorReply } from '@redis/client'

import { AesGcmCipher } from '../codecs/aes-gcm-cipher.js'
import { CodecPipeline } from '../codecs/pipeline.js'
import { CacheError, CodecDecodeError, L2UnavailableError } from '../errors.js'
import type { CacheMonitor, ErrorReason } from '../monitoring/monitor-sink.js'
import type { ResolvedRedisCacheOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { escapeGlob } from '../shared/key.js'
import type { RemoteStore, StoreEntry } from '../stores/store.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { DeadlineExceeded, withDeadline } from '../shared/deadline.js'
import { aclRefusalFix } from '../security/required-permissions.js'
import { connectionFix } from '../security/connection-fix.js'
import type { Recorder } from './recorder.js'
import { type RekeyOptions, type RekeyResult, rekeyNamespace } from './rekey.js'
import type { ExportSource } from './entry-export.js'
import type { ImportTarget, RawWrite } from './entry-import.js'

/** Why an L2 call produced no answer. */
export type RemoteFailure =
  | { readonly kind: 'skipped'; readonly error: L2UnavailableError }
  /** `reply`: Redis answered with an error (a refused command): not an outage, never counted by the breaker. */
  | { readonly kind: 'error'; readonly error: L2UnavailableError; readonly reason: 'deadline' | 'connection' | 'reply' }

/** How an L2 failure is counted and reported (`cache:error`, error metrics). */
export function failureReason(failure: RemoteFailure): ErrorReason {
  if (failure.kind === 'skipped') return 'skipped'
  return failure.reason === 'reply' ? 'other' : failure.reason
}

/** An L2 call's outcome: its answer, or why there is none. */
export type RemoteOutcome<T> = { readonly kind: 'ok'; readonly value: T } | RemoteFailure

/** One key read from L2. Freshness (`hit` or `stale`) is decided by the engine, which has the clock. */
export type RemoteRead =
  | { readonly kind: 'found'; readonly entry: CacheEntry }
  | { readonly kind: 'miss' }
  | { readonly kind: 'corrupt'; readonly error: CacheError }
  | RemoteFailure

/** One entry to write, and the tag epoch its write is conditional on (loads only). */
export interface RemoteWrite {
  readonly key: string
  readonly entry: CacheEntry
  readonly sinceEpoch?: number | undefined
}

/** What the tier needs from the cache that owns it. */
export interface RemoteTierParams {
  readonly store: RemoteStore
  readonly options: ResolvedRedisCacheOptions
  /** Only for codec timings and the breaker's transitions; outcomes are counted by the engine. */
  readonly recorder: Pick<Recorder, 'circuit' | 'connection' | 'failure'> & {
    readonly instr: { readonly name: string; readonly monitor: CacheMonitor | undefined }
  }
  /** Told when the connection becomes ready, after the breaker has closed. */
  readonly onReady: () => void
  /** Told once, when the tier first starts connecting (first use or `connect()`). */
  readonly onStart?: () => void
}

/** Operations bounded by the read deadline; every other one by the write deadline. */
const READ_OPERATIONS = new Set(['get', 'getMany', 'scan', 'lockTtl', 'info', 'tagEpoch'])

/** A long operation's whole bound, in deadlines (each of its round trips gets one). */
const LONG_DEADLINES = 40

/** Bounds one round trip of a long operation by one deadline. */
type Step = <T>(promise: Promise<T>) => Promise<T>

const passThrough: Step = (promise) => promise

/** Keys remembered as suspect (a read ran past its deadline, or held a foreign type). */
const MAX_SUSPECTS = 1024

/** What the envelope adds around a payload at most (header, key id, trailer), with room to spare. */
const ENVELOPE_SLACK_BYTES = 64

/**
 * How long a delete's mark lasts in Redis (see `DELETE_MARKED`), and so the longest a load may
 * run and still be cached: a load that began before a delete on any instance is refused by the
 * mark while it lasts, and by the engine once the load has outlived it.
 */
export const DELETE_MARK_LIFETIME_MS = 60_000

/** Entries of one `setMany` batch covered by one write deadline. */
const WRITES_PER_DEADLINE = 1000

const OK_VOID: RemoteOutcome<void> = Object.freeze({ kind: 'ok', value: undefined })

/** The namespace's tag-state hash (tag epochs, the clear epoch): see the key layout below. */
export function tagStateKey(namespace: string): string {
  return `${namespace}#tags`
}

/**
 * The L2 tier: namespacing, the codec pipeline, a deadline on every call, the circuit breaker
 * and the connection (opened on first use). It returns outcomes and does no bookkeeping: the
 * engine counts, reports and decides what a failure means.
 *
 * Key layout: `<ns>:<key>` for entries, `<ns>#tag:<tag>` for tag indexes, `<ns>#tags` for the
 * tag-state hash, `<ns>#gone:<key>` for delete marks, `<ns>#lock:<key>` for locks. A namespace may contain neither `:` nor `#`, so
 * no namespace can see another's keys.
 */
export class RemoteTier {
  readonly #store: RemoteStore
  readonly #options: ResolvedRedisCacheOptions
  readonly #codec: CodecPipeline
  /** Keys whose re-encryption on read is under way (`encryption.rekeyOnRead`), so it runs once. */
  readonly #rekeying: Set<string> | undefined
  readonly #breaker: CircuitBreaker
  /** On a store with shards (a cluster): one breaker per shard, for calls on one key. */
  readonly #shardBreakers = new Map<string, CircuitBreaker>()
  readonly #newBreaker: () => CircuitBreaker
  readonly #prefix: string
  readonly #scanPrefix: string
  readonly #stateKey: string
  readonly #skippedOutcomes = new Map<string, RemoteFailure>()
  /**
   * Keys to read with `GET_BOUNDED` (length and type checked in Redis) instead of `GET`: a read
   * of theirs ran past its deadline (possibly a huge value) or met another type. Bounded.
   */
  readonly #suspects = new Set<string>()
  #started = false
  /** Until the first connection attempt settles, calls wait for it (each up to its deadline). */
  #firstAttempt = true
  /** Set by an intentional disconnect, whose lost connection is not an outage. */
  #closing = false

  readonly #onStart: (() => void) | undefined

  constructor({ store, options, recorder, onReady, onStart }: RemoteTierParams) {
    this.#store = store
    this.#onStart = onStart
    this.#options = options
    const { name, monitor } = recorder.instr
    this.#prefix = `${options.namespace}:`
    this.#scanPrefix = `${escapeGlob(options.namespace)}:`
    this.#stateKey = tagStateKey(options.namespace)
    this.#codec = new CodecPipeline({
      serializer: options.serializer,
      compression: options.compression,
      maxValueBytes: options.maxValueBytes,
      ...(options.encryption && { cipher: new AesGcmCipher(options.encryption.keyRing) }),
      ...(monitor?.compression && {
        onCompress: (before: number, after: number, ms: number) => monitor.compression?.(name, before, after, ms),
      }),
    })
    this.#rekeying = options.encryption && options.encryption.rekeyOnRead ? new Set() : undefined
    this.#newBreaker = () => new CircuitBreaker(options.breaker, options.clock, (from, to) => recorder.circuit(from, to))
    this.#breaker = this.#newBreaker()
    store.onReadyChange((ready) => {
      // A fresh connection is better evidence than the breaker's timer: use Redis again at once.
      // A lost one opens the breaker, so the degraded state shows in stats and events.
      for (const breaker of this.#breakers()) {
        if (ready) breaker.recordSuccess()
        else if (!this.#closing) breaker.trip()
      }
      recorder.connection(ready)
      if (ready) onReady()
    })
    // Why connecting fails (a refused password or certificate, a full server) reaches
    // `cache:error` once per distinct reason, and `getStats().l2.lastError`.
    store.onError((error) => {
      if (this.#closing) return
      const cause = Object.assign(new Error(`${error.code}: ${error.message}`), { code: error.code })
      recorder.failure(new L2UnavailableError('connect', cause, connectionFix(error)), 'connection', 'connect')
    })
    // A health PING answered after failures (a server back from a stall) closes the breaker at
    // once, instead of after openDuration and a probe of its own.
    store.onHealthy(() => {
      for (const breaker of this.#breakers()) if (breaker.state !== 'closed') breaker.recordSuccess()
    })
  }

  /** The breaker of every shard, and the one of calls that span shards (or of a store without). */
  *#breakers(): Iterable<CircuitBreaker> {
    yield this.#breaker
    yield* this.#shardBreakers.values()
  }

  /**
   * The breaker guarding a call on `fullKey`: its shard's on a cluster, so a failed master
   * stops calls to its own slots only and the other shards keep serving.
   */
  #breakerFor(fullKey: string | undefined): CircuitBreaker {
    const shard = fullKey === undefined ? undefined : this.#store.shardOf?.(fullKey)
    if (shard === undefined) return this.#breaker
    let breaker = this.#shardBreakers.get(shard)
    if (breaker === undefined) this.#shardBreakers.set(shard, (breaker = this.#newBreaker()))
    return breaker
  }

  get store(): RemoteStore {
    return this.#store
  }

  get breaker(): CircuitBreaker {
    return this.#breaker
  }

  /** Starts connecting (once) and waits up to `timeoutMs` for the connection to be ready. */
  connect(timeoutMs: number): Promise<boolean> {
    if (!this.#started) {
      this.#started = true
      this.#onStart?.()
      void this.#store.connect(this.#options.connectTimeoutMs).then(() => (this.#firstAttempt = false))
    }
    return this.#store.connect(timeoutMs)
  }

  /** Closes the connection on purpose: no breaker trip, no outage reported. */
  async close(): Promise<void> {
    this.#closing = true
    await this.#store.disconnect()
  }

  /** Reads and decodes one entry; a corrupt one is deleted (compare-and-delete) and reported. */
  async read(key: string): Promise<RemoteRead> {
    const fullKey = this.#prefix + key
    if (this.#suspects.size > 0 && this.#suspects.has(fullKey)) return this.#boundedRead(key, fullKey)
    const outcome = await this.#call('get', () => this.#store.get(fullKey), 1, fullKey)
    if (outcome.kind === 'error') {
      if (outcome.reason === 'deadline') this.#suspect(fullKey)
      else if (outcome.reason === 'reply' && isWrongType(outcome.error)) return this.#boundedRead(key, fullKey)
    }
    if (outcome.kind !== 'ok') return outcome
    return outcome.value === undefined ? MISS : this.#decode(key, outcome.value)
  }

  /**
   * Reads a suspect key without transferring what would be refused: a value over the size bound
   * or of another type is unlinked in Redis and reported as corrupt (a miss).
   */
  async #boundedRead(key: string, fullKey: string): Promise<RemoteRead> {
    const outcome = await this.#call('get', () => this.#store.getBounded(fullKey, this.#maxStoredBytes), 1, fullKey)
    if (outcome.kind !== 'ok') return outcome
    const value = outcome.value
    if (value === undefined) return MISS
    if (value instanceof Uint8Array) {
      this.#suspects.delete(fullKey)
      return this.#decode(key, value)
    }
    this.#suspects.delete(fullKey)
    const why = value.refused === 'type' ? 'the key held another Redis type' : `${value.refused} bytes, over the size bound (${this.#maxStoredBytes})`
    return { kind: 'corrupt', error: new CodecDecodeError(`${why}; deleted`) }
  }

  #suspect(fullKey: string): void {
    if (this.#suspects.size >= MAX_SUSPECTS) this.#suspects.delete(this.#suspects.values().next().value as string)
    this.#suspects.add(fullKey)
  }

  /** The largest stored entry accepted: `maxValueBytes` plus the envelope. */
  get #maxStoredBytes(): number {
    return this.#options.maxValueBytes + ENVELOPE_SLACK_BYTES
  }

  /** Reads many entries in one MGET; results align with `keys`. */
  async readMany(keys: readonly string[]): Promise<RemoteRead[]> {
    if (keys.length === 0) return []
    const fullKeys = keys.map((key) => this.#prefix + key)
    const outcome = await this.#call('getMany', () => this.#store.getMany(fullKeys))
    if (outcome.kind === 'error' && outcome.reason === 'deadline') for (const fullKey of fullKeys) this.#suspect(fullKey)
    if (outcome.kind !== 'ok') return keys.map(() => outcome)
    return keys.map((key, i) => {
      const bytes = outcome.value[i]
      return bytes === undefined ? MISS : this.#decode(key, bytes)
    })
  }

  /**
   * Encodes entries for {@link send}. Throws the value's coded error (`E_CODEC_ENCODE`,
   * `E_VALUE_TOO_LARGE`) before anything is sent or any state changes.
   */
  encode(writes: readonly RemoteWrite[]): StoreEntry[] {
    const now = this.#options.clock.now()
    return writes.map(({ key, entry, sinceEpoch }) => ({
      key: this.#prefix + key,
      value: this.#codec.encode(key, entry, this.#prefix + key),
      ttlMs: physicalTtl(entry, now),
      tagging: entry.tags.length === 0 && sinceEpoch === undefined ? undefined : this.#tagging(key, entry.tags, sinceEpoch),
    }))
  }

  /**
   * Writes encoded entries in one pipelined batch; tagged or conditional ones go through
   * `SET_ENTRY` with their tag indexes. Resolves `undefined` when all were written, else, per
   * entry, whether it was.
   */
  send(entries: readonly StoreEntry[]): Promise<RemoteOutcome<readonly boolean[] | undefined>> {
    // A large batch gets one deadline per started thousand entries.
    const only = entries.length === 1 ? entries[0]?.key : undefined
    return this.#call('set', () => this.#store.setMany(entries), Math.ceil(entries.length / WRITES_PER_DEADLINE), only)
  }

  /** Deletes keys, leaving delete marks; resolves how many existed in Redis. */
  deleteKeys(keys: readonly string[]): Promise<RemoteOutcome<number>> {
    return this.#call('delete', () => this.#deleteMarked(keys), 1, keys.length === 1 ? this.#prefix + keys[0] : undefined)
  }

  /** Deletes the keys of this namespace matching a glob, leaving delete marks; resolves how many. */
  deletePattern(pattern: string): Promise<RemoteOutcome<number>> {
    return this.#call(
      'deletePattern',
      async (step) => {
        let removed = 0
        for await (const batch of this.#scan(this.#scanPrefix + pattern, step)) {
          removed += await step(this.#deleteMarked(batch.map((fullKey) => fullKey.slice(this.#prefix.length))))
        }
        return removed
      },
      'long',
    )
  }

  /**
   * Invalidates tags in bounded steps (see `INVALIDATE_TAG`); resolves how many entries went, and
   * the keys the indexes named (without the namespace prefix).
   */
  deleteTags(tags: readonly string[]): Promise<RemoteOutcome<{ removed: number; keys: string[] }>> {
    return this.#call(
      'deleteTags',
      async (step) => {
        let removed = 0
        const keys: string[] = []
        for (const name of tags) {
          const marks = { lifetimeMs: DELETE_MARK_LIFETIME_MS, markKeyOf: (fullKey: string) => this.#markKey(fullKey.slice(this.#prefix.length)) }
          const done = await step(this.#store.invalidateTag({ indexKey: this.#tagKey(name), stateKey: this.#stateKey, name, marks }))
          removed += done.removed
          for (const fullKey of done.keys) keys.push(fullKey.slice(this.#prefix.length))
        }
        return { removed, keys }
      },
      'long',
    )
  }

  /**
   * Marks the namespace cleared (so overtaken loads cannot write), then deletes its tag indexes,
   * then its entries. In that order, a write that lands during the clear either is deleted by
   * the entry scan or keeps its index entry: deleting the indexes last could drop the index entry
   * of a write that survives, which a later `invalidateTags` would then miss.
   */
  clear(): Promise<RemoteOutcome<number>> {
    return this.#call(
      'clear',
      async (step) => {
        await step(this.#store.markCleared(this.#stateKey))
        await this.#unlinkScan(`${escapeGlob(this.#options.namespace)}#tag:*`, step)
        return this.#unlinkScan(`${this.#scanPrefix}*`, step)
      },
      'long',
    )
  }

  /** The namespace's tag epoch, read before a loader runs so its write can be refused if overtaken. */
  tagEpoch(): Promise<RemoteOutcome<number>> {
    return this.#call('tagEpoch', () => this.#store.tagEpoch(this.#stateKey), 1, this.#stateKey)
  }

  /** Keys of this namespace matching a glob, without the namespace prefix, each once. */
  async keys(pattern: string): Promise<RemoteOutcome<string[]>> {
    return this.#call(
      'scan',
      async (step) => {
        const found = new Set<string>()
        for await (const batch of this.#scan(this.#scanPrefix + pattern, step)) {
          for (const fullKey of batch) found.add(fullKey.slice(this.#prefix.length))
        }
        return [...found]
      },
      'long',
    )
  }

  /** Lock operations for cross-instance single-flight; `unavailable` when Redis cannot be asked. */
  async tryLock(lockKey: string, token: string, leaseMs: number): Promise<'acquired' | 'held' | 'unavailable'> {
    const outcome = await this.#call('lock', () => this.#store.tryLock(lockKey, token, leaseMs), 1, lockKey)
    if (outcome.kind !== 'ok') return 'unavailable'
    return outcome.value ? 'acquired' : 'held'
  }

  /** Remaining lease of a lock in ms; `undefined` when it is gone or Redis cannot be asked. */
  async lockTtl(lockKey: string): Promise<number | undefined> {
    const outcome = await this.#call('lockTtl', () => this.#store.ttl(lockKey), 1, lockKey)
    return outcome.kind === 'ok' ? outcome.value : undefined
  }

  async extendLock(lockKey: string, token: string, leaseMs: number): Promise<boolean> {
    const outcome = await this.#call('extendLock', () => this.#store.extendLock(lockKey, token, leaseMs), 1, lockKey)
    return outcome.kind === 'ok' && outcome.value
  }

  async unlock(lockKey: string, token: string, channel: string): Promise<boolean> {
    const outcome = await this.#call('unlock', () => this.#store.unlock(lockKey, token, { channel, message: lockKey }), 1, lockKey)
    return outcome.kind === 'ok' && outcome.value
  }

  /** Redis `used_memory` in bytes, or `undefined` when Redis cannot be asked. */
  async usedMemory(): Promise<number | undefined> {
    // Statistics never go through the breaker: a refused INFO (an ACL without it) is no outage.
    if (!this.#store.isReady) return undefined
    try {
      const info = await withDeadline(this.#store.info('memory'), this.#options.l2TimeoutMs.read, 'L2 info')
      const match = /^used_memory:(\d+)/m.exec(info)
      return match ? Number(match[1]) : undefined
    } catch {
      return undefined
    }
  }

  /** Key of the lock guarding loads of `key`, and the channel its releases are announced on. */
  lockKeys(key: string): { lockKey: string; channel: string } {
    return { lockKey: `${this.#options.namespace}#lock:${key}`, channel: `${this.#options.namespace}#lock-released` }
  }

  #deleteMarked(keys: readonly string[]): Promise<number> {
    const entries = keys.map((key) => ({ key: this.#prefix + key, markKey: this.#markKey(key) }))
    return this.#store.deleteMarked(entries, { stateKey: this.#stateKey, lifetimeMs: DELETE_MARK_LIFETIME_MS })
  }

  async #unlinkScan(match: string, step: Step): Promise<number> {
    let removed = 0
    for await (const batch of this.#scan(match, step)) removed += await step(this.#store.deleteMany(batch))
    return removed
  }

  /** SCAN batches, each `SCAN` round trip bounded by `step`. */
  async *#scan(match: string, step: Step): AsyncIterable<string[]> {
    const batches = this.#store.scan(match)[Symbol.asyncIterator]()
    for (;;) {
      const next = await step(batches.next())
      if (next.done === true) return
      yield next.value
    }
  }

  /** Whether the first connection attempt is still under way (Redis not known to be down yet). */
  get connecting(): boolean {
    return this.#started && this.#firstAttempt
  }

  /** Whether a call could be sent now: connected, and the breaker not open. */
  get available(): boolean {
    return this.#store.isReady && this.#breaker.state !== 'open'
  }

  /**
   * The outcome of a call not sent. One error per operation, built once: a dead Redis can skip
   * thousands of calls a second, and capturing a stack for each would load the process exactly
   * when it must stay responsive.
   */
  #skipped(operation: string): RemoteFailure {
    let outcome = this.#skippedOutcomes.get(operation)
    if (outcome === undefined) {
      const error = new L2UnavailableError(operation, new Error('Redis is disconnected or the circuit breaker is open'))
      outcome = Object.freeze({ kind: 'skipped', error })
      this.#skippedOutcomes.set(operation, outcome)
    }
    return outcome
  }

  #tagging(key: string, tags: readonly string[], sinceEpoch: number | undefined): StoreEntry['tagging'] {
    return { stateKey: this.#stateKey, markKey: this.#markKey(key), names: tags, indexKeys: tags.map((tag) => this.#tagKey(tag)), sinceEpoch }
  }

  #markKey(key: string): string {
    return `${this.#options.namespace}#gone:${key}`
  }

  #tagKey(tag: string): string {
    return `${this.#options.namespace}#tag:${tag}`
  }

  #decode(key: string, bytes: Uint8Array): RemoteRead {
    // The stored key is part of the cipher's associated data: bytes moved here from another key
    // or namespace fail to decrypt.
    const fullKey = this.#prefix + key
    try {
      const found: RemoteRead = { kind: 'found', entry: this.#codec.decode(bytes, fullKey) }
      if (this.#rekeying !== undefined && this.#codec.isUnderOldKey(bytes)) this.#rekeyOnRead(fullKey, bytes)
      return found
    } catch (error) {
      // Leaving the bytes would make every later read pay for the same failure. Compare-and-
      // delete, so a writer that replaced them meanwhile keeps its fresh value; an oversized value
      // is not sent back for the comparison: a bounded read unlinks it if it is still too long.
      // Entries under an unknown key id or failing authentication go the same way.
      if (bytes.byteLength > this.#maxStoredBytes) void this.#store.getBounded(fullKey, this.#maxStoredBytes).catch(() => undefined)
      else void this.#store.deleteIfEquals(fullKey, bytes).catch(() => undefined)
      return { kind: 'corrupt', error: error instanceof CacheError ? error : new CodecDecodeError('unexpected failure', error) }
    }
  }

  /** Rewrites an entry read under an older key with the current one, in the background (compare-and-set). */
  #rekeyOnRead(fullKey: string, bytes: Uint8Array): void {
    const rekeying = this.#rekeying!
    if (rekeying.has(fullKey)) return
    const next = this.#codec.reencrypt(bytes, fullKey)
    if (next === undefined) return
    rekeying.add(fullKey)
    void this.#store
      .replaceIfEquals(fullKey, bytes, next)
      .catch(() => undefined)
      .finally(() => rekeying.delete(fullKey))
  }

  /**
   * Re-encrypts every entry of the namespace under the current key (see `rekeyNamespace`).
   * Each round trip has the write deadline and goes through the breaker; the whole operation
   * has no bound (a namespace may be large). Rejects with the first L2 failure.
   */
  rekey(options: Required<RekeyOptions>): Promise<RekeyResult> {
    const codec = this.#codec
    return rekeyNamespace(
      {
        scan: (batchSize) => this.#rekeyScan(batchSize),
        read: (fullKeys) => unwrap(this.#call('getMany', () => this.#store.getMany(fullKeys))),
        reencrypt: (bytes, fullKey) => codec.reencrypt(bytes, fullKey),
        replace: (fullKey, expected, value) => unwrap(this.#call('rekey', () => this.#store.replaceIfEquals(fullKey, expected, value), 1, fullKey)),
      },
      options,
    )
  }

  /**
   * Reads for `exportEntries()`: the namespace's keys (SCAN on every master), their bytes (MGET)
   * and TTLs (PTTL, pipelined with it), and this tier's decoder. Each round trip has its deadline
   * and goes through the breaker; a failure rejects.
   */
  exportSource(): ExportSource {
    const store = this.#store
    return {
      prefix: this.#prefix,
      scan: (batchSize) => this.#rekeyScan(batchSize),
      read: (fullKeys) =>
        unwrap(
          this.#call('getMany', async () => {
            // One MGET and the PTTLs, pipelined: a batch of n keys gets a deadline per started hundred.
            const [values, ttls] = await Promise.all([store.getMany(fullKeys), Promise.all(fullKeys.map((fullKey) => store.ttl(fullKey)))])
            return values.map((bytes, i) => (bytes === undefined || ttls[i] === undefined ? undefined : { bytes, ttlMs: ttls[i] }))
          }, bulkDeadlines(fullKeys.length)),
        ),
      decode: (bytes, fullKey) => this.#codec.decode(bytes, fullKey),
      now: () => this.#options.clock.now(),
    }
  }

  /**
   * Writes for `importEntries()`: stored bytes go through the same write path as `set()` (a
   * tagged entry through `SET_ENTRY`, which joins its tag indexes), unconditionally.
   */
  importTarget(forgetLocal: (keys: readonly string[]) => void): ImportTarget {
    const store = this.#store
    return {
      now: () => this.#options.clock.now(),
      exists: (keys) => unwrap(this.#call('getMany', async () => (await Promise.all(keys.map((key) => store.ttl(this.#prefix + key)))).map((ttl) => ttl !== undefined), bulkDeadlines(keys.length))),
      write: async (writes) => {
        const entries = writes.map((write) => this.#rawEntry(write))
        await unwrap(this.#call('set', () => store.setMany(entries), bulkDeadlines(entries.length)))
        forgetLocal(writes.map((write) => write.key))
      },
    }
  }

  #rawEntry({ key, bytes, ttlMs, tags }: RawWrite): StoreEntry {
    return { key: this.#prefix + key, value: bytes, ttlMs, tagging: tags.length === 0 ? undefined : this.#tagging(key, tags, undefined) }
  }

  /** SCAN batches of the namespace's entry keys, each step with its deadline and breaker. */
  async *#rekeyScan(batchSize: number): AsyncIterable<string[]> {
    const batches = this.#store.scan(`${this.#scanPrefix}*`, batchSize)[Symbol.asyncIterator]()
    for (;;) {
      const next = await this.#call('scan', () => batches.next())
      if (next.kind !== 'ok') throw next.error
      if (next.value.done === true) return
      yield next.value.value
    }
  }

  /**
   * Runs one L2 call: connects on first use (waiting no longer than the call's deadline),
   * skips it while disconnected or while the breaker is open, and bounds it by `deadlines`
   * times its deadline (`long`: scans and tag invalidations, which take many round trips, each
   * bounded by one deadline through `step`, and {@link LONG_DEADLINES} deadlines in all).
   */
  async #call<T>(operation: string, run: (step: Step) => Promise<T>, deadlines: number | 'long' = 1, fullKey?: string): Promise<RemoteOutcome<T>> {
    const base = READ_OPERATIONS.has(operation) ? this.#options.l2TimeoutMs.read : this.#options.l2TimeoutMs.write
    if (this.#firstAttempt) await this.connect(base)
    const breaker = this.#breakerFor(fullKey)
    if (!this.#store.isReady || !breaker.allow()) return this.#skipped(operation)
    // A long operation (scans, tag invalidations) is many round trips: each gets the deadline,
    // and the whole one LONG_DEADLINES of them.
    const step: Step = deadlines === 'long' ? (promise) => withDeadline(promise, base, `L2 ${operation} step`) : passThrough
    try {
      const value = await withDeadline(run(step), base * (deadlines === 'long' ? LONG_DEADLINES : Math.max(1, deadlines)), `L2 ${operation}`)
      breaker.recordSuccess()
      return value === undefined ? (OK_VOID as RemoteOutcome<T>) : { kind: 'ok', value }
    } catch (error) {
      // An error reply (WRONGTYPE, NOPERM, a refused argument) comes from a server that answers:
      // only connection errors and deadlines count towards the breaker.
      if (error instanceof ErrorReply) {
        breaker.recordSuccess()
        const fix = aclRefusalFix(error.message, { namespace: this.#options.namespace, cluster: this.#options.redis.cluster !== undefined })
        return { kind: 'error', error: new L2UnavailableError(operation, error, fix), reason: 'reply' }
      }
      breaker.recordFailure()
      const reason = error instanceof DeadlineExceeded ? 'deadline' : 'connection'
      return { kind: 'error', error: new L2UnavailableError(operation, error), reason }
    }
  }
}

const MISS: RemoteRead = Object.freeze({ kind: 'miss' })

/** Deadlines of one bulk round trip of a tool (export, import): one per started hundred keys. */
function bulkDeadlines(keys: number): number {
  return Math.ceil(keys / 100)
}

/** The value of an outcome, or its error thrown: for long tools (rekey, export, import) a partial run must not look complete. */
async function unwrap<T>(outcome: Promise<RemoteOutcome<T>>): Promise<T> {
  const settled = await outcome
  if (settled.kind !== 'ok') throw settled.error
  return settled.value
}

function isWrongType(error: L2UnavailableError): boolean {
  return error.cause instanceof ErrorReply && error.cause.message.startsWith('WRONGTYPE')
}

/** Redis keeps an entry until the end of its grace: the logical ttl is checked on read. */
function physicalTtl(entry: CacheEntry, now: number): number | undefined {
  const until = entry.staleUntil ?? entry.expiresAt
  return until === undefined ? undefined : Math.max(1, until - now)
}
