import net from 'node:net'

import { afterEach, describe, expect, it, vi } from 'vitest'

import { type RedisServer, findRedisServer, requireRedis, startRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** Sends one inline command on a fresh connection and resolves the first reply line. */
function ask(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return askUntil(port, command, (reply) => reply.includes('\r\n'), timeoutMs).then((r) => r.slice(0, r.indexOf('\r\n')))
}

/** Sends one inline command and resolves the raw reply once `complete(reply)` holds. */
function askUntil(port: number, command: string, complete: (reply: string) => boolean, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let reply = ''
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no reply to ${command} within ${timeoutMs} ms`))
    })
    socket.once('error', reject)
    socket.once('connect', () => socket.write(`${command}\r\n`))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (!complete(reply)) return
      socket.destroy()
      resolve(reply)
    })
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('requireRedis', () => {
  const saved = { ...process.env }
  afterEach(() => {
    process.env = { ...saved }
    vi.restoreAllMocks()
  })
  const hideBinary = (): void => {
    process.env.PATH = ''
    delete process.env.REDIS_SERVER_BIN
  }

  it('warns loudly and returns false without a binary outside CI', () => {
    hideBinary()
    delete process.env.CI
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    expect(requireRedis()).toBe(false)
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/SKIPPING REDIS INTEGRATION TESTS[\s\S]*REDIS_SERVER_BIN/))
  })

  it('throws without a binary when CI is set', () => {
    hideBinary()
    process.env.CI = 'true'
    expect(() => requireRedis()).toThrow(/need Redis under CI/)
  })

  it('throws when REDIS_SERVER_BIN points at nothing, even outside CI', () => {
    delete process.env.CI
    process.env.REDIS_SERVER_BIN = '/nonexistent/redis-server'
    expect(() => requireRedis()).toThrow(/REDIS_SERVER_BIN=\/nonexistent\/redis-server is not an executable/)
  })
})

describe.skipIf(!hasRedis)('redis-server test helper', () => {
  const started: RedisServer[] = []
  const start = async (args?: string[]): Promise<RedisServer> => {
    const server = await startRedis(args === undefined ? {} : { args })
    started.push(server)
    return server
  }

  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.stop()))
  })

  it('finds a redis-server binary', () => {
    expect(findRedisServer()).toMatch(/redis-server$/)
  })

  it('starts a server on a free port that answers PING, and stop() ends its process', async () => {
    const server = await start()
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(await ask(server.port, 'PING')).toBe('+PONG')
    const pid = server.pid
    await server.stop()
    expect(server.running).toBe(false)
    expect(isAlive(pid)).toBe(false)
    await expect(ask(server.port, 'PING')).rejects.toThrow(/ECONNREFUSED/)
    await server.stop() // a second stop is a no-op
  })

  it('runs two servers side by side on different ports', async () => {
    const [a, b] = await Promise.all([start(), start()])
    expect(a?.port).not.toBe(b?.port)
    expect(await ask(a?.port ?? 0, 'SET k a')).toBe('+OK')
    expect(await ask(b?.port ?? 0, 'EXISTS k')).toBe(':0')
  })

  it('passes extra arguments to redis-server', async () => {
    const server = await start(['--maxmemory', '12345678'])
    const reply = await askUntil(server.port, 'CONFIG GET maxmemory', (r) => r.includes('12345678\r\n'))
    expect(reply).toContain('maxmemory')
  })

  it('restart() after kill() comes back on the same port with a new pid', async () => {
    const server = await start()
    const { port, pid } = server
    await server.kill()
    expect(isAlive(pid)).toBe(false)
    await server.restart()
    expect(server.port).toBe(port)
    expect(server.pid).not.toBe(pid)
    expect(await ask(port, 'PING')).toBe('+PONG')
  })

  it('restart() of a running server replaces it on the same port', async () => {
    const server = await start()
    const pid = server.pid
    await server.restart()
    expect(server.pid).not.toBe(pid)
    expect(isAlive(pid)).toBe(false)
    expect(await ask(server.port, 'PING')).toBe('+PONG')
  })

  it('pause() freezes the server until resume(), and stop() works on a paused server', async () => {
    const server = await start()
    server.pause()
    await expect(ask(server.port, 'PING', 300)).rejects.toThrow(/no reply/)
    server.resume()
    expect(await ask(server.port, 'PING')).toBe('+PONG')
    server.pause()
    const pid = server.pid
    await server.stop()
    expect(isAlive(pid)).toBe(false)
  })

  it('does not mistake another server on the same port for its own', async () => {
    const first = await start()
    await expect(startRedis({ port: first.port })).rejects.toThrow(/exited before ready[\s\S]*Address already in use/)
    expect(await ask(first.port, 'PING')).toBe('+PONG')
  })

  it('reports the server output when redis-server refuses to start', async () => {
    await expect(startRedis({ args: ['--no-such-option', 'x'] })).rejects.toThrow(/exited before ready[\s\S]*no-such-option/i)
  })
})
