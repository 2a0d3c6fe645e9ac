/**
 * `strata stats --sentinel <name>`: the URL names a sentinel; the report covers the master it
 * names for `<name>`, read over a connection with the URL's credentials and TLS.
 */
import { CliFailure } from '../io.js'
import type { CliConnection } from '../redis-connection.js'
import type { Target } from '../target.js'

/** The target of the master a sentinel names for `name`: the URL with its host and port. */
export async function sentinelMasterTarget(sentinel: CliConnection, target: Target, name: string): Promise<Target> {
  const reply: unknown = await sentinel.call('SENTINEL GET-MASTER-ADDR-BY-NAME', (client) =>
    client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]),
  )
  if (!Array.isArray(reply) || reply.length !== 2) throw new CliFailure(`the sentinel at ${target.displayUrl} knows no master named ${name}`)
  const url = new URL(target.url)
  url.hostname = String(reply[0])
  url.port = String(reply[1])
  const displayUrl = new URL(target.displayUrl)
  displayUrl.hostname = url.hostname
  displayUrl.port = url.port
  return { ...target, url: url.toString(), displayUrl: displayUrl.toString() }
}
