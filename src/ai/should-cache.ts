/**
 * The default rule for what may be stored, and the readers of the response fields it uses.
 * An answer that is stored is replayed to every later identical request, so the rule refuses
 * whatever would replay a failure as a success.
 */
import type { AIResponseShape } from './ai-types.js'

/**
 * Finish reasons of a complete answer, lower-cased: OpenAI (`stop`, `tool_calls`), AI SDK
 * (`stop`, `tool-calls`), Anthropic (`end_turn`, `stop_sequence`, `tool_use`), Gemini (`STOP`).
 * Everything else (`length`, `content-filter`, `error`, `other`, `max_tokens`…) is a truncated
 * or failed answer.
 */
export const NORMAL_FINISH_REASONS: ReadonlySet<string> = new Set([
  'stop',
  'end_turn',
  'stop_sequence',
  'tool-calls',
  'tool_calls',
  'tool_use',
])

/**
 * The default `shouldCache` rule. Refuses: `null`/`undefined`, `Error` objects, objects with an
 * `error`, a finish reason that is not a normal finish, and empty output (a blank string, or
 * `text`/`content`/`toolCalls`/`choices` fields that are all empty). Accepts anything else,
 * including shapes it does not know (judged by `error` and finish reason only).
 */
export function defaultShouldCache(response: unknown): boolean {
  if (response === undefined || response === null || response instanceof Error) return false
  if (typeof response === 'string') return response.trim() !== ''
  if (typeof response !== 'object') return true
  const shape = response as AIResponseShape & Record<string, unknown>
  if (shape.error !== undefined && shape.error !== null) return false
  const finish = finishReasonOf(shape)
  if (finish !== undefined && !NORMAL_FINISH_REASONS.has(finish.toLowerCase())) return false
  const outputs = [shape.text, shape.content, shape.toolCalls, shape.choices].filter((o) => o !== undefined)
  // A shape without any known output field is someone's own format: trust it.
  return outputs.length === 0 || outputs.some(hasOutput)
}

/** The finish reason of a response, whichever SDK shape it has; `undefined` when it has none. */
export function finishReasonOf(response: unknown): string | undefined {
  if (typeof response !== 'object' || response === null) return undefined
  const r = response as Record<string, unknown>
  const first = Array.isArray(r.choices) ? (r.choices[0] as Record<string, unknown> | undefined) : undefined
  const reason = r.finishReason ?? r.finish_reason ?? r.stop_reason ?? first?.finish_reason
  if (typeof reason === 'string') return reason
  if (typeof reason === 'object' && reason !== null && typeof (reason as { unified?: unknown }).unified === 'string') {
    return (reason as { unified: string }).unified
  }
  return undefined
}

/** Input and output token counts of a response (0 when it reports none). */
export function usageOf(response: unknown): { inputTokens: number; outputTokens: number } {
  const usage = typeof response === 'object' && response !== null ? (response as { usage?: unknown }).usage : undefined
  if (typeof usage !== 'object' || usage === null) return { inputTokens: 0, outputTokens: 0 }
  const u = usage as Record<string, unknown>
  return {
    inputTokens: tokens(u.inputTokens ?? u.promptTokens ?? u.prompt_tokens ?? u.input_tokens),
    outputTokens: tokens(u.outputTokens ?? u.completionTokens ?? u.completion_tokens ?? u.output_tokens),
  }
}

/**
 * The default `assemble` of streams: string chunks, or the `text`/`delta`/`textDelta` string
 * field of object chunks, joined into `{ text }`.
 */
export function assembleText(chunks: readonly unknown[]): { text: string } {
  let text = ''
  for (const chunk of chunks) {
    if (typeof chunk === 'string') text += chunk
    else if (typeof chunk === 'object' && chunk !== null) {
      const c = chunk as Record<string, unknown>
      const piece = c.text ?? c.delta ?? c.textDelta
      if (typeof piece === 'string') text += piece
    }
  }
  return { text }
}

function hasOutput(output: unknown): boolean {
  if (output === null || output === undefined) return false
  if (typeof output === 'string') return output.trim() !== ''
  if (Array.isArray(output)) return output.some(hasOutput)
  if (typeof output !== 'object') return true
  // A content part or choice: text parts must hold text; tool calls and files count as output.
  const part = output as Record<string, unknown>
  if (part.type === 'text' || part.type === 'reasoning') return typeof part.text === 'string' && part.text.trim() !== ''
  if (typeof part.message === 'object' && part.message !== null) {
    const message = part.message as Record<string, unknown>
    return hasOutput(message.content ?? null) || hasOutput(message.tool_calls ?? null)
  }
  return true
}

/** A token count from a number or an AI SDK v3 `{ total }` object. */
function tokens(value: unknown): number {
  const n = typeof value === 'object' && value !== null ? (value as { total?: unknown }).total : value
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0
}
