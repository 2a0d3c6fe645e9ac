/**
 * Real `redis-server` processes for integration tests, each on its own free port with its own
 * temporary directory, controlled by pid only (never by process name, so a developer's Redis
 * and the servers of parallel test files are never touched).
 *
 * Usage, at the top of an integration test file:
 * ```ts
 * const hasRedis = requireRedis()   // throws under CI without a binary, warns and skips locally
 * describe.skipIf(!hasRedis)('RedisStore', () => { ... })
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll } from 'vitest'

import type { TlsFixture } from './tls-certs.js'

/** One `redis-server` process started by {@link startRedis}. */
export interface RedisServer {
  /** TCP port on 127.0.0.1; kept across {@link RedisServer.restart}. */
  readonly port: number
  /** `redis://127.0.0.1:<port>`, or `rediss://…` when started with {@link StartRedisOptions.tls}. */
  readonly url: string
  /** Pid of the current process; changes on restart. */
  readonly pid: number
  /** Whether the current process is running (false after stop/kill or an exit). */
  readonly running: boolean
  /** SIGTERM (SIGCONT first when paused), SIGKILL after 2 s; resolves once exited. Safe twice. */
  stop(): Promise<void>
  /** SIGKILL, as when the host dies: no shutdown, clients see the connection reset. */
  kill(): Promise<void>
  /** SIGSTOP: sockets stay open but nothing answers, as with a stalled or swapped-out Redis. */
  pause(): void
  /** SIGCONT after {@link RedisServer.pause}. */
  resume(): void
  /** Starts a new process on the same port (stopping the current one if needed); waits until ready. */
  restart(): Promise<void>
}

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments, appended after the defaults (later ones win). */
  args?: string[]
  /**
   * Port to listen on instead of a free one, for example a port that a client already targets.
   * @default a free port chosen by the OS
   */
  port?: number
  /** Total time to wait until the server answers, in ms. @default 10000 */
  readyTimeoutMs?: number
  /**
   * Config file passed as the first argument (where `redis-server` expects it), before the
   * defaults and `args`, which override it. Needed by a sentinel (`args: ['--sentinel']`), which
   * rewrites this file, so it must be writable and is kept across restarts.
   */
  configFile?: string
  /**
   * TLS only: the server listens on `tls-port` (the returned `port`) with `port 0`, presents the
   * fixture's certificate, does not ask clients for one (`tls-auth-clients no`), and uses TLS for
   * its own links to a master (`tls-replication yes`, which a sentinel also uses to reach the
   * nodes it watches). The readiness check, and `redisCommand` of redis-cluster.ts, connect with
   * the fixture's CA and server name (see {@link serverTls}).
   * @default plain TCP
   */
  tls?: TlsFixture | undefined
}

const live = new Set<ChildProcess>()
/** TLS fixtures of the running TLS servers, by port (see {@link serverTls}). */
const tlsByPort = new Map<number, { fixture: TlsFixture; owner: object }>()
const dirs = new Set<string>()
let exitHookInstalled = false

/** Path of `redis-server`: `$REDIS_SERVER_BIN` when set, else the first executable on PATH. */
export function findRedisServer(): string | undefined {
  const explicit = process.env.REDIS_SERVER_BIN
  if (explicit !== undefined && explicit !== '') return isExecutable(explicit) ? explicit : undefined
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'redis-server')
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

/**
 * Decides whether a suite can run. Returns `true` when a binary exists. Without one it throws
 * when `CI` is set (a CI job that silently skips Redis coverage is a broken job) or when
 * `REDIS_SERVER_BIN` points at nothing (a typo must not turn into a skip); otherwise it prints
 * a banner and returns `false` for `describe.skipIf(!hasRedis)`.
 */
export function requireRedis(): boolean {
  if (findRedisServer() !== undefined) return true
  const explicit = process.env.REDIS_SERVER_BIN
  if (explicit !== undefined && explicit !== '') {
    throw new Error(`REDIS_SERVER_BIN=${explicit} is not an executable file; fix or unset it`)
  }
  const why =
    'redis-server was not found on PATH and REDIS_SERVER_BIN is not set: ' +
    'install Redis (apt-get install redis-server, brew install redis) or set REDIS_SERVER_BIN'
  if (process.env.CI) throw new Error(`integration tests need Redis under CI. ${why}`)
  const bar = '!'.repeat(78)
  console.warn(`\n${bar}\n!! SKIPPING REDIS INTEGRATION TESTS\n!! ${why}\n${bar}\n`)
  return false
}

