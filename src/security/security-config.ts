/**
 * Transport security of the Redis connection, in the original design's terms: AUTH, TLS from
 * certificate files, an ACL user. Passed as `GenericRedisCache({ security })` (and to
 * `RedisCacheSecurityManager`), for one server, a Sentinel set and a Redis Cluster alike: it is
 * resolved into the same connection settings as `redisUrl` and `redis`, so every connection of
 * the cache (data, coherence, lock subscriber, sentinels unless `sentinel.tls` says otherwise,
 * every cluster node) uses it. A setting given twice (a password in the URL and here, TLS options
 * here and in `redis.socket.tls`) is refused with `E_INVALID_OPTIONS`, never silently merged.
 */
export interface SecurityConfig {
  /**
   * Password of Redis' `default` user (`requirepass`). Use `aclUsername` and `aclPassword` for
   * any other user. Never logged nor included in errors.
   * @default none (or the URL's password)
   */
  redisAuth?: string | undefined
  /**
   * Connect with TLS. `false` with a `rediss://` URL is refused as a conflict; TLS settings
   * below with TLS off are refused too, so a TLS configuration never falls back to plain TCP.
   * @default true for a `rediss://` URL, else false
   */
  useTls?: boolean | undefined
  /** PEM file of the client certificate, for mutual TLS (`tls-auth-clients yes`); needs `tlsKeyPath`. @default none */
  tlsCertPath?: string | undefined
  /** PEM file of the client certificate's private key; needs `tlsCertPath`. @default none */
  tlsKeyPath?: string | undefined
  /** PEM file of the CA(s) to trust instead of Node's default CAs (a private CA). @default Node's CAs */
  tlsCaPath?: string | undefined
  /** ACL user (`ACL SETUSER`). @default the URL's user, else Redis' `default` user */
  aclUsername?: string | undefined
  /** Password of `aclUsername`. Never logged nor included in errors. @default none */
  aclPassword?: string | undefined
  /**
   * Verify the server certificate against the trusted CAs and its name. `false` accepts any
   * certificate, which lets anyone on the path read and change the traffic: tests only.
   * @default true
   */
  rejectUnauthorized?: boolean | undefined
  /** Name expected in the server certificate (SNI), when it differs from the host connected to (an IP, a tunnel). @default the host */
  servername?: string | undefined
  /** Lowest TLS version accepted. @default 'TLSv1.2' (Node's default) */
  minTlsVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined
}

/** How serious a {@link SecurityFinding} is. */
export type SecurityLevel = 'error' | 'warning' | 'recommendation'

/** One finding about a security configuration: a stable code, the option concerned and what to do. */
export interface SecurityFinding {
  /** Stable code, e.g. `PASSWORD_TWICE`, `TLS_VERIFY_OFF`, `CERT_EXPIRES_SOON`. */
  readonly code: string
  /** The option concerned (`security.tlsCaPath`, `redisUrl`, …). */
  readonly path: string
  /** What is wrong and how to fix it; never quotes a password. */
  readonly message: string
}
