/**
 * A real Redis Cluster for integration tests: `redis-server` nodes started by {@link startRedis}
 * (free ports, pid-only control, a temporary directory each), joined with
 * `redis-cli --cluster create`, and awaited until every node reports `cluster_state:ok` and all
 * nodes agree on the slot map.
 *
 * Usage, at the top of an integration test file:
 * ```ts
 * const hasRedis = requireRedis() && requireRedisCli()
 * describe.skipIf(!hasRedis)('cluster', () => {
 *   const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 1 })
 *   it('...', async () => { const client = createCluster({ rootNodes: cluster.rootNodes }) ... })
 * })
 * ```
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from '@redis/client'
import { afterAll, beforeAll } from 'vitest'

import { CLUSTER_SLOTS, crc16, keySlot } from '../../src/stores/cluster/key-slot.js'
import { type RedisServer, findRedisServer, freePort, isExecutable, serverTls, startRedis, tlsClientOptions } from './redis-server.js'
import type { TlsFixture } from './tls-certs.js'

export { CLUSTER_SLOTS }

/** Options for {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Masters, each owning an equal share of the slots; `redis-cli` needs at least 3. @default 3 */
  masters?: number
  /** Replicas of each master. @default 0 */
  replicasPerMaster?: number
  /** Extra `redis-server` arguments for every node, appended after the cluster ones. */
  args?: string[]
  /** `cluster-node-timeout`: how long a silent node takes to be flagged failing, in ms. @default 1000 */
  nodeTimeoutMs?: number
  /** Total time to wait until the cluster is formed and healthy, in ms. @default 30000 */
  readyTimeoutMs?: number
  /**
   * TLS only, with this fixture (from `makeTlsFixture()`): every node listens on TLS alone (see
   * `StartRedisOptions.tls`), the cluster bus uses TLS (`tls-cluster yes`, so nodes announce
   * their TLS ports), and the helper's own `redis-cli` and {@link redisCommand} calls use TLS.
   * @default plain TCP
   */
  tls?: TlsFixture | undefined
}

/** A Redis Cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /**
   * Every node as created: the masters first, then their replicas in the same order as their
   * masters (with one replica each, `nodes[masters + i]` replicates `nodes[i]`). A failover does
   * not reorder them: see {@link RedisCluster.masters}.
   */
  readonly nodes: RedisServer[]
  /** One `{ url }` per node, for `createCluster({ rootNodes })` of `@redis/client` (`rediss://` with TLS). */
  readonly rootNodes: Array<{ url: string }>
  /**
   * Running masters that no node flags as failing, as a running node sees them now (a failover
   * changes them), in `nodes` order.
   */
  masters(): Promise<RedisServer[]>
  /** Running replicas of `master`, as a running node sees them now; in `nodes` order. */
  replicasOf(master: RedisServer): Promise<RedisServer[]>
  /** The running master that owns `slot` now. */
  masterForSlot(slot: number): Promise<RedisServer>
  /** The running master that owns the slot of `key` now (see {@link keySlot}). */
  masterForKey(key: string): Promise<RedisServer>
  /** Node id (`CLUSTER MYID`) of `node`; kept across {@link RedisServer.restart} since `nodes.conf` is kept. */
  nodeId(node: RedisServer): string
  /**
   * Resolves with the replica promoted in place of `killed` (a master that was killed or stopped),
   * once every running node reports `cluster_state:ok` again and agrees on the slot map.
   * Rejects at once when `killed` has no replica (the cluster would stay down), or after
   * `timeoutMs` (@default 15000).
   */
  waitForFailover(killed: RedisServer, timeoutMs?: number): Promise<RedisServer>
  /**
   * Resolves once every running node reports `cluster_state:ok`, all agree on the slot map and
   * every running replica's link to its master is up; for example after restarting a node, which
   * rejoins with its old identity (as a replica when its slots moved). @default timeoutMs 30000
   */
  waitForHealthy(timeoutMs?: number): Promise<void>
  /** Stops every node by pid and removes the cluster's files. Safe twice. */
  stop(): Promise<void>
}

/**
 * Arguments for every node that may become a master: replicas sync at once instead of after the
 * 5 s a 7.x master waits by default for more replicas to share a diskless transfer.
 */
export const REPLICATION_ARGS: readonly string[] = ['--repl-diskless-sync-delay', '0']

