/**
 * A real Redis Sentinel setup for integration tests: one master and its replicas started by
 * {@link startRedis}, watched by sentinels (`redis-server <conf> --sentinel`, since Debian ships
 * no `redis-sentinel`), each with its own writable config file; all controlled by pid only.
 *
 * Usage, at the top of an integration test file:
 * ```ts
 * const hasRedis = requireRedis()
 * describe.skipIf(!hasRedis)('sentinel', () => {
 *   const sentinel = useRedisSentinel()
 *   it('...', async () => {
 *     const client = createSentinel({ name: sentinel.masterName, sentinelRootNodes: sentinel.sentinelNodes })
 *   })
 * })
 * ```
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

import { REPLICATION_ARGS, type RespValue, parseInfo, pollUntil, redisCommand, redisText } from './redis-cluster.js'
import { type RedisServer, startRedis } from './redis-server.js'
import type { TlsFixture } from './tls-certs.js'

/** Options for {@link startRedisSentinel}. */
export interface StartRedisSentinelOptions {
  /** Replicas of the master. @default 1 */
  replicas?: number
  /** Sentinels watching the master. @default 3 */
  sentinels?: number
  /** Sentinels that must agree the master is down before a failover. @default a majority of `sentinels` */
  quorum?: number
  /** Name the sentinels know the master by. @default 'mymaster' */
  masterName?: string
  /** `down-after-milliseconds`: how long a silent master takes to be seen as down. @default 1000 */
  downAfterMs?: number
  /** `failover-timeout`, in ms. @default 5000 */
  failoverTimeoutMs?: number
  /** Extra `redis-server` arguments for the master and the replicas (not the sentinels). */
  args?: string[]
  /** Total time to wait until replication is up and every sentinel knows every node, in ms. @default 30000 */
  readyTimeoutMs?: number
  /**
   * TLS only, with this fixture (from `makeTlsFixture()`): the master, the replicas and the
   * sentinels listen on TLS alone (see `StartRedisOptions.tls`); replication and the sentinels'
   * links to the nodes and to each other use TLS (`tls-replication yes`, so each announces its
   * TLS port), and the helper's own `redisCommand` calls use TLS.
   * @default plain TCP
   */
  tls?: TlsFixture | undefined
}

/** Address of a node as sentinels report it. */
export interface NodeAddress {
  host: string
  port: number
}

/** A master, its replicas and sentinels started by {@link startRedisSentinel}. */
export interface RedisSentinel {
  /** The original master (a failover makes it a replica or leaves it down; see {@link RedisSentinel.currentMaster}). */
  readonly master: RedisServer
  /** The original replicas. */
  readonly replicas: RedisServer[]
  /** The sentinels. */
  readonly sentinels: RedisServer[]
  /** Name the sentinels know the master by. */
  readonly masterName: string
  /** One `{ host, port }` per sentinel, for `createSentinel({ name, sentinelRootNodes })` of `@redis/client`. */
  readonly sentinelNodes: NodeAddress[]
  /** The master as the first running sentinel that answers reports it now. */
  currentMaster(): Promise<NodeAddress>
  /** The master, replica or sentinel listening on `port`. */
  nodeAt(port: number): RedisServer
  /**
   * Resolves with the new master once every running sentinel reports the same master other than
   * `fromPort` and that node reports `role:master`; rejects after `timeoutMs` (@default 20000).
   */
  waitForFailover(fromPort: number, timeoutMs?: number): Promise<NodeAddress>
  /** Stops every process by pid and removes the sentinels' config files. Safe twice. */
  stop(): Promise<void>
}

const dirs = new Set<string>()
let exitHookInstalled = false

/**
 * Starts a master, its replicas and sentinels; resolves once every replica's link is up and every
 * sentinel reports the master and knows every replica and every other sentinel.
 */
