import { setTimeout as sleep } from 'node:timers/promises'

import { createCluster, ErrorReply, RESP_TYPES, RootNodesUnavailableError } from '@redis/client'

import type { ResolvedCluster, ResolvedRedisConnection } from '../options/redis-options.js'
import { withDeadline } from '../shared/deadline.js'
import { ConnectionStatus } from './connection-status.js'
import { chunks, expiryMs, toBuffer } from './redis-args.js'
import { connectionError, type ConnectionError, isPersistentFailure, reconnectDelayMs } from './redis-client.js'
import type { DeleteMarks, RemoteStore, StoreEntry, TagInvalidation } from './store.js'
import { groupBySlot, keySlot, slotTag } from './cluster/key-slot.js'
import { DELETE_IF_EQUALS } from './scripts/delete-if-equals.js'
import { EXTEND_LOCK } from './scripts/extend-lock.js'
import { GET_BOUNDED } from './scripts/get-bounded.js'
import { GET_LOCAL } from './scripts/get-local.js'
import { INDEX_ENTRY } from './scripts/index-entry.js'
import { type LuaScript, runScript } from './scripts/lua-script.js'
import { MARK_CLEARED } from './scripts/mark-cleared.js'
import { MARK_TAG_INVALIDATED } from './scripts/mark-tag-invalidated.js'
import { RELEASE_LOCK } from './scripts/release-lock.js'
import { REPLACE_IF_EQUALS } from './scripts/replace-if-equals.js'
import { SET_UNMARKED } from './scripts/set-unmarked.js'
import { UNLINK_MARKED } from './scripts/unlink-marked.js'

/** Keys per UNLINK or MGET, so one call never blocks a node or builds a huge command. */
const CHUNK = 500
/** Members of a tag index handled per step of `invalidateTag`. */
const TAG_CHUNK = 500
/** Slowest retry of persistent failures (refused credentials or certificates). */
const SLOW_RETRY_MAX_MS = 30_000

/** Bulk strings as Buffers: values stay bytes end to end. */
const BYTES_TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

type Cluster = ReturnType<typeof createRedisCluster>
type BytesCluster = ReturnType<typeof withBytes>

/**
 * `RemoteStore` on a Redis Cluster through @redis/client's cluster client, which routes each
 * command to the master of its key's slot and follows the slot map through failovers.
 *
 * What differs from one server, and how it is kept exact:
 * - Multi-key commands take one slot. `getMany` sends one script per master (`GET_LOCAL`, which
 *   reads keys of many slots on the node that serves them), and falls back to one MGET per slot
 *   when the slot map changed under it; `deleteMany` sends one UNLINK per slot, all in the same
 *   tick, so each shard gets them in one pipelined round trip. Slots are computed here
 *   (`cluster/key-slot.ts`), as Redis computes them.
 * - `scan` visits every master.
 * - A delete mark lives in its entry's slot (`{<slot tag>}<mark key>`), so a write checks it
 *   atomically (`SET_UNMARKED`). The namespace's tag state and the tag indexes live in their own
 *   slots, so a tagged write cannot check them in the same script: it indexes the entry, writes
 *   it, then checks that no clear or invalidation of its tags came after the epoch it carries and
 *   that its index entries are still there, and removes its own write (compare-and-delete)
 *   otherwise (see `#write`). An invalidation bumps the epoch before it empties the index, and
 *   empties the index before it deletes entries; so a write either is found and deleted by it,
 *   or finds it and removes itself.
 * - `info` sums `used_memory` over the masters.
 */
export class RedisClusterStore implements RemoteStore {
  readonly #options: ResolvedRedisConnection
  readonly #cluster: Cluster
  readonly #bytes: BytesCluster
  readonly #status = new ConnectionStatus()
  readonly #healthListeners = new Set<() => void>()
  /** The last error a node reported during the current discovery attempt. */
  #rootCause: unknown
  #started: Promise<unknown> | undefined
  #closed = false
  #probe: NodeJS.Timeout | undefined
  /** Whether the nodes run `GET_LOCAL` (Redis 7.0 and later); turned off by the first that cannot. */
  #localReads = true

