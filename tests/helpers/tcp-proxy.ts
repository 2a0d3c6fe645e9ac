/**
 * A TCP proxy on a free 127.0.0.1 port in front of a target port, for fault tests that need
 * more than a killed or paused server: latency on the wire and network partitions.
 *
 * ```ts
 * const proxy = await startTcpProxy(server.port)
 * const cache = new GenericRedisCache({ redisUrl: proxy.url })
 * proxy.setDelay(0, 8)   // every chunk waits 0–8 ms, byte order kept per direction
 * proxy.cut()            // partition: live connections die, new ones hang unanswered
 * proxy.heal()           // new connections are forwarded again
 * await proxy.close()
 * ```
 */
import net from 'node:net'

/** A running proxy; see {@link startTcpProxy}. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  readonly port: number
  /** `redis://127.0.0.1:<port>`, for Redis clients. */
  readonly url: string
  /** Connections currently forwarded (not counting those hung by a cut). */
  readonly openConnections: number
  /** When each connection was accepted (`performance.now()`), hung ones included: connect attempts. */
  readonly acceptedAt: readonly number[]
  /**
   * Delays every forwarded chunk by a random time in [minMs, maxMs]. A chunk never overtakes an
   * earlier one of the same direction of the same connection (FIFO), so byte order is kept.
   * `setDelay(0, 0)` forwards at once.
   */
  setDelay(minMs: number, maxMs: number): void
  /**
   * Partition: destroys every current connection (both sides), and from now on accepts new
   * connections but forwards nothing and answers nothing, as a dropped route would.
   */
  cut(): void
  /**
   * Ends the partition for connections opened from now on. Connections accepted during the cut
   * stay hung (their bytes are lost) until the client gives up on them, as a client must.
   */
  heal(): void
  /** Stops listening and destroys every connection, forwarded or hung. */
  close(): Promise<void>
}

/** Bytes of one direction waiting for their delivery time. */
interface Pending {
  readonly chunk: Buffer
  readonly dueAt: number
}

/**
 * One direction of one connection: delivers chunks in arrival order, each no earlier than its
 * own random due time and no earlier than the chunk before it.
 */
class DelayedPipe {
  readonly #to: net.Socket
  readonly #delay: () => number
  readonly #queue: Pending[] = []
  #lastDueAt = 0
  #timer: NodeJS.Timeout | undefined
  #ended = false

  constructor(to: net.Socket, delay: () => number) {
    this.#to = to
    this.#delay = delay
  }

  push(chunk: Buffer): void {
    const delay = this.#delay()
    if (delay <= 0 && this.#queue.length === 0) {
      this.#write(chunk)
      return
    }
    const dueAt = Math.max(performance.now() + delay, this.#lastDueAt)
    this.#lastDueAt = dueAt
    this.#queue.push({ chunk, dueAt })
    this.#schedule()
  }

  /** Ends the destination once every queued chunk has been written. */
  end(): void {
    this.#ended = true
    if (this.#queue.length === 0) this.#to.end()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue.length = 0
  }

  #schedule(): void {
    if (this.#timer !== undefined) return
    const head = this.#queue[0]
    if (head === undefined) return
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.dueAt - performance.now()))
  }

  #flush(): void {
    this.#timer = undefined
    const now = performance.now()
    while (this.#queue.length > 0 && (this.#queue[0] as Pending).dueAt <= now) {
      this.#write((this.#queue.shift() as Pending).chunk)
    }
    if (this.#queue.length > 0) this.#schedule()
    else if (this.#ended) this.#to.end()
  }

  #write(chunk: Buffer): void {
    if (!this.#to.destroyed) this.#to.write(chunk)
  }
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let minMs = 0
  let maxMs = 0
  let partitioned = false
  /** Forwarded connections: client socket → its upstream socket. */
  const forwarded = new Map<net.Socket, net.Socket>()
  /** Client sockets accepted during a cut, never answered. */
  const hung = new Set<net.Socket>()
  const delay = (): number => (maxMs <= 0 ? 0 : minMs + Math.random() * (maxMs - minMs))
  const acceptedAt: number[] = []

  const server = net.createServer((client) => {
    acceptedAt.push(performance.now())
    client.on('error', () => undefined)
    if (partitioned) {
      hung.add(client)
      // Read and drop, so the client's writes never block; answer nothing.
      client.on('data', () => undefined)
      client.once('close', () => hung.delete(client))
      return
    }
    const upstream = net.connect({ host: targetHost, port: targetPort })
    upstream.on('error', () => undefined)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    forwarded.set(client, upstream)
    const toServer = new DelayedPipe(upstream, delay)
    const toClient = new DelayedPipe(client, delay)
    client.on('data', (chunk: Buffer) => toServer.push(chunk))
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk))
    client.once('end', () => toServer.end())
    upstream.once('end', () => toClient.end())
    const teardown = (): void => {
      toServer.stop()
      toClient.stop()
      client.destroy()
      upstream.destroy()
      forwarded.delete(client)
    }
    client.once('close', teardown)
    upstream.once('close', teardown)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('tcp proxy: no port from the OS')
  const port = address.port

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get openConnections() {
      return forwarded.size
    },
    acceptedAt,
    setDelay(min: number, max: number): void {
      if (!(min >= 0 && max >= min)) throw new Error(`tcp proxy: bad delay range ${min}..${max}`)
      minMs = min
      maxMs = max
    },
    cut(): void {
      partitioned = true
      for (const [client, upstream] of forwarded) {
        client.destroy()
        upstream.destroy()
      }
      forwarded.clear()
    },
    heal(): void {
      partitioned = false
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const [client, upstream] of forwarded) {
        client.destroy()
        upstream.destroy()
      }
      forwarded.clear()
      for (const client of hung) client.destroy()
      hung.clear()
      await closed
    },
  }
}
