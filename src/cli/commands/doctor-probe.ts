/**
 * The connections of `strata doctor` to one server, as the `PostureProbe` the posture checks
 * use: the user's connection, an optional admin connection, and a credential-less one for the
 * AUTH check. Redis' error replies become answers; a lost connection stays a `CliFailure`.
 */
import { ErrorReply } from '@redis/client'

import type { PostureProbe, ProbeRunner } from '../../index.js'
import { CliFailure } from '../io.js'
import { type CliConnection, openConnection } from '../redis-connection.js'
import type { Target } from '../target.js'

/** A probe and what to close once the checks are done. */
export interface OpenProbe {
  readonly probe: PostureProbe
  /** `host:port` of the server. */
  readonly node: string
  close(): void
}

/** What the probe is for: the cache's namespace and database, and whether it is a cluster node. */
export interface ProbeScope {
  readonly namespace: string
  readonly cluster: boolean
}

/** Opens the user's connection (and the admin one) to `target`. @throws CliFailure when either cannot connect */
export async function openProbe(target: Target, admin: Target | undefined, scope: ProbeScope): Promise<OpenProbe> {
  const user = await openConnection(target)
  let adminConnection: CliConnection | undefined
  try {
    adminConnection = admin === undefined ? undefined : await openConnection(admin)
  } catch (error) {
    user.close()
    if (error instanceof CliFailure) throw new CliFailure(`admin connection (--admin-url): ${error.message}`, { cause: error })
    throw error
  }
  const url = new URL(target.url)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port === '' ? 6379 : url.port)
  const database = Number(url.pathname.slice(1) || '0')
  const probe: PostureProbe = {
    user: runnerOf(user),
    admin: adminConnection === undefined ? undefined : runnerOf(adminConnection),
    configuredUser: url.username === '' ? 'default' : decodeURIComponent(url.username),
    host,
    port,
    tls: url.protocol === 'rediss:' ? { ...target.tls } : false,
    timeoutMs: target.timeoutMs,
    pingWithoutCredentials: () => pingAnonymously(target),
    namespace: scope.namespace,
    database: Number.isInteger(database) ? database : 0,
    cluster: scope.cluster,
  }
  return {
    probe,
    node: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => {
      user.close()
      adminConnection?.close()
    },
  }
}

/** Commands on `connection`: Redis' error replies are answers, anything else rejects. */
function runnerOf(connection: CliConnection): ProbeRunner {
  return async (args) => {
    try {
      return { ok: true, value: await connection.call(args.slice(0, 2).join(' '), (client) => client.sendCommand([...args])) }
    } catch (error) {
      if (error instanceof CliFailure && error.cause instanceof ErrorReply) return { ok: false, error: error.cause.message }
      throw error
    }
  }
}

/** `PING` on a connection like the user's (same TLS and client certificate) without user or password. */
async function pingAnonymously(target: Target): ReturnType<PostureProbe['pingWithoutCredentials']> {
  const url = new URL(target.url)
  url.username = ''
  url.password = ''
  const connection = await openConnection({ ...target, url: url.toString() })
  try {
    return await runnerOf(connection)(['PING'])
  } finally {
    connection.close()
  }
}
