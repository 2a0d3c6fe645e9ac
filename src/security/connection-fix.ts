/**
 * What to change when a connection is refused, by the reason's code (a Redis error word or a
 * Node/OpenSSL error code): the option to set, never a secret. `undefined` when the code says
 * nothing a setting can fix.
 */
export function connectionFix(reason: unknown): string | undefined {
  const { code, message } = (typeof reason === 'object' && reason !== null ? reason : {}) as { code?: unknown; message?: unknown }
  const text = `${typeof code === 'string' ? code : ''} ${typeof message === 'string' ? message : ''}`
  if (/WRONGPASS|NOAUTH|invalid username-password/i.test(text)) {
    return 'check the user and password (security.aclUsername and aclPassword, security.redisAuth, or the URL)'
  }
  if (/CERT_HAS_EXPIRED|certificate has expired/i.test(text)) return 'the server certificate has expired: renew it on the server'
  if (/SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|CERT_SIGNATURE_FAILURE/.test(text)) {
    return "the server certificate is not signed by a CA this client trusts: give the server's CA as security.tlsCaPath"
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID/.test(text)) return 'the server certificate does not name this host: set security.servername to a name it holds'
  if (/certificate required|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|unknown ca|bad certificate/i.test(text)) {
    return 'the server refused this client (tls-auth-clients): give a client certificate its CA signed, as security.tlsCertPath and tlsKeyPath'
  }
  if (/WRONG_VERSION_NUMBER|packet length too long|wrong version number|ERR_SSL_/i.test(text)) {
    return 'the TLS handshake failed: this port may not speak TLS (use its plain port, or turn TLS on in the server)'
  }
  if (/ECONNRESET|Socket closed unexpectedly|socket hang up/i.test(text)) {
    return 'the server closed the connection: if this is a TLS port, set security.useTls: true (or use a rediss:// URL)'
  }
  if (/ECONNREFUSED/.test(text)) return 'nothing listens there: check the host and port'
  if (/ETIMEDOUT|did not answer|timeout/i.test(text)) return 'no answer in time: check the host, port and firewall, or raise connectTimeout (a TLS client on a plain port waits like this too: check that the port speaks TLS)'
  return undefined
}
