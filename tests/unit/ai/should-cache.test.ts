import { describe, expect, it } from 'vitest'

import { defaultShouldCache, finishReasonOf, usageOf } from '../../../src/ai/index.js'
import { assembleText } from '../../../src/ai/should-cache.js'

describe('defaultShouldCache', () => {
  it.each([
    ['a plain answer', 'Paris.'],
    ['an AI SDK result', { text: 'Paris.', finishReason: 'stop' }],
    ['a provider v3 result', { content: [{ type: 'text', text: 'Paris.' }], finishReason: { unified: 'stop', raw: 'stop' } }],
    ['a tool call', { text: '', toolCalls: [{ toolName: 'search' }], finishReason: 'tool-calls' }],
    ['an Anthropic message', { content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn' }],
    ['an OpenAI completion', { choices: [{ message: { content: 'Hi' }, finish_reason: 'stop' }] }],
    ['a Gemini finish in capitals', { text: 'Hi', finishReason: 'STOP' }],
    ['a shape of your own', { label: 'positive', score: 0.93 }],
    ['a number', 42],
  ])('stores %s', (_what, response) => {
    expect(defaultShouldCache(response)).toBe(true)
  })

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an Error', new Error('x')],
    ['a blank string', ' \n'],
    ['an error field', { text: 'partial', error: 'overloaded' }],
    ['a length finish', { text: 'cut', finishReason: 'length' }],
    ['an Anthropic max_tokens stop', { content: [{ type: 'text', text: 'cut' }], stop_reason: 'max_tokens' }],
    ['an OpenAI content_filter finish', { choices: [{ message: { content: 'x' }, finish_reason: 'content_filter' }] }],
    ['an unknown finish', { text: 'x', finishReason: 'other' }],
    ['empty text', { text: '', finishReason: 'stop' }],
    ['empty content parts', { content: [{ type: 'text', text: '' }], finishReason: { unified: 'stop', raw: undefined } }],
    ['an OpenAI completion without content', { choices: [{ message: { content: null }, finish_reason: 'stop' }] }],
  ])('refuses %s', (_what, response) => {
    expect(defaultShouldCache(response)).toBe(false)
  })
})

describe('response readers', () => {
  it('reads the finish reason of every supported shape', () => {
    expect(finishReasonOf({ finishReason: { unified: 'length', raw: 'max_tokens' } })).toBe('length')
    expect(finishReasonOf({ finish_reason: 'stop' })).toBe('stop')
    expect(finishReasonOf('text')).toBeUndefined()
  })

  it('reads token usage from AI SDK, provider v3, OpenAI and Anthropic shapes', () => {
    expect(usageOf({ usage: { inputTokens: 3, outputTokens: 4 } })).toEqual({ inputTokens: 3, outputTokens: 4 })
    expect(usageOf({ usage: { inputTokens: { total: 3 }, outputTokens: { total: 4 } } })).toEqual({ inputTokens: 3, outputTokens: 4 })
    expect(usageOf({ usage: { prompt_tokens: 3, completion_tokens: 4 } })).toEqual({ inputTokens: 3, outputTokens: 4 })
    expect(usageOf({ usage: { input_tokens: 3, output_tokens: 4 } })).toEqual({ inputTokens: 3, outputTokens: 4 })
    expect(usageOf({ usage: { inputTokens: Number.NaN } })).toEqual({ inputTokens: 0, outputTokens: 0 })
    expect(usageOf('text')).toEqual({ inputTokens: 0, outputTokens: 0 })
  })

  it('assembles string chunks and text fields of object chunks', () => {
    expect(assembleText(['a', { delta: 'b' }, { text: 'c' }, { textDelta: 'd' }, { other: 1 }])).toEqual({ text: 'abcd' })
  })
})