/** Starts a `redis-server` on a free port (or `opts.port`) and resolves once it answers. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = findRedisServer()
  if (bin === undefined) throw new Error('redis-server not found (see requireRedis())')
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), 'strata-redis-'))
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000
  // A free port can be taken by someone else between our probe and the spawn; retry a few
  // times with a new port unless the caller asked for a specific one.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort())
    const params = { bin, port, dir, extraArgs: opts.args ?? [], readyTimeoutMs, configFile: opts.configFile, tls: opts.tls }
    const proc = new RedisProcess(params)
    try {
      await proc.start()
      return proc
    } catch (error) {
      const busy = proc.output.includes('Address already in use')
      if (!busy || opts.port !== undefined || attempt >= 3) throw error
    }
  }
}

interface ProcessParams {
  bin: string
  port: number
  dir: string
  extraArgs: string[]
  readyTimeoutMs: number
  configFile: string | undefined
  tls: TlsFixture | undefined
}

class RedisProcess implements RedisServer {
  readonly port: number
  readonly url: string
  #params: ProcessParams
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #paused = false
  #output = ''

  constructor(params: ProcessParams) {
    this.#params = params
    this.port = params.port
    this.url = `${params.tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${params.port}`
  }

  get pid(): number {
    return this.#child?.pid ?? -1
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Last few KB of the server's stdout and stderr, for error messages. */
  get output(): string {
    return this.#output
  }

  async start(): Promise<void> {
    const { bin, port, dir, extraArgs, readyTimeoutMs, configFile, tls: fixture } = this.#params
    const args = configFile === undefined ? [] : [configFile]
    if (fixture === undefined) args.push('--port', String(port))
    else args.push('--port', '0', '--tls-port', String(port), ...tlsServerArgs(fixture))
    args.push('--bind', '127.0.0.1', '--save', '', '--appendonly', 'no')
    args.push('--protected-mode', 'no', '--daemonize', 'no', '--dir', dir, ...extraArgs)
    this.#output = ''
    this.#paused = false
    mkdirSync(dir, { recursive: true })
    dirs.add(dir)
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-8192)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => resolve())
      // A spawn that fails (ENOENT, EACCES) emits 'error' and may never emit 'exit'.
      child.once('error', () => child.pid === undefined && resolve())
    })
    child.once('exit', () => live.delete(child))
    if (fixture !== undefined) {
      tlsByPort.set(port, { fixture, owner: child })
      child.once('exit', () => tlsByPort.get(port)?.owner === child && tlsByPort.delete(port))
    }
    child.once('error', (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)))
    if (child.pid === undefined) {
      await this.#exited
      throw new Error(`cannot spawn ${bin}:\n${this.#output}`)
    }
    live.add(child)
    // A server a test forgot to stop must not keep the worker alive; the exit hook kills it.
    child.unref()
    ;(child.stdout as net.Socket | null)?.unref()
    ;(child.stderr as net.Socket | null)?.unref()
    await this.#waitReady(readyTimeoutMs)
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let lastError = 'no attempt'
    while (Date.now() < deadline) {
      if (!this.running) {
        this.#removeDir()
        throw new Error(`redis-server on port ${this.port} exited before ready:\n${this.#output}`)
      }
      try {
        // Compare pids: if someone else took the port meanwhile, the answer comes from their
        // server while ours fails with "Address already in use".
        const pid = await serverPid(this.port, 500, this.#params.tls)
        if (pid === this.pid) return
        lastError = pid === undefined ? 'not ready (no process_id in INFO)' : `port answered by pid ${pid}`
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error)
      }
      await sleep(25)
    }
    const pid = this.pid
    await this.kill()
    throw new Error(
      `redis-server (pid ${pid}) on port ${this.port} was not ready within ${timeoutMs} ms ` +
        `(last: ${lastError}). Output:\n${this.#output}`,
    )
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined || !this.running) {
      await this.#exited
      return this.#removeDir()
    }
    if (this.#paused) this.resume()
    child.ref()
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await this.#exited
    clearTimeout(timer)
    this.#removeDir()
  }

  async kill(): Promise<void> {
    const child = this.#child
    if (child !== undefined && this.running) {
      // Keep the event loop alive until the exit event, or a bare script would end here.
      child.ref()
      child.kill('SIGKILL')
    }
    this.#paused = false
    await this.#exited
    this.#removeDir()
  }

  #removeDir(): void {
    rmSync(this.#params.dir, { recursive: true, force: true })
    dirs.delete(this.#params.dir)
  }

  pause(): void {
    if (!this.running) throw new Error(`redis-server on port ${this.port} is not running`)
    this.#child?.kill('SIGSTOP')
    this.#paused = true
  }

  resume(): void {
    if (this.running) this.#child?.kill('SIGCONT')
    this.#paused = false
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }
}

