/**
 * `npm install` must leave package-lock.json unchanged. It rewrites the lock's root entry
 * (`packages[""]`) whenever it no longer mirrors package.json, which is what happened when `bin`
 * and `peerDependencies` were added to package.json alone. This compares the fields npm copies.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { describe, expect, it } from 'vitest'

type Json = Record<string, unknown>

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const read = (file: string): Json => JSON.parse(readFileSync(`${ROOT}${file}`, 'utf8')) as Json

/** The package.json fields npm mirrors into the lock's root entry. */
const MIRRORED = [
  'name',
  'version',
  'license',
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bin',
  'engines',
  'funding',
  'workspaces',
] as const

/** npm stores bin paths without a leading `./`. */
function normalizeBin(bin: unknown): unknown {
  if (typeof bin !== 'object' || bin === null) return bin
  return Object.fromEntries(Object.entries(bin).map(([name, path]) => [name, String(path).replace(/^\.\//, '')]))
}

describe('package-lock.json', () => {
  it('mirrors package.json in its root entry, so npm install does not rewrite it', () => {
    const manifest = read('package.json')
    const lock = read('package-lock.json')
    const root = (lock.packages as Record<string, Json>)['']
    expect(lock.name).toBe(manifest.name)
    expect(lock.version).toBe(manifest.version)
    for (const field of MIRRORED) {
      const expected = field === 'bin' ? normalizeBin(manifest[field]) : manifest[field]
      const actual = field === 'bin' ? normalizeBin(root?.[field]) : root?.[field]
      expect(actual, `packages[""].${field}`).toEqual(expected)
    }
  })
})