  constructor(options: ResolvedRedisConnection, cluster: ResolvedCluster) {
    this.#options = options
    this.#cluster = createRedisCluster(options, cluster)
    this.#bytes = withBytes(this.#cluster)
    const failed = (error: unknown): void => {
      this.#rootCause = error
      this.#status.failed(connectionError(error))
    }
    this.#cluster.on('error', failed)
    this.#cluster.on('node-error', failed)
    for (const event of ['connect', 'disconnect', 'node-ready', 'node-disconnect']) this.#cluster.on(event, () => this.#sync())
  }

  get isReady(): boolean {
    return this.#status.ready
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#status.onReadyChange(listener)
  }

  get lastError(): ConnectionError | undefined {
    return this.#status.lastError
  }

  onError(listener: (error: ConnectionError) => void): void {
    this.#status.onError(listener)
  }

  onHealthy(listener: () => void): void {
    this.#healthListeners.add(listener)
  }

  /**
   * Discovers the slot map from the root nodes and connects to the masters; resolves `false`
   * when that takes longer than `timeoutMs` (discovery goes on in the background).
   */
  async connect(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false
    this.#started ??= this.#start()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs))))
    const ready = this.#started.then(() => this.#status.ready)
    try {
      return await Promise.race([ready, late])
    } finally {
      clearTimeout(timer)
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.#bytes.get(key)) ?? undefined
  }

  async getBounded(key: string, maxBytes: number): Promise<Uint8Array | undefined | { refused: 'type' | number }> {
    const reply = await this.#script(GET_BOUNDED, [key], [String(maxBytes)], true)
    if (reply === null || reply === undefined) return undefined
    if (typeof reply === 'number') return { refused: reply < 0 ? 'type' : reply }
    return reply as Uint8Array
  }

  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    const out = new Array<Uint8Array | undefined>(keys.length)
    const byMaster = new Map<string, Array<{ item: string; index: number }>>()
    for (const [slot, group] of groupBySlot(keys, (key) => key)) {
      const master = this.#cluster.slots[slot]?.master
      const node = master === undefined ? `slot ${slot}` : `${master.host}:${master.port}`
      const list = byMaster.get(node)
      if (list === undefined) byMaster.set(node, group)
      else list.push(...group)
    }
    const reads = [...byMaster.values()].flatMap((group) => chunks(group, CHUNK).map((chunk) => this.#readOnOneNode(chunk, out)))
    await Promise.all(reads)
    return out
  }

  /**
   * Reads keys that the slot map places on one master with one `GET_LOCAL`; when the node refuses
   * a key (its slot moved) or cannot run the script (a Redis older than 7.0), with one MGET per slot.
   */
  async #readOnOneNode(chunk: ReadonlyArray<{ item: string; index: number }>, out: Array<Uint8Array | undefined>): Promise<void> {
    const names = chunk.map(({ item }) => item)
    if (this.#localReads && names.length > 1) {
      try {
        const values = (await this.#script(GET_LOCAL, [], names, true, names[0])) as Array<Uint8Array | null>
        chunk.forEach(({ index }, i) => (out[index] = values[i] ?? undefined))
        return
      } catch (error) {
        if (!(error instanceof ErrorReply)) throw error
        if (!error.message.includes('non local key')) this.#localReads = false
      }
    }
    const reads = [...groupBySlot(names, (key) => key).values()].map(async (group) => {
      const values = await this.#bytes.mGet(group.map(({ item }) => item))
      group.forEach(({ index }, i) => (out[chunk[index]!.index] = values[i] ?? undefined))
    })
    await Promise.all(reads)
  }

  async set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    const px = expiryMs(ttlMs)
    await this.#cluster.set(key, toBuffer(value), px === undefined ? undefined : { expiration: { type: 'PX', value: px } })
  }

  async setMany(entries: readonly StoreEntry[]): Promise<readonly boolean[] | undefined> {
    const expiries = entries.map((entry) => expiryMs(entry.ttlMs))
    const written = await Promise.all(entries.map((entry, i) => this.#write(entry, expiries[i])))
    return written.includes(false) ? written : undefined
  }

  async ttl(key: string): Promise<number | undefined> {
    const pttl = await this.#cluster.pTTL(key)
    if (pttl === -2) return undefined
    return pttl === -1 ? Number.POSITIVE_INFINITY : pttl
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    const counts = await Promise.all(
      [...groupBySlot(keys, (key) => key).values()].flatMap((group) =>
        chunks(group, CHUNK).map((chunk) => this.#cluster.unlink(chunk.map(({ item }) => item))),
      ),
    )
    return counts.reduce((sum, count) => sum + count, 0)
  }

  async deleteMarked(entries: ReadonlyArray<{ key: string; markKey: string }>, marks: DeleteMarks): Promise<number> {
    if (entries.length === 0) return 0
    const epoch = String(await this.#cluster.hIncrBy(marks.stateKey, 'epoch', 1))
    return this.#unlinkMarked(entries, epoch, marks.lifetimeMs)
  }

  /** Unlinks entries per slot, leaving each a delete mark holding `epoch` (`UNLINK_MARKED`). */
  async #unlinkMarked(entries: ReadonlyArray<{ key: string; markKey: string }>, epoch: string, lifetimeMs: number): Promise<number> {
    const lifetime = String(expiryMs(lifetimeMs) ?? 1)
    const counts = await Promise.all(
      [...groupBySlot(entries, (entry) => entry.key).values()].flatMap((group) =>
        chunks(group, CHUNK / 2).map((chunk) => {
          const keys = [...chunk.map(({ item }) => item.key), ...chunk.map(({ item }) => colocatedMark(item.markKey, item.key))]
          return this.#script(UNLINK_MARKED, keys, [lifetime, epoch]) as Promise<number>
        }),
      ),
    )
    return counts.reduce((sum, count) => sum + count, 0)
  }

  async deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return (await this.#script(DELETE_IF_EQUALS, [key], [toBuffer(value)])) === 1
  }

  async replaceIfEquals(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean> {
    return (await this.#script(REPLACE_IF_EQUALS, [key], [toBuffer(expected), toBuffer(value)])) === 1
  }

  /** SCAN on every master, one after the other; a key present throughout is yielded at least once. */
  async *scan(match: string, batchSize = 500): AsyncIterable<string[]> {
    for (const master of this.#cluster.masters) {
      const client = await this.#cluster.nodeClient(master)
      let cursor = '0'
      do {
        const reply = await client.scan(cursor, { MATCH: match, COUNT: batchSize })
        cursor = String(reply.cursor)
        if (reply.keys.length > 0) yield reply.keys
      } while (cursor !== '0')
    }
  }

  async tagEpoch(stateKey: string): Promise<number> {
    const epoch = await this.#cluster.hGet(stateKey, 'epoch')
    return epoch === null || epoch === undefined ? 0 : Number(epoch)
  }

  /**
   * Records the invalidation (`MARK_TAG_INVALIDATED`), then empties the index in steps: pop up to
   * `TAG_CHUNK` members (ZPOPMIN, atomic), then unlink them per slot, each leaving a delete mark
   * with the invalidation's epoch. With the order of `#write` (index, check, write, check), a
   * load overtaken by this invalidation never writes after it: either it indexed its entry before
   * the pop (then the mark refuses its write, or the unlink removes it), or it indexed it after,
   * and its check then finds the invalidation.
   */
  async invalidateTag(tag: TagInvalidation): Promise<{ removed: number; keys: string[] }> {
    const epoch = String(await this.#script(MARK_TAG_INVALIDATED, [tag.stateKey], [tag.name]))
    let removed = 0
    const keys: string[] = []
    for (;;) {
      const members = (await this.#cluster.zPopMinCount(tag.indexKey, TAG_CHUNK)).map((member) => String(member.value))
      if (members.length === 0) return { removed, keys }
      const marks = tag.marks
      removed += marks === undefined ? await this.deleteMany(members) : await this.#unlinkMarked(members.map((key) => ({ key, markKey: marks.markKeyOf(key) })), epoch, marks.lifetimeMs)
      keys.push(...members)
    }
  }

  async markCleared(stateKey: string): Promise<void> {
    await this.#script(MARK_CLEARED, [stateKey], [])
  }

  /** `INFO <section>` of the first master, with `used_memory` replaced by the sum over the masters. */
  async info(section: string): Promise<string> {
    const texts = await Promise.all(this.#cluster.masters.map(async (master) => (await this.#cluster.nodeClient(master)).info(section)))
    const total = texts.reduce((sum, text) => sum + Number(/^used_memory:(\d+)/m.exec(text)?.[1] ?? 0), 0)
    return (texts[0] ?? '').replace(/^used_memory:\d+/m, `used_memory:${total}`)
  }

  async tryLock(key: string, token: string, leaseMs: number): Promise<boolean> {
    const reply = await this.#cluster.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: expiryMs(leaseMs) ?? 1 } })
    return reply === 'OK'
  }

  async extendLock(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.#script(EXTEND_LOCK, [key], [token, String(expiryMs(leaseMs))])) === 1
  }

  async unlock(key: string, token: string, notify: { channel: string; message: string }): Promise<boolean> {
    return (await this.#script(RELEASE_LOCK, [key], [token, notify.channel, notify.message])) === 1
  }

  /** The masters' addresses (`host:port`), as the client's slot map has them now. */
  masterAddresses(): Array<{ host: string; port: number }> {
    return this.#cluster.masters.map((master) => ({ host: master.host, port: master.port }))
  }

  /** Called when a node's connection becomes ready or is lost, or the cluster (dis)connects. */
  onTopologyChange(listener: () => void): void {
    for (const event of ['connect', 'disconnect', 'node-ready', 'node-disconnect', 'node-reconnecting']) this.#cluster.on(event, listener)
  }

  /**
   * Turns on broadcast tracking on the connection this store uses for the master at `address`
   * (see `RedisStore.trackInvalidations`), reported to connection `redirectId` on that master.
   */
  async trackInvalidations(address: { host: string; port: number }, redirectId: number, prefixes: readonly string[]): Promise<void> {
    const master = this.#cluster.masters.find((m) => m.host === address.host && m.port === address.port)
    if (master === undefined) throw new Error(`${address.host}:${address.port} is no longer a master`)
    const client = await this.#cluster.nodeClient(master)
    await client.sendCommand(['CLIENT', 'TRACKING', 'OFF'])
    await client.sendCommand(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId), 'BCAST', ...prefixes.flatMap((prefix) => ['PREFIX', prefix]), 'NOLOOP'])
  }

  /** The address of the master serving `key`'s slot, as the client's slot map has it now. */
  shardOf(key: string): string | undefined {
    const master = this.#cluster.slots[keySlot(key)]?.master
    return master === undefined ? undefined : `${master.host}:${master.port}`
  }

  /** Subscribes through the cluster client's pub/sub connection (a `PUBLISH` reaches every node). */
  listen(channel: string, listener: (message: string) => void): void {
    this.#started ??= this.#start()
    void this.#started.then(() => this.#cluster.subscribe(channel, listener)).catch(() => undefined)
  }

  disconnect(): Promise<void> {
    this.#closed = true
    clearInterval(this.#probe)
    if (this.#cluster.isOpen) this.#cluster.destroy()
    this.#sync()
    return Promise.resolve()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  async #start(): Promise<void> {
    this.#probe = setInterval(() => void this.#ping(), this.#options.pingIntervalMs)
    this.#probe.unref()
    // Discovery retries until a root node answers: a cluster that is down at start comes back.
    for (let attempt = 0; !this.#closed; attempt++) {
      this.#rootCause = undefined
      try {
        await this.#cluster.connect()
        this.#sync()
        return
      } catch (error) {
        // "All the root nodes are unavailable" says less than the error a root node gave (a
        // refused password, a refused certificate): report and back off on that one.
        const cause = error instanceof RootNodesUnavailableError && this.#rootCause !== undefined ? this.#rootCause : error
        this.#status.failed(connectionError(cause))
        const slow = isPersistentFailure(cause)
        const delay = slow ? reconnectDelayMs(attempt, 1000, SLOW_RETRY_MAX_MS) : reconnectDelayMs(attempt, this.#options.reconnectMinDelayMs, this.#options.reconnectMaxDelayMs)
        await sleep(delay, undefined, { ref: false })
      }
    }
  }

  /** A `PING` to every master; all answering within `socketTimeoutMs` is a healthy cluster. */
  async #ping(): Promise<void> {
    if (!this.#cluster.isReady) return
    try {
      const pings = this.#cluster.masters.map(async (master) => (await this.#cluster.nodeClient(master)).ping())
      await withDeadline(Promise.all(pings), this.#options.socketTimeoutMs, 'cluster health PING')
    } catch {
      return
    }
    for (const listener of this.#healthListeners) listener()
  }

  #sync(): void {
    this.#status.setReady(!this.#closed && this.#cluster.isReady)
  }

  /** Runs a script on the master of `route`'s slot: by default `keys[0]`, whose slot every key of a script shares. */
  #script(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | Buffer>, bytes = false, route = keys[0]): Promise<unknown> {
    const target = bytes ? this.#bytes : this.#cluster
    const client = { sendCommand: (command: Array<string | Buffer>) => target.sendCommand(route, false, command) }
    return runScript(client, script, keys, args)
  }

  /**
   * An untagged unconditional entry is a plain SET. A tagged one takes steps, because its tag
   * indexes and the tag state live in other slots than the entry:
   * 1. add the entry to its tag indexes;
   * 2. for a conditional write (a load's), read the tag state and give up when a clear or one of
   *    its tags' invalidations came after its epoch;
   * 3. write it unless a delete mark newer than its epoch is there (`SET_UNMARKED`, atomic with
   *    the mark; deletes and tag invalidations leave marks);
   * 4. check again: the tag state (conditional writes), and that every index still holds the
   *    entry: an invalidation or a clear may have emptied an index after step 1 and deleted the
   *    entry before step 3, which would leave it unindexed. Either check failing removes the
   *    write (compare-and-delete).
   * See `invalidateTag` for why an overtaken load cannot write after the invalidation.
   */
  async #write(entry: StoreEntry, px: number | undefined): Promise<boolean> {
    const value = toBuffer(entry.value)
    const tagging = entry.tagging
    const ttl = px === undefined ? '' : String(px)
    if (tagging === undefined) {
      await this.#cluster.set(entry.key, value, px === undefined ? undefined : { expiration: { type: 'PX', value: px } })
      return true
    }
    const since = tagging.sinceEpoch
    await Promise.all(tagging.indexKeys.map((indexKey) => this.#script(INDEX_ENTRY, [indexKey], [entry.key, ttl])))
    if (since !== undefined && (await this.#overtaken(tagging, since))) return false
    const keys = [entry.key, colocatedMark(tagging.markKey, entry.key)]
    const written = await this.#script(SET_UNMARKED, keys, [value, ttl, since === undefined ? '' : String(since)])
    if (written !== 1) return false
    let keep: boolean
    try {
      const [overtaken, ...indexed] = await Promise.all([
        since === undefined ? false : this.#overtaken(tagging, since),
        ...tagging.indexKeys.map(async (indexKey) => (await this.#cluster.zScore(indexKey, entry.key)) !== null),
      ])
      keep = !overtaken && indexed.every(Boolean)
    } catch (error) {
      // A write that cannot be checked (a master is down) does not stay.
      await this.deleteIfEquals(entry.key, value).catch(() => undefined)
      throw error
    }
    if (keep) return true
    await this.deleteIfEquals(entry.key, value)
    return false
  }

  /** Whether a clear or an invalidation of one of `tagging`'s tags came after epoch `since`. */
  async #overtaken(tagging: NonNullable<StoreEntry['tagging']>, since: number): Promise<boolean> {
    const epochs = await this.#cluster.hmGet(tagging.stateKey, ['*', ...tagging.names.map((name) => `t:${name}`)])
    return epochs.some((epoch) => epoch !== null && Number(epoch) > since)
  }
}

/** The delete mark of `entryKey`, moved into its slot by a leading hash tag. */
function colocatedMark(markKey: string, entryKey: string): string {
  return `{${slotTag(keySlot(entryKey))}}${markKey}`
}

function createRedisCluster(o: ResolvedRedisConnection, cluster: ResolvedCluster) {
  const socket = {
    connectTimeout: o.connectTimeoutMs,
    reconnectStrategy: (retries: number, cause: unknown) =>
      isPersistentFailure(cause)
        ? reconnectDelayMs(retries, 1000, SLOW_RETRY_MAX_MS)
        : reconnectDelayMs(retries, o.reconnectMinDelayMs, o.reconnectMaxDelayMs),
  }
  return createCluster({
    rootNodes: cluster.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    defaults: {
      socket: o.tls === false ? { ...socket, tls: false as const } : { ...o.tls, ...socket, tls: true as const },
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      ...(o.clientName === undefined ? {} : { name: o.clientName }),
      disableOfflineQueue: true,
      pingInterval: 0,
      maintNotifications: 'disabled' as const,
    },
    RESP: 3,
    commandOptions: { timeout: 0 },
    // While a node reconnects, the slot map is refreshed every 250 ms (at its reconnect attempts),
    // so a promoted replica takes over its slots soon after the promotion, not 5 s later.
    topologyRefreshOnReconnectionAttemptStrategy: () => 250,
  })
}

function withBytes(cluster: Cluster) {
  return cluster.withTypeMapping(BYTES_TYPE_MAPPING)
}