/** A RESP2 reply of {@link redisCommand}. */
export type RespValue = string | number | null | Error | RespValue[]

const dirs = new Set<string>()
let exitHookInstalled = false

/** Path of `redis-cli`: `$REDIS_CLI_BIN` when set, else next to `redis-server`, else the first on PATH. */
export function findRedisCli(): string | undefined {
  const explicit = process.env.REDIS_CLI_BIN
  if (explicit !== undefined && explicit !== '') return isExecutable(explicit) ? explicit : undefined
  const server = findRedisServer()
  const candidates = server === undefined ? [] : [join(dirname(server), 'redis-cli')]
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir !== '') candidates.push(join(dir, 'redis-cli'))
  return candidates.find(isExecutable)
}

/**
 * Decides whether a cluster suite can run, as `requireRedis()` does for `redis-server`: returns
 * `true` when `redis-cli` exists; without it throws when `CI` is set or `REDIS_CLI_BIN` points at
 * nothing, and otherwise prints a banner and returns `false` for `describe.skipIf(!hasRedis)`.
 */
export function requireRedisCli(): boolean {
  if (findRedisCli() !== undefined) return true
  const explicit = process.env.REDIS_CLI_BIN
  if (explicit !== undefined && explicit !== '') {
    throw new Error(`REDIS_CLI_BIN=${explicit} is not an executable file; fix or unset it`)
  }
  const why =
    'redis-cli was not found next to redis-server nor on PATH and REDIS_CLI_BIN is not set: ' +
    'install Redis (apt-get install redis-server, brew install redis) or set REDIS_CLI_BIN'
  if (process.env.CI) throw new Error(`cluster integration tests need redis-cli under CI. ${why}`)
  const bar = '!'.repeat(78)
  console.warn(`\n${bar}\n!! SKIPPING REDIS CLUSTER INTEGRATION TESTS\n!! ${why}\n${bar}\n`)
  return false
}

// The library's own slot function (computed as Redis does; see its module comment).
export { crc16, keySlot }

/**
 * Sends one command on a fresh connection to `127.0.0.1:port` and resolves its reply (RESP2);
 * over TLS when that port is a server started with a TLS fixture (see `serverTls`).
 * Rejects with the server's message on an error reply, on a socket error, or after `timeoutMs`.
 * Never meant for a server a test did not start.
 */
export async function redisCommand(port: number, args: readonly string[], timeoutMs = 1000): Promise<RespValue> {
  const fixture = serverTls(port)
  const common = { host: '127.0.0.1', port, connectTimeout: timeoutMs, reconnectStrategy: false as const }
  const socket = fixture === undefined ? common : { ...common, ...tlsClientOptions(fixture), tls: true as const }
  const client = createClient({ socket, RESP: 2 })
  client.on('error', () => undefined)
  const what = `${args.join(' ')} on port ${port}`
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply to ${what} within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([client.connect(), deadline])
    return (await Promise.race([client.sendCommand([...args]), deadline])) as unknown as RespValue
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  } finally {
    clearTimeout(timer)
    client.destroy()
  }
}

/** `redisCommand` for commands answering text (`INFO`, `CLUSTER INFO`, `CLUSTER NODES`). */
export async function redisText(port: number, args: readonly string[], timeoutMs = 1000): Promise<string> {
  const reply = await redisCommand(port, args, timeoutMs)
  if (typeof reply !== 'string') throw new Error(`${args.join(' ')} on port ${port} answered ${JSON.stringify(reply)}`)
  return reply
}

