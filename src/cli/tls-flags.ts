/**
 * TLS file flags of the commands that take them (`--tls-ca`, `--tls-cert`, `--tls-key`,
 * `--tls-servername`): the files are read once, here, and only their paths ever appear in a
 * message, never their content.
 */
import { readFileSync } from 'node:fs'

import { InvalidOptionsError, type OptionIssue } from '../index.js'

/** The flags as commander hands them over. */
export interface TlsFlags {
  /** `--tls-ca <file>`: PEM of the CA(s) that signed the server certificate. @default Node's trusted CAs */
  tlsCa?: string | undefined
  /** `--tls-cert <file>`: PEM client certificate, for mutual TLS; needs `--tls-key`. */
  tlsCert?: string | undefined
  /** `--tls-key <file>`: PEM private key of `--tls-cert`. */
  tlsKey?: string | undefined
  /** `--tls-servername <name>`: name expected in the server certificate. @default the URL's host */
  tlsServername?: string | undefined
}

/** TLS settings for the connection (`tls.connect()` options). */
export interface TlsSettings {
  readonly ca?: Buffer
  readonly cert?: Buffer
  readonly key?: Buffer
  readonly servername?: string
}

/** Options to show in a command's help, in the order they are registered. */
export const TLS_FLAG_HELP = [
  ['--tls-ca <file>', 'PEM file of the CA that signed the server certificate (default: Node\'s trusted CAs)'],
  ['--tls-cert <file>', 'PEM client certificate, for mutual TLS (with --tls-key)'],
  ['--tls-key <file>', 'PEM private key of --tls-cert'],
  ['--tls-servername <name>', 'name expected in the server certificate, when it is not the URL\'s host'],
] as const

/**
 * Reads the TLS files; `undefined` when no TLS flag is given.
 * @throws InvalidOptionsError listing every problem: an unreadable file, half a client
 *   certificate, TLS flags with a `redis://` URL (plain TCP is never used with TLS settings)
 */
export function resolveTlsFlags(flags: TlsFlags, url: string): TlsSettings | undefined {
  if (flags.tlsCa === undefined && flags.tlsCert === undefined && flags.tlsKey === undefined && flags.tlsServername === undefined) return undefined
  const issues: OptionIssue[] = []
  if (!url.toLowerCase().startsWith('rediss://')) issues.push({ path: '--url', message: 'TLS flags need a rediss:// URL (a redis:// URL would connect in plain TCP)' })
  if (flags.tlsCert !== undefined && flags.tlsKey === undefined) issues.push({ path: '--tls-cert', message: 'needs --tls-key (a client certificate needs its private key)' })
  if (flags.tlsKey !== undefined && flags.tlsCert === undefined) issues.push({ path: '--tls-key', message: 'needs --tls-cert' })
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (path === undefined) return undefined
    try {
      return readFileSync(path)
    } catch (error) {
      issues.push({ path: flag, message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` })
      return undefined
    }
  }
  const settings = { ca: read(flags.tlsCa, '--tls-ca'), cert: read(flags.tlsCert, '--tls-cert'), key: read(flags.tlsKey, '--tls-key'), servername: flags.tlsServername }
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined))
}
