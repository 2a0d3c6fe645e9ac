/**
 * Runs around every test file (vitest `setupFiles`): records everything the file writes to
 * stdout and stderr (console output included) and, after the file, fails it when a secret that
 * one of its tests registered (tests/helpers/secrets.ts) appears in that output.
 */
import { afterAll, beforeAll } from 'vitest'
import { secretsIn } from '../helpers/secrets.js'

const printed: string[] = []
const streams = [process.stdout, process.stderr] as const
const originals = streams.map((stream) => stream.write.bind(stream))
const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const
const originalConsole = consoleMethods.map((name) => console[name].bind(console))

function record(chunk: unknown): void {
  if (typeof chunk === 'string') printed.push(chunk)
  else if (chunk instanceof Uint8Array) printed.push(Buffer.from(chunk).toString('utf8'))
}

beforeAll(() => {
  streams.forEach((stream, i) => {
    const write = originals[i]!
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      record(chunk)
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest)
    })
  })
  consoleMethods.forEach((name, i) => {
    const original = originalConsole[i]!
    console[name] = (...args: unknown[]) => {
      for (const arg of args) record(typeof arg === 'string' ? arg : safeString(arg))
      original(...args)
    }
  })
})

afterAll(() => {
  streams.forEach((stream, i) => (stream.write = originals[i]!))
  consoleMethods.forEach((name, i) => (console[name] = originalConsole[i]!))
  const leaked = secretsIn(printed.join('\n'))
  printed.length = 0
  if (leaked.length > 0) throw new Error(`secrets appeared in this file's output: ${leaked.join(', ')}`)
})

function safeString(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