/**
 * `redis-server` arguments of a TLS server (after `--tls-port`): the fixture's certificate, key
 * and CA; no client certificate asked for; TLS on replication links (and a sentinel's links).
 */
export function tlsServerArgs(fixture: TlsFixture): string[] {
  return [
    '--tls-cert-file', fixture.certFile, '--tls-key-file', fixture.keyFile, '--tls-ca-cert-file', fixture.caFile,
    '--tls-auth-clients', 'no', '--tls-replication', 'yes',
  ]
}

/**
 * The TLS fixture of the server now listening on `port` when it was started with
 * {@link StartRedisOptions.tls}, else `undefined` (a plain server, or none of ours).
 */
export function serverTls(port: number): TlsFixture | undefined {
  return tlsByPort.get(port)?.fixture
}

/**
 * `tls.connect()` options that trust `fixture`'s CA and ask for its server name (the certificate
 * names `redis.test`, not 127.0.0.1).
 */
export function tlsClientOptions(fixture: TlsFixture): { ca: string; servername: string } {
  return { ca: fixture.ca, servername: fixture.serverName }
}

/**
 * Pid of the server answering on `port` (`INFO server`), on a fresh connection (TLS with
 * `fixture`); `undefined` when it answers an error such as `-LOADING`. Rejects on a socket error
 * or after `timeoutMs`.
 */
function serverPid(port: number, timeoutMs: number, fixture?: TlsFixture): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket =
      fixture === undefined
        ? net.connect({ host: '127.0.0.1', port })
        : tls.connect({ host: '127.0.0.1', port, ...tlsClientOptions(fixture) })
    let reply = ''
    const done = (error: Error | undefined, pid?: number): void => {
      socket.destroy()
      if (error === undefined) resolve(pid)
      else reject(error)
    }
    socket.setTimeout(timeoutMs, () => done(new Error(`no reply within ${timeoutMs} ms`)))
    socket.once('error', (error) => done(error))
    socket.once(fixture === undefined ? 'connect' : 'secureConnect', () => socket.write('INFO server\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.startsWith('-') && reply.includes('\r\n')) return done(undefined)
      const match = /process_id:(\d+)\r\n/.exec(reply)
      if (match !== null) done(undefined, Number(match[1]))
    })
  })
}

/** Asks the OS for a free port by binding port 0, then releases it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the OS'))))
    })
  })
}

/** Whether `file` exists and may be executed. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Safety net: a crashed or interrupted test run must not leave servers behind. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) {
      // SIGKILL also works on a SIGSTOPped process, so no SIGCONT is needed here.
      child.kill('SIGKILL')
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * One `redis-server` for the enclosing `describe` block: started in `beforeAll`, stopped in
 * `afterAll`. The returned object stands for it, so a suite writes `server.url` or
 * `server.kill()` as with {@link startRedis}; using it before the server started throws.
 */
export function useRedisServer(opts: StartRedisOptions = {}): RedisServer {
  let current: RedisServer | undefined
  beforeAll(async () => {
    current = await startRedis(opts)
  })
  afterAll(async () => {
    await current?.stop()
  })
  const started = (): RedisServer => {
    if (current === undefined) throw new Error('the redis-server of this suite has not started yet')
    return current
  }
  return {
    get port() {
      return started().port
    },
    get url() {
      return started().url
    },
    get pid() {
      return started().pid
    },
    get running() {
      return started().running
    },
    stop: () => started().stop(),
    kill: () => started().kill(),
    pause: () => started().pause(),
    resume: () => started().resume(),
    restart: () => started().restart(),
  }
}
