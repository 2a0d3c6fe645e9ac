import { describe, expect, it } from 'vitest'
import { escapeGlob, globToRegExp } from '../../../src/shared/key.js'

describe('globToRegExp (Redis glob semantics)', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['user:*', ['user:', 'user:1', 'user:1:2', 'user:a/b'], ['users:1', 'xuser:1']],
    ['user:?', ['user:1', 'user:x'], ['user:', 'user:10']],
    ['[ab]c', ['ac', 'bc'], ['cc', 'abc']],
    ['[^a]c', ['bc', 'zc'], ['ac']],
    ['[a-c]x', ['ax', 'bx', 'cx'], ['dx']],
    ['a\\*b', ['a*b'], ['axb', 'ab']],
    ['a.b+(c)', ['a.b+(c)'], ['aXb+(c)', 'a.bb(c)']],
    ['[', ['['], ['a']],
  ]
  for (const [glob, matching, other] of cases) {
    it(`"${glob}" matches ${matching.join(', ')} and not ${other.join(', ')}`, () => {
      const regex = globToRegExp(glob)
      for (const key of matching) expect(regex.test(key)).toBe(true)
      for (const key of other) expect(regex.test(key)).toBe(false)
    })
  }

  it('escapeGlob makes every glob character literal', () => {
    const text = 'a*b?c[d]e\\f'
    const regex = globToRegExp(escapeGlob(text))
    expect(regex.test(text)).toBe(true)
    expect(regex.test('aXbYc[d]e\\f')).toBe(false)
  })
})
