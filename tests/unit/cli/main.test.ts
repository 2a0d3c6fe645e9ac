import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { run } from '../../../src/cli/main.js'
import { captureIo } from '../../helpers/cli-io.js'

const capture = captureIo

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }

describe('strata (in-process)', () => {
  it('prints the package version with --version and exits 0', async () => {
    const io = capture()
    expect(await run(['--version'], io)).toBe(0)
    expect(io.out.trim()).toBe(pkg.version)
  })

  it('documents every stats option and its defaults in --help', async () => {
    const io = capture()
    expect(await run(['stats', '--help'], io)).toBe(0)
    for (const text of ['--url <url>', '$REDIS_URL', '--namespace <ns>', '"strata"', '--timeout <duration>', '"2s"', '--json', 'server-wide']) {
      expect(io.out).toContain(text)
    }
  })

  it('exits 2 with the coded error listing every invalid option, before connecting', async () => {
    const io = capture()
    const code = await run(['stats', '--namespace', 'a:b', '--timeout', 'soon', '--url', 'redis://127.0.0.1:1'], io)
    expect(code).toBe(2)
    expect(io.err).toContain('E_INVALID_OPTIONS')
    expect(io.err).toContain('--namespace')
    expect(io.err).toContain('--timeout')
    expect(io.err).not.toContain('cannot connect')
    expect(io.out).toBe('')
  })

  it('never prints the password of an invalid URL', async () => {
    const io = capture()
    expect(await run(['stats', '--url', 'redis://u:hunter2@cache:99999999'], io)).toBe(2)
    expect(io.err).toContain('--url')
    expect(io.err).not.toContain('hunter2')
  })

  it('exits 2 on an unknown option, an unknown command or no command', async () => {
    for (const argv of [['stats', '--bogus'], ['nope'], []]) {
      const io = capture()
      expect(await run(argv, io)).toBe(2)
      expect(io.err).not.toBe('')
    }
  })

  it('exits 2 when an option is missing its value', async () => {
    const io = capture()
    expect(await run(['stats', '--url'], io)).toBe(2)
    expect(io.err).toMatch(/argument missing/)
  })
})