export async function startRedisSentinel(opts: StartRedisSentinelOptions = {}): Promise<RedisSentinel> {
  const replicaCount = opts.replicas ?? 1
  const sentinelCount = opts.sentinels ?? 3
  const quorum = opts.quorum ?? Math.floor(sentinelCount / 2) + 1
  const masterName = opts.masterName ?? 'mymaster'
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000
  if (!/^[\w.-]+$/.test(masterName)) {
    throw new RangeError(`master name ${JSON.stringify(masterName)} would need quoting in the config; use [A-Za-z0-9_.-]`)
  }
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), 'strata-sentinel-'))
  dirs.add(dir)
  const all: RedisServer[] = []
  const startAll = async (count: number, start: (i: number) => Promise<RedisServer>): Promise<RedisServer[]> => {
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => start(i)))
    const servers: RedisServer[] = []
    for (const result of results) if (result.status === 'fulfilled') servers.push(result.value)
    all.push(...servers)
    const failed = results.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    return servers
  }
  try {
    const args = [...REPLICATION_ARGS, ...(opts.args ?? [])]
    const tls = opts.tls === undefined ? {} : { tls: opts.tls }
    const [master] = await startAll(1, () => startRedis({ args, ...tls }))
    if (master === undefined) throw new Error('no master')
    const replicaArgs = ['--replicaof', '127.0.0.1', String(master.port), ...args]
    const replicas = await startAll(replicaCount, () => startRedis({ args: replicaArgs, ...tls }))
    // A sentinel learns the replicas from the master's INFO, asked at once and then every 10 s:
    // replicas still connecting when the sentinels start would cost a 10 s wait.
    await pollUntil('replication up', readyTimeoutMs, async () => {
      const info = parseInfo(await redisText(master.port, ['INFO', 'replication']))
      const connected = info.get('connected_slaves')
      if (connected !== String(replicaCount)) throw new Error(`master: ${connected} of ${replicaCount} replicas connected`)
      for (const replica of replicas) {
        const status = parseInfo(await redisText(replica.port, ['INFO', 'replication'])).get('master_link_status')
        if (status !== 'up') throw new Error(`replica on port ${replica.port}: master_link_status:${status}`)
      }
    })
    const config = [
      'sentinel resolve-hostnames no',
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${masterName} ${opts.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n')
    const sentinels = await startAll(sentinelCount, (i) => {
      // Rewritten by the sentinel (its id, epochs, known nodes) and kept across its restarts.
      const configFile = join(dir, `sentinel-${i}.conf`)
      writeFileSync(configFile, config)
      return startRedis({ configFile, args: ['--sentinel'], ...tls })
    })
    const setup = new Sentinel({ master, replicas, sentinels, masterName, dir, all })
    await pollUntil('sentinels ready', readyTimeoutMs, () => setup.checkReady())
    return setup
  } catch (error) {
    await Promise.all(all.map((server) => server.stop()))
    removeDir(dir)
    throw error
  }
}

interface SentinelParams {
  master: RedisServer
  replicas: RedisServer[]
  sentinels: RedisServer[]
  masterName: string
  dir: string
  all: RedisServer[]
}

class Sentinel implements RedisSentinel {
  readonly master: RedisServer
  readonly replicas: RedisServer[]
  readonly sentinels: RedisServer[]
  readonly masterName: string
  #dir: string
  #all: RedisServer[]

  constructor(params: SentinelParams) {
    this.master = params.master
    this.replicas = params.replicas
    this.sentinels = params.sentinels
    this.masterName = params.masterName
    this.#dir = params.dir
    this.#all = params.all
  }

  get sentinelNodes(): NodeAddress[] {
    return this.sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port }))
  }

  nodeAt(port: number): RedisServer {
    const node = this.#all.find((server) => server.port === port)
    if (node === undefined) throw new Error(`no node of this setup listens on port ${port}`)
    return node
  }

  async #masterFrom(sentinel: RedisServer): Promise<NodeAddress> {
    const reply = await redisCommand(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName])
    if (!Array.isArray(reply) || typeof reply[0] !== 'string' || typeof reply[1] !== 'string') {
      throw new Error(`sentinel on port ${sentinel.port} knows no master ${this.masterName}: ${JSON.stringify(reply)}`)
    }
    return { host: reply[0], port: Number(reply[1]) }
  }

  async currentMaster(): Promise<NodeAddress> {
    let last: unknown = new Error('no running sentinel')
    for (const sentinel of this.sentinels) {
      if (!sentinel.running) continue
      try {
        return await this.#masterFrom(sentinel)
      } catch (error) {
        last = error
      }
    }
    throw last
  }

  /** Rejects with why unless every sentinel reports the original master, the replicas and the other sentinels. */
  async checkReady(): Promise<void> {
    await Promise.all(
      this.sentinels.map(async (sentinel) => {
        const where = `sentinel on port ${sentinel.port}`
        const master = await this.#masterFrom(sentinel)
        if (master.port !== this.master.port) throw new Error(`${where} reports master port ${master.port}`)
        const replicas = records(await redisCommand(sentinel.port, ['SENTINEL', 'REPLICAS', this.masterName]))
        const healthy = replicas.filter((replica) => !/s_down|o_down|disconnected/.test(replica.get('flags') ?? ''))
        if (healthy.length !== this.replicas.length) throw new Error(`${where} knows ${healthy.length} healthy replicas`)
        const others = records(await redisCommand(sentinel.port, ['SENTINEL', 'SENTINELS', this.masterName]))
        if (others.length !== this.sentinels.length - 1) throw new Error(`${where} knows ${others.length} other sentinels`)
      }),
    )
  }

  waitForFailover(fromPort: number, timeoutMs = 20_000): Promise<NodeAddress> {
    return pollUntil(`sentinel failover from port ${fromPort}`, timeoutMs, async () => {
      const running = this.sentinels.filter((sentinel) => sentinel.running)
      if (running.length === 0) throw new Error('no running sentinel')
      const reported = await Promise.all(running.map((sentinel) => this.#masterFrom(sentinel)))
      const ports = new Set(reported.map((address) => address.port))
      const [address] = reported
      if (address === undefined || ports.size !== 1) throw new Error(`sentinels report masters on ports ${[...ports].join(', ')}`)
      if (address.port === fromPort) throw new Error(`sentinels still report port ${fromPort}`)
      const role = parseInfo(await redisText(address.port, ['INFO', 'replication'])).get('role')
      if (role !== 'master') throw new Error(`port ${address.port} reports role:${role}`)
      return address
    })
  }

  async stop(): Promise<void> {
    // Sentinels first, so none starts a failover while the data nodes go down.
    await Promise.all(this.sentinels.map((sentinel) => sentinel.stop()))
    await Promise.all([this.master, ...this.replicas].map((server) => server.stop()))
    removeDir(this.#dir)
  }
}

/** Field maps of a `SENTINEL REPLICAS` / `SENTINEL SENTINELS` reply (an array of flat field-value arrays). */
function records(reply: RespValue): Array<Map<string, string>> {
  if (!Array.isArray(reply)) throw new Error(`expected an array, got ${JSON.stringify(reply)}`)
  return reply.map((entry) => {
    const fields = new Map<string, string>()
    if (!Array.isArray(entry)) return fields
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), String(entry[i + 1]))
    return fields
  })
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  dirs.delete(dir)
}

/** Safety net for the config directories; the processes themselves are killed by redis-server.ts. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * One sentinel setup for the enclosing `describe` block: started in `beforeAll` (60 s allowed),
 * stopped in `afterAll`. The returned object stands for it; using it before it started throws.
 */
export function useRedisSentinel(opts: StartRedisSentinelOptions = {}): RedisSentinel {
  let current: RedisSentinel | undefined
  beforeAll(async () => {
    current = await startRedisSentinel(opts)
  }, 60_000)
  afterAll(async () => {
    await current?.stop()
  }, 30_000)
  const started = (): RedisSentinel => {
    if (current === undefined) throw new Error('the sentinel setup of this suite has not started yet')
    return current
  }
  return {
    get master() {
      return started().master
    },
    get replicas() {
      return started().replicas
    },
    get sentinels() {
      return started().sentinels
    },
    get masterName() {
      return started().masterName
    },
    get sentinelNodes() {
      return started().sentinelNodes
    },
    currentMaster: () => started().currentMaster(),
    nodeAt: (port) => started().nodeAt(port),
    waitForFailover: (fromPort, timeoutMs) => started().waitForFailover(fromPort, timeoutMs),
    stop: () => started().stop(),
  }
}
