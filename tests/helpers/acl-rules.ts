/**
 * The least-privilege ACL line the README documents (section "Least-privilege ACL"), read from
 * README.md itself so a test proves the published rules, and turned into the rules of any
 * namespace.
 */
import { readFileSync } from 'node:fs'

const README = new URL('../../README.md', import.meta.url)
const PREFIX = 'ACL SETUSER app on >secret '

/** The documented line's rules (after `ACL SETUSER app on >secret`), for namespace `app`. */
export function documentedAclRules(): string[] {
  const line = readFileSync(README, 'utf8').split('\n').find((text) => text.startsWith(`${PREFIX}resetkeys`))
  if (line === undefined) throw new Error(`README.md has no line starting with "${PREFIX}resetkeys"`)
  return line.slice(PREFIX.length).trim().split(/\s+/)
}

/** The documented rules with `app` replaced by `namespace` in key and channel patterns. */
export function documentedAclRulesFor(namespace: string): string[] {
  return documentedAclRules().map((rule) => rule.replace(/^([~&])(\{\*\})?app([:#])/, `$1$2${namespace}$3`))
}
