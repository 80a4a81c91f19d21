// What the component tests share: a fake fetch that answers by method and path and
// records every call, and a mount with the app's plugins and a chosen set of permissions.

import { vi } from 'vitest'
import { mount, type ComponentMountingOptions } from '@vue/test-utils'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import ElementPlus from 'element-plus'
import { createMemoryHistory, type Router } from 'vue-router'
import type { Component } from 'vue'
import { configureHttp } from '@/api/http'
import { createAppI18n, type Locale } from '@/i18n'
import { createAppRouter } from '@/router'
import { useAuthStore } from '@/stores/auth'
import type { Me } from '@/api/types'

export interface Answer {
  status?: number
  body?: unknown
}

export interface RecordedCall {
  method: string
  path: string
  search: string // the query string, "?a=1" or ""
  body: unknown
  headers: Record<string, string>
}

type Handler = (call: RecordedCall) => Answer

/** Install a fake `fetch`; routes are keyed "METHOD /path" (path without /api/v1 and query). */
export function fakeFetch(routes: Record<string, Answer | Handler>) {
  const calls: RecordedCall[] = []
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://ui.test')
    const path = url.pathname.replace(/^\/api\/v1/, '')
    const method = (init.method ?? 'GET').toUpperCase()
    const call: RecordedCall = {
      method,
      path,
      search: url.search,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      headers: { ...(init.headers as Record<string, string>) },
    }
    calls.push(call)
    const route = routes[`${method} ${path}`]
    const answer: Answer = route
      ? typeof route === 'function'
        ? route(call)
        : route
      : { status: 404, body: { error: 'not-found', message: `no fake for ${method} ${path}`, details: {} } }
    const status = answer.status ?? 200
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? null), {
      status,
      headers: { 'Content-Type': 'application/json' },
    })
  })
  vi.stubGlobal('fetch', fetchMock)
  return { calls, fetchMock }
}

export function person(permissions: string[], overrides: Partial<Me> = {}): Me {
  return { id: 1, agent_no: 'admin', name: '管理员', roles: ['custom'], permissions, role_names: [], ...overrides }
}

export interface Setup {
  pinia: Pinia
  router: Router
  i18n: ReturnType<typeof createAppI18n>
}

/** Pinia, i18n, a memory router and Element Plus, with `me` logged in (or not, if null). */
export async function setup(me: Me | null, locale: Locale = 'zh-CN', path = '/'): Promise<Setup> {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.me = me
  auth.checked = true
  const i18n = createAppI18n(locale)
  configureHttp({ language: () => i18n.global.locale.value, onUnauthorized: () => undefined })
  const router = createAppRouter(pinia, createMemoryHistory())
  await router.push(path)
  await router.isReady()
  return { pinia, router, i18n }
}

export function mountWith<C extends Component>(
  component: C,
  { pinia, router, i18n }: Setup,
  options: ComponentMountingOptions<C> = {},
) {
  return mount(component, {
    attachTo: document.body,
    ...options,
    global: { plugins: [pinia, i18n, router, ElementPlus], ...(options.global ?? {}) },
  } as ComponentMountingOptions<C>)
}

/** A WebSocket the live store opens in tests: `FakeSocket.last.deliver(event)` plays a
 * server event to it. */
export class FakeSocket {
  static last: FakeSocket | null = null
  onopen: ((ev: Event) => unknown) | null = null
  onmessage: ((ev: MessageEvent) => unknown) | null = null
  onclose: ((ev: CloseEvent) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  readyState = 1
  constructor() {
    FakeSocket.last = this
  }
  send(): void {}
  close(): void {}
  deliver(event: object): void {
    this.onmessage?.({ data: JSON.stringify(event) } as MessageEvent)
  }
}
