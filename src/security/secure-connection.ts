import tls from 'node:tls'

import { L2UnavailableError } from '../errors.js'
import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { DeadlineExceeded, withDeadline } from '../shared/deadline.js'
import { createPlainClient, type PlainRedisClient } from '../stores/redis-client.js'
import { SentinelMaster } from '../stores/sentinel-master.js'
import { connectionFix } from './connection-fix.js'

/** A connected node-redis client (RESP3, offline queue off), built as the cache builds its own. */
export type SecureRedisClient = PlainRedisClient

/** The server a connection goes to. */
export interface ServerAddress {
  readonly host: string
  readonly port: number
}

/**
 * Where the cache's data connection goes: the URL's host, the master the sentinels name, or, on
 * a cluster, the first root node (every node has its own TLS and ACL settings; set them alike).
 */
export async function serverAddress(o: ResolvedRedisConnection, timeoutMs: number): Promise<ServerAddress> {
  if (o.cluster !== undefined) return o.cluster.nodes[0] ?? { host: o.host, port: o.port }
  if (o.sentinel === undefined) return { host: o.host, port: o.port }
  const master = new SentinelMaster(o.sentinel, o)
  try {
    const found = new Promise<void>((resolve) => master.onChange(() => resolve()))
    master.start()
    if (master.address === undefined) await withDeadline(found, timeoutMs, 'sentinel query')
    return master.address ?? { host: o.host, port: o.port }
  } catch (error) {
    const reason = master.lastError ?? error
    throw new L2UnavailableError('connect', reason, connectionFix(reason))
  } finally {
    master.close()
  }
}

/**
 * Connects a client to `address` with the resolved settings (the same `createPlainClient` the
 * stores use). Settles within `timeoutMs`: the first refusal (a password, a certificate, a closed
 * port) rejects at once, without the retries the cache's own connections make.
 * @throws L2UnavailableError (`E_L2_UNAVAILABLE`) whose `cause` is the refusal and whose message says what to change
 */
export async function connectSecurely(o: ResolvedRedisConnection, address: ServerAddress, timeoutMs: number): Promise<SecureRedisClient> {
  const client = createPlainClient({ ...o, ...address })
  let refusal: unknown
  const refused = new Promise<never>((_resolve, reject) => {
    // node-redis emits 'error' for each failed attempt, even after destroy(): keep listening.
    client.on('error', (error: unknown) => {
      refusal ??= error
      reject(error instanceof Error ? error : new Error(String(error)))
    })
  })
  refused.catch(() => undefined)
  try {
    await withDeadline(Promise.race([client.connect(), refused]), timeoutMs, 'connect')
    return client
  } catch (error) {
    client.destroy()
    const cause = error instanceof DeadlineExceeded && refusal !== undefined ? refusal : error
    throw new L2UnavailableError('connect', cause, connectionFix(cause))
  }
}

/** TLS as negotiated with a server. */
export interface TlsSession {
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly version: string
  /** OpenSSL name of the cipher suite, e.g. `TLS_AES_256_GCM_SHA384`. */
  readonly cipher: string
  /** Whether a client certificate was presented. */
  readonly clientCertificate: boolean
  /** The server certificate: subject, issuer and expiry. */
  readonly serverCertificate: { readonly subject: string; readonly issuer: string; readonly validTo: string; readonly daysLeft: number } | undefined
}

/**
 * Opens a TLS socket to `address` with exactly the options a cache connection gets, reads what
 * was negotiated and closes it. A probe of its own because node-redis keeps its socket private;
 * the same options against the same server negotiate the same version and cipher.
 */
export function negotiateTls(options: tls.ConnectionOptions, address: ServerAddress, timeoutMs: number, now = Date.now()): Promise<TlsSession> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...options, host: address.host, port: address.port })
    const timer = setTimeout(() => socket.destroy(new DeadlineExceeded('TLS handshake', timeoutMs)), timeoutMs)
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(new L2UnavailableError('connect', error, connectionFix(error)))
    })
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const peer = socket.getPeerCertificate()
      const hasPeer = peer !== null && typeof peer === 'object' && typeof peer.valid_to === 'string'
      resolve({
        version: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().name,
        clientCertificate: options.cert !== undefined,
        serverCertificate: hasPeer
          ? {
              subject: Object.entries(peer.subject ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
              issuer: Object.entries(peer.issuer ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
              validTo: peer.valid_to,
              daysLeft: Math.floor((Date.parse(peer.valid_to) - now) / 86_400_000),
            }
          : undefined,
      })
      socket.destroy()
    })
  })
}
