import type { GenericRedisCacheOptions } from '../options/cache-options.js'
import { resolveRedisConnection } from '../options/redis-options.js'
import { type ResolvedRedisCacheOptions, resolveRedisCacheOptions } from '../options/resolve-cache-options.js'
import { reviewSecurity } from '../options/security-options.js'
import { errorMessage } from '../errors.js'
import type { OptionIssue } from '../errors.js'
import type { SecurityConfig, SecurityFinding } from './security-config.js'
import { type CommandClient, type PermissionReport, checkPermissions } from './required-permissions.js'
import { type SecureRedisClient, type ServerAddress, type TlsSession, connectSecurely, negotiateTls, serverAddress } from './secure-connection.js'

/** The options of `RedisCacheSecurityManager`: those of the cache it speaks for. */
export type SecurityManagerOptions = Pick<GenericRedisCacheOptions, 'redisUrl' | 'redis' | 'security' | 'sentinel' | 'cluster' | 'namespace' | 'connectTimeout'>

/** What `validateSecurityConfig` found. `valid` is `errors.length === 0`. */
export interface SecurityValidation {
  readonly valid: boolean
  /** Settings that cannot work or are refused by the option resolver (the cache would not start). */
  readonly errors: readonly SecurityFinding[]
  /** Settings that work but weaken security (plain TCP to another host, verification off, a certificate near expiry). */
  readonly warnings: readonly SecurityFinding[]
  /** Improvements (an ACL user instead of `default`, TLS 1.3, mutual TLS). */
  readonly recommendations: readonly SecurityFinding[]
}

/** What is in effect on a live connection (`getSecurityStatus()`). */
export interface SecurityStatus {
  readonly topology: 'standalone' | 'sentinel' | 'cluster'
  /** The server asked (the master, on Sentinel; the first root node, on a cluster). */
  readonly server: ServerAddress
  /** `enabled: false` for plain TCP; otherwise what was negotiated. */
  readonly tls: ({ readonly enabled: true } & TlsSession) | { readonly enabled: false }
  /** The authenticated user: from `ACL WHOAMI`, or from the configuration when Redis refuses it. */
  readonly user: { readonly name: string; readonly source: 'ACL WHOAMI' | 'configuration' }
  /**
   * Whether the user may run every command the cache sends (`ACL DRYRUN`): `ok`, `missing` (each
   * with the rule to add), or `unknown` when `ACL DRYRUN` itself was refused.
   */
  readonly permissions:
    | { readonly status: 'ok' | 'missing'; readonly report: PermissionReport }
    | { readonly status: 'unknown'; readonly reason: string }
}

/**
 * The security side of a cache's Redis connection: validates a {@link SecurityConfig}, opens a
 * connection exactly as the cache does, and reports what is in effect on it. Built from the
 * cache's own options, through the same resolver, so what it checks is what the cache uses.
 *
 * ```ts
 * const manager = new RedisCacheSecurityManager({ redisUrl, security, namespace: 'app' })
 * const { errors, warnings } = manager.validateSecurityConfig()
 * const status = await manager.getSecurityStatus()   // TLS version, user, missing ACL rules
 * ```
 */
export class RedisCacheSecurityManager {
  readonly #options: SecurityManagerOptions
  readonly #resolved: ResolvedRedisCacheOptions

  /** @throws InvalidOptionsError (`E_INVALID_OPTIONS`) as `new GenericRedisCache(options)` would */
  constructor(options: SecurityManagerOptions = {}) {
    this.#options = options
    this.#resolved = resolveRedisCacheOptions({ ...options, l1: false })
  }

  /**
   * Reviews `config` (default: this manager's `security`) for the connection of `context.redisUrl`
   * (default: this manager's URL and `redis` options). Never throws; `now` is for tests.
   */
  validateSecurityConfig(config: SecurityConfig | undefined = this.#options.security, context: { redisUrl?: string; now?: number } = {}): SecurityValidation {
    const issues: OptionIssue[] = []
    const url = context.redisUrl ?? this.#options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
    const base = resolveRedisConnection(url, this.#options.redis, issues)
    const hosts = this.#resolved.redis.cluster?.nodes.map((node) => node.host) ?? (this.#resolved.redis.sentinel === undefined ? [base.host] : [])
    const review = reviewSecurity(config ?? {}, { ...base, hosts }, { now: context.now ?? Date.now() })
    const errors = [...issues.map(({ path, message }) => ({ code: 'INVALID_OPTION', path, message })), ...review.errors]
    return { valid: errors.length === 0, errors, warnings: review.warnings, recommendations: review.recommendations }
  }

  /**
   * A connected client with the cache's resolved settings (TLS, user, database), to the server
   * its data connection goes to. Settles within `connectTimeout`; the caller closes the client.
   * @throws L2UnavailableError (`E_L2_UNAVAILABLE`) naming the refusal (`WRONGPASS`, a certificate code) and what to change
   */
  async createSecureConnection(): Promise<SecureRedisClient> {
    return (await this.#open()).client
  }

  /**
   * Connects and reports what is in effect: TLS version and cipher, the user, and whether that
   * user may run every command the cache needs on its namespace (`ACL DRYRUN`). `ACL DRYRUN`
   * needs `acl|dryrun`, which a least-privilege user lacks: pass `admin` (a client allowed it)
   * to check from there.
   */
  async getSecurityStatus(options: { admin?: CommandClient } = {}): Promise<SecurityStatus> {
    const o = this.#resolved.redis
    const { client, address } = await this.#open()
    try {
      const user = await whoAmI(client, o.username ?? 'default')
      const tls = o.tls === false ? { enabled: false as const } : { enabled: true as const, ...(await negotiateTls(o.tls, address, this.#resolved.connectTimeoutMs)) }
      const scope = { namespace: this.#resolved.namespace, cluster: o.cluster !== undefined, database: o.database }
      let permissions: SecurityStatus['permissions']
      try {
        const report = await checkPermissions(options.admin ?? client, user.name, scope)
        permissions = { status: report.missing.length === 0 ? 'ok' : 'missing', report }
      } catch (error) {
        permissions = { status: 'unknown', reason: `ACL DRYRUN was refused (${errorMessage(error)}): pass { admin }, a client allowed +acl|dryrun, to check from there` }
      }
      const topology = o.cluster !== undefined ? 'cluster' : o.sentinel !== undefined ? 'sentinel' : 'standalone'
      return { topology, server: address, tls, user, permissions }
    } finally {
      client.destroy()
    }
  }

  async #open(): Promise<{ client: SecureRedisClient; address: ServerAddress }> {
    const timeoutMs = this.#resolved.connectTimeoutMs
    const address = await serverAddress(this.#resolved.redis, timeoutMs)
    return { client: await connectSecurely(this.#resolved.redis, address, timeoutMs), address }
  }
}

async function whoAmI(client: SecureRedisClient, configured: string): Promise<SecurityStatus['user']> {
  try {
    const name = await client.sendCommand(['ACL', 'WHOAMI'])
    return { name: Buffer.isBuffer(name) ? name.toString('utf8') : typeof name === 'string' ? name : 'unknown', source: 'ACL WHOAMI' }
  } catch {
    // A least-privilege user may not run ACL WHOAMI: it then is who the configuration says.
    return { name: configured, source: 'configuration' }
  }
}
