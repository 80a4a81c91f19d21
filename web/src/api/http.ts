// One way to call the REST API: JSON in and out, the session cookie, the user's
// language in Accept-Language, and errors as ApiError carrying the server's message.

import type { ApiErrorBody } from './types'

export const API_BASE = '/api/v1'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, body: ApiErrorBody) {
    super(body.message)
    this.name = 'ApiError'
    this.status = status
    this.code = body.error
    this.details = body.details
  }
}

type Query = Record<string, string | number | boolean | undefined | null>

interface Hooks {
  language: () => string
  onUnauthorized: (path: string) => void
}

const hooks: Hooks = {
  language: () => 'zh-CN',
  onUnauthorized: () => undefined,
}

/** Wired once at start-up (main.ts): where the language comes from, what a 401 does. */
export function configureHttp(next: Partial<Hooks>): void {
  Object.assign(hooks, next)
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Query,
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': hooks.language(),
  }
  const init: RequestInit = { method, headers, credentials: 'same-origin' }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const response = await fetch(`${API_BASE}${withQuery(path, query)}`, init)
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = undefined
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
  }
  if (!response.ok) {
    const errorBody = isErrorBody(parsed)
      ? parsed
      : { error: 'http-error', message: `HTTP ${response.status}`, details: {} }
    if (response.status === 401) hooks.onUnauthorized(path)
    throw new ApiError(response.status, errorBody)
  }
  return parsed as T
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiErrorBody).error === 'string' &&
    typeof (value as ApiErrorBody).message === 'string'
  )
}

export const http = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
}
