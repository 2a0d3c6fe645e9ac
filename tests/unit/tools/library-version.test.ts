import { readFileSync } from 'node:fs'

import { describe, expect, it } from 'vitest'

import { LIBRARY_VERSION } from '../../../src/tools/library-version.js'

describe('LIBRARY_VERSION', () => {
  it('is the version in package.json, so backup headers name the version that wrote them', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(LIBRARY_VERSION).toBe(pkg.version)
  })
})
