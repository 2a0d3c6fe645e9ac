/**
 * The list of what the cache sends is held to the code: every command every Lua script of
 * `src/stores/scripts/` calls is in the table (as read from the script bodies), every command the
 * stores send with `sendCommand` is in it, and the README's least-privilege line is exactly
 * `leastPrivilegeRules({ namespace: 'app' })`. Refusal messages name the command and the rule.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { leastPrivilegeRules, requiredPermissions } from '../../../src/index.js'
import { aclRefusalFix, CACHE_SCRIPTS, scriptCalls, scriptCommands } from '../../../src/security/required-permissions.js'
import { connectionFix } from '../../../src/security/connection-fix.js'
import { documentedAclRules } from '../../helpers/acl-rules.js'

const STORES = new URL('../../../src/stores/', import.meta.url)

describe('required permissions', () => {
  it('the README documents exactly leastPrivilegeRules() for namespace app', () => {
    expect(documentedAclRules()).toEqual(leastPrivilegeRules({ namespace: 'app' }))
  })

  it('lists, for every script, the commands its body calls', () => {
    const names = { entry: 'n:k', state: 'n#tags', index: 'n#tag:t', mark: 'n#gone:k', clusterMark: '{k}n#gone:k', lock: 'n#lock:k', channel: 'n#lock-released' }
    const table = scriptCalls(names, true)
    const files = readdirSync(new URL('scripts/', STORES)).filter((f) => f.endsWith('.ts') && !['lua-script.ts', 'entry-lua.ts'].includes(f))
    // Every script file of the stores is in the table (a new script must be added to it).
    expect(table.length).toBe(files.length)
    expect(Object.keys(CACHE_SCRIPTS).length).toBe(files.length)
    // A body may define helpers it does not call (ENTRY_LUA's), so: every command a body names is
    // granted, and the table lists no command a body does not name.
    const granted = new Set(table.flatMap(({ calls }) => calls.map((call) => call[0])))
    for (const { name, script, calls } of table) {
      const named = scriptCommands(script)
      for (const command of named) expect(granted, `${name} ${command}`).toContain(command)
      for (const call of calls) expect(named, `${name} ${call[0]}`).toContain(call[0])
    }
  })

  it('covers every command the stores send with sendCommand', () => {
    const required = new Set(requiredPermissions({ namespace: 'n', cluster: true }).map((p) => p.command))
    const sources = ['redis-store.ts', 'redis-cluster-store.ts', 'redis-tracking.ts', 'cluster-tracking.ts', 'redis-subscriber.ts'].map((f) => readFileSync(new URL(f, STORES), 'utf8'))
    const sent = new Set<string>()
    for (const text of sources) {
      for (const match of text.matchAll(/sendCommand\(\[\s*'([A-Z]+)'(?:,\s*'([A-Z]+)')?/g)) {
        const [, command = '', sub] = match
        sent.add(['CLIENT', 'SCRIPT', 'CLUSTER'].includes(command) && sub !== undefined ? `${command}|${sub}`.toLowerCase() : command.toLowerCase())
      }
    }
    // EVALSHA and EVAL are sent by runScript (lua-script.ts).
    expect(sent.size).toBeGreaterThanOrEqual(3)
    for (const command of [...sent, 'evalsha', 'eval']) expect(required, command).toContain(command)
  })

  it('adds SELECT for another database and the cluster parts on a cluster', () => {
    const plain = requiredPermissions({ namespace: 'n' }).map((p) => p.command)
    expect(plain).not.toContain('select')
    expect(plain).not.toContain('cluster|slots')
    expect(requiredPermissions({ namespace: 'n', database: 2 }).map((p) => p.command)).toContain('select')
    expect(leastPrivilegeRules({ namespace: 'n', cluster: true })).toEqual(expect.arrayContaining(['~{*}n#gone:*', '+cluster|slots']))
    expect(leastPrivilegeRules({ namespace: 'a*b' })).toContain('~a\\*b:*')
  })

  it('names the command, the script or the channel of a refusal and the rule to add', () => {
    expect(aclRefusalFix("NOPERM this user has no permissions to run the 'set' command", { namespace: 'app' })).toMatch(/^the Redis user may not run SET: add \+set/)
    expect(aclRefusalFix('NOPERM this user has no permissions to access one of the keys used as arguments', { namespace: 'app' })).toMatch(/~app:\* ~app#tags/)
    expect(aclRefusalFix('NOPERM this user has no permissions to access one of the channels used as arguments', { namespace: 'app' })).toMatch(/&app#lock-released/)
    const script = `ERR The user executing the script can't run this command or subcommand script: ${CACHE_SCRIPTS.RELEASE_LOCK!.sha}, on @user_script:1.`
    expect(aclRefusalFix(script, { namespace: 'app' })).toMatch(/the script RELEASE_LOCK .*GET, DEL, PUBLISH.*\+get \+del \+publish/)
    expect(aclRefusalFix(`ERR The user executing the script can't publish to the channel mentioned in the command script: ${CACHE_SCRIPTS.RELEASE_LOCK!.sha}`, { namespace: 'app' })).toMatch(/&app#lock-released/)
    expect(aclRefusalFix('WRONGTYPE Operation against a key holding the wrong kind of value')).toBeUndefined()
  })

  it('says what to change for each kind of refused connection', () => {
    expect(connectionFix({ code: 'WRONGPASS', message: 'WRONGPASS invalid username-password pair' })).toMatch(/aclPassword/)
    expect(connectionFix({ code: 'CERT_HAS_EXPIRED' })).toMatch(/expired/)
    expect(connectionFix({ code: 'SELF_SIGNED_CERT_IN_CHAIN' })).toMatch(/tlsCaPath/)
    expect(connectionFix({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).toMatch(/servername/)
    expect(connectionFix({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' })).toMatch(/tlsCertPath/)
    expect(connectionFix({ code: 'ECONNRESET' })).toMatch(/useTls/)
    expect(connectionFix({ code: 'ECONNREFUSED' })).toMatch(/host and port/)
    expect(connectionFix(new Error('something else'))).toBeUndefined()
  })
})