/** `field:value` lines of an `INFO` or `CLUSTER INFO` reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return fields
}

/**
 * Calls `probe` every `intervalMs` until it resolves, and resolves with its value; after
 * `timeoutMs` rejects with `what` and the last reason `probe` gave (its rejection message).
 */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt'
  for (;;) {
    try {
      return await probe()
    } catch (error) {
      last = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() + intervalMs > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last})`)
    await sleep(intervalMs)
  }
}

/** One line of `CLUSTER NODES`. */
interface NodeLine {
  id: string
  port: number
  flags: Set<string>
  /** Id of the master of a replica; `-` for a master. */
  masterId: string
  linkState: string
  /** Slot ranges, normalised as `a-b` (importing/migrating markers dropped). */
  slots: string[]
}

function parseClusterNodes(text: string): NodeLine[] {
  const lines: NodeLine[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    const [id = '', address = '', flags = '', masterId = '', , , , linkState = '', ...slots] = line.split(' ')
    const hostPort = address.split('@')[0] ?? ''
    const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))
    const ranges = slots.filter((slot) => !slot.startsWith('[')).map((slot) => (slot.includes('-') ? slot : `${slot}-${slot}`))
    lines.push({ id, port, flags: new Set(flags.split(',')), masterId, linkState, slots: ranges })
  }
  return lines
}

function ownsSlot(line: NodeLine, slot: number): boolean {
  return line.slots.some((range) => {
    const [from = -1, to = -1] = range.split('-').map(Number)
    return slot >= from && slot <= to
  })
}

const isMaster = (line: NodeLine): boolean => line.flags.has('master')
const isFailing = (line: NodeLine): boolean => line.flags.has('fail') || line.flags.has('fail?')

/** Starts a Redis Cluster and resolves once it is formed and every node agrees it is healthy. */
export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3
  const replicasPerMaster = opts.replicasPerMaster ?? 0
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(`redis-cli --cluster create needs 3 masters or more, not ${masters}`)
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new RangeError(`replicasPerMaster must be a whole number, not ${replicasPerMaster}`)
  }
  const cli = findRedisCli()
  if (cli === undefined) throw new Error('redis-cli not found (see requireRedisCli())')
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), 'strata-cluster-'))
  dirs.add(dir)
  const nodes: RedisServer[] = []
  const cluster = new Cluster(nodes, dir)
  try {
    const count = masters * (1 + replicasPerMaster)
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => startClusterNode(join(dir, `nodes-${i}.conf`), opts)),
    )
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value)
    const failed = started.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
    const cliTls = opts.tls === undefined ? [] : redisCliTlsArgs(opts.tls)
    await run(cli, [...cliTls, '--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'])
    await cluster.init(opts.readyTimeoutMs ?? 30_000)
    return cluster
  } catch (error) {
    await cluster.stop()
    throw error
  }
}

/**
 * One cluster node. Its cluster bus gets its own free port (`cluster-port`): the default, port +
 * 10000, is past 65535 for the upper part of the ephemeral port range. `nodes.conf` lives in the
 * cluster's directory, not the node's, so a restarted node keeps its identity and rejoins.
 */
async function startClusterNode(configFile: string, opts: StartRedisClusterOptions): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', configFile, '--cluster-port', String(await freePort())]
    args.push('--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1000), ...REPLICATION_ARGS)
    if (opts.tls !== undefined) args.push('--tls-cluster', 'yes')
    args.push(...(opts.args ?? []))
    try {
      return await startRedis({ args, ...(opts.tls === undefined ? {} : { tls: opts.tls }) })
    } catch (error) {
      const busy = error instanceof Error && error.message.includes('Address already in use')
      if (!busy || attempt >= 3) throw error
    }
  }
}

/** `redis-cli` arguments to reach a server started with `fixture`: TLS, its CA, its server name. */
export function redisCliTlsArgs(fixture: TlsFixture): string[] {
  return ['--tls', '--cacert', fixture.caFile, '--sni', fixture.serverName]
}

function run(file: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout)
      else reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
    })
    child.stdin?.end()
  })
}

class Cluster implements RedisCluster {
  readonly nodes: RedisServer[]
  #dir: string
  #ids = new Map<RedisServer, string>()
  /** The slot map all nodes agreed on at the last successful wait. */
  #agreed: NodeLine[] = []

  constructor(nodes: RedisServer[], dir: string) {
    this.nodes = nodes
    this.#dir = dir
  }

  get rootNodes(): Array<{ url: string }> {
    return this.nodes.map((node) => ({ url: node.url }))
  }

  async init(timeoutMs: number): Promise<void> {
    for (const node of this.nodes) this.#ids.set(node, await redisText(node.port, ['CLUSTER', 'MYID']))
    await this.waitForHealthy(timeoutMs)
    // redis-cli picks the masters and pairs the replicas itself; order them as documented.
    const created = [...this.nodes]
    const lineOf = (node: RedisServer): NodeLine | undefined => this.#agreed.find((line) => line.id === this.#ids.get(node))
    const rank = (node: RedisServer): number => {
      const line = lineOf(node)
      if (line === undefined || isMaster(line)) return created.indexOf(node)
      const master = this.#byId(line.masterId)
      return created.length * (1 + (master === undefined ? created.length : created.indexOf(master))) + created.indexOf(node)
    }
    this.nodes.sort((a, b) => rank(a) - rank(b))
  }

  nodeId(node: RedisServer): string {
    const id = this.#ids.get(node)
    if (id === undefined) throw new Error(`port ${node.port} is not a node of this cluster`)
    return id
  }

  #byId(id: string): RedisServer | undefined {
    for (const [node, nodeId] of this.#ids) if (nodeId === id) return node
    return undefined
  }

  /** `CLUSTER NODES` of the first running node that answers. */
  async #view(): Promise<NodeLine[]> {
    let last: unknown = new Error('no running node')
    for (const node of this.nodes) {
      if (!node.running) continue
      try {
        return parseClusterNodes(await redisText(node.port, ['CLUSTER', 'NODES']))
      } catch (error) {
        last = error
      }
    }
    throw last
  }

  /** The running servers of `lines`, in the order of {@link RedisCluster.nodes}. */
  #servers(lines: NodeLine[]): RedisServer[] {
    const ids = new Set(lines.map((line) => line.id))
    return this.nodes.filter((node) => node.running && ids.has(this.#ids.get(node) ?? ''))
  }

  async masters(): Promise<RedisServer[]> {
    return this.#servers((await this.#view()).filter((line) => isMaster(line) && !isFailing(line)))
  }

  async replicasOf(master: RedisServer): Promise<RedisServer[]> {
    const id = this.nodeId(master)
    return this.#servers((await this.#view()).filter((line) => line.masterId === id && !isFailing(line)))
  }

  async masterForSlot(slot: number): Promise<RedisServer> {
    const view = await this.#view()
    const owner = view.find((line) => isMaster(line) && ownsSlot(line, slot))
    const node = owner === undefined ? undefined : this.#byId(owner.id)
    if (node === undefined || !node.running) throw new Error(`no running master owns slot ${slot} (owner ${owner?.id ?? 'none'})`)
    return node
  }

  masterForKey(key: string): Promise<RedisServer> {
    return this.masterForSlot(keySlot(key))
  }

  async waitForHealthy(timeoutMs = 30_000): Promise<void> {
    this.#agreed = await pollUntil('Redis Cluster healthy', timeoutMs, () => this.#healthyView())
  }

  async waitForFailover(killed: RedisServer, timeoutMs = 15_000): Promise<RedisServer> {
    const killedId = this.nodeId(killed)
    const before = this.#agreed.find((line) => line.id === killedId)
    if (before === undefined || !isMaster(before)) throw new Error(`port ${killed.port} was not a master at the last wait`)
    const replicaIds = this.#agreed.filter((line) => line.masterId === killedId).map((line) => line.id)
    if (replicaIds.length === 0) throw new Error(`master on port ${killed.port} has no replica: no failover will happen`)
    const promoted = await pollUntil(`failover of the master on port ${killed.port}`, timeoutMs, async () => {
      const view = await this.#healthyView()
      const old = view.find((line) => line.id === killedId)
      if (old !== undefined && old.slots.length > 0) throw new Error(`port ${killed.port} still owns slots`)
      const winner = view.find((line) => replicaIds.includes(line.id) && isMaster(line) && line.slots.length > 0)
      if (winner === undefined) throw new Error('no replica of it owns slots')
      this.#agreed = view
      return winner
    })
    const node = this.#byId(promoted.id)
    if (node === undefined) throw new Error(`unknown promoted node ${promoted.id}`)
    return node
  }

  /**
   * The slot map when the cluster is healthy, else rejects with why not: every running node
   * reports `cluster_state:ok` with all slots assigned and knows every node; all running nodes
   * see the same masters, replicas and slots, see each other connected and not failing, and see
   * the stopped nodes as failed; every running replica's link to its master is up.
   */
  async #healthyView(): Promise<NodeLine[]> {
    const running = this.nodes.filter((node) => node.running)
    if (running.length === 0) throw new Error('no running node')
    const views = await Promise.all(
      running.map(async (node) => {
        const info = parseInfo(await redisText(node.port, ['CLUSTER', 'INFO']))
        const where = `port ${node.port}`
        if (info.get('cluster_state') !== 'ok') throw new Error(`${where}: cluster_state:${info.get('cluster_state')}`)
        if (info.get('cluster_slots_assigned') !== String(CLUSTER_SLOTS)) throw new Error(`${where}: not all slots assigned`)
        if (info.get('cluster_known_nodes') !== String(this.nodes.length)) {
          throw new Error(`${where}: knows ${info.get('cluster_known_nodes')} of ${this.nodes.length} nodes`)
        }
        const lines = parseClusterNodes(await redisText(node.port, ['CLUSTER', 'NODES']))
        for (const line of lines) {
          const peer = this.#byId(line.id)
          if (peer === undefined) throw new Error(`${where}: sees unknown node ${line.id} on port ${line.port}`)
          if (peer.running && (isFailing(line) || line.flags.has('handshake') || line.flags.has('noaddr'))) {
            throw new Error(`${where}: sees port ${peer.port} as ${[...line.flags].join(',')}`)
          }
          if (peer.running && !line.flags.has('myself') && line.linkState !== 'connected') {
            throw new Error(`${where}: link to port ${peer.port} is ${line.linkState}`)
          }
          if (!peer.running && !line.flags.has('fail')) throw new Error(`${where}: does not see stopped port ${peer.port} as failed`)
        }
        return lines
      }),
    )
    const signature = (lines: NodeLine[]): string =>
      lines
        .map((line) => `${line.id} ${isMaster(line) ? 'master' : 'replica'} ${line.masterId} ${line.slots.join(',')}`)
        .sort()
        .join('\n')
    const first = views[0] ?? []
    const expected = signature(first)
    views.forEach((view, i) => {
      if (signature(view) !== expected) throw new Error(`ports ${running[0]?.port} and ${running[i]?.port} disagree on the slot map`)
    })
    for (const line of first) {
      const node = this.#byId(line.id)
      if (isMaster(line) || node === undefined || !node.running) continue
      const master = this.#byId(line.masterId)
      const replication = parseInfo(await redisText(node.port, ['INFO', 'replication']))
      if (replication.get('master_link_status') !== 'up' || replication.get('master_port') !== String(master?.port)) {
        throw new Error(`replica on port ${node.port}: link to master port ${replication.get('master_port')} not up`)
      }
    }
    return first
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()))
    rmSync(this.#dir, { recursive: true, force: true })
    dirs.delete(this.#dir)
  }
}

/** Safety net for the cluster directories; the processes themselves are killed by redis-server.ts. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * One Redis Cluster for the enclosing `describe` block: started in `beforeAll` (60 s allowed),
 * stopped in `afterAll`. The returned object stands for it; using it before it started throws.
 */
export function useRedisCluster(opts: StartRedisClusterOptions = {}): RedisCluster {
  let current: RedisCluster | undefined
  beforeAll(async () => {
    current = await startRedisCluster(opts)
  }, 60_000)
  afterAll(async () => {
    await current?.stop()
  }, 30_000)
  const started = (): RedisCluster => {
    if (current === undefined) throw new Error('the Redis Cluster of this suite has not started yet')
    return current
  }
  return {
    get nodes() {
      return started().nodes
    },
    get rootNodes() {
      return started().rootNodes
    },
    masters: () => started().masters(),
    replicasOf: (master) => started().replicasOf(master),
    masterForSlot: (slot) => started().masterForSlot(slot),
    masterForKey: (key) => started().masterForKey(key),
    nodeId: (node) => started().nodeId(node),
    waitForFailover: (killed, timeoutMs) => started().waitForFailover(killed, timeoutMs),
    waitForHealthy: (timeoutMs) => started().waitForHealthy(timeoutMs),
    stop: () => started().stop(),
  }
}

/**
 * `CROSSSLOT` errors each node has answered since it started (`INFO errorstats`). Caches suppress
 * L2 errors (a cross-slot command would show as a miss), so a test reads the nodes' own count.
 */
export async function crossSlotErrors(nodes: readonly RedisServer[]): Promise<Array<{ port: number; crossSlot: number; errors: string }>> {
  return Promise.all(
    nodes.map(async (node) => {
      const errors = parseInfo(await redisText(node.port, ['INFO', 'errorstats']))
      const crossSlot = Number(/count=(\d+)/.exec(errors.get('errorstat_CROSSSLOT') ?? '')?.[1] ?? 0)
      return { port: node.port, crossSlot, errors: [...errors].map(([field, value]) => `${field}:${value}`).join(' ') }
    }),
  )
}
