// Who is logged in and what they may do. `can(code)` is the one question the UI asks
// before showing a menu entry or a button (hidden, not disabled, when the answer is no).
//
// Permissions change while a page is open: the server says `permissions.changed` (naming
// a role or a person) when an administrator changes what a role grants or whom it is
// given, and the store reads /me again when the event concerns us, so a button taken
// away disappears without a reload. A (re)connected live stream (`hello`) also reads /me:
// what changed while the connection was down is not missed. The API refuses either way.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api'
import { ApiError } from '@/api/http'
import type { Me } from '@/api/types'
import { useLiveStore } from '@/stores/live'
import type { LiveEvent } from '@/ws/events'

export const PERMISSIONS_CHANGED = 'permissions.changed'

/** Whether a live event may change what `me` may do. */
export function concernsMe(event: LiveEvent, me: Me | null): boolean {
  if (!me) return false
  if (event.type === 'hello') return true
  if (event.type !== PERMISSIONS_CHANGED) return false
  const role = event.data?.role
  const agentNo = event.data?.agent_no
  if (typeof role === 'string' && role) return me.roles.includes(role)
  if (typeof agentNo === 'string' && agentNo) return agentNo === me.agent_no
  return true // names no one in particular: read again to be safe
}

export const useAuthStore = defineStore('auth', () => {
  const me = ref<Me | null>(null)
  const checked = ref(false)
  const permissions = computed(() => new Set(me.value?.permissions ?? []))
  let inFlight: Promise<void> | null = null
  let again = false

  function can(code: string): boolean {
    return permissions.value.has(code)
  }

  function canAny(codes: readonly string[]): boolean {
    return codes.some(can)
  }

  /** Ask the server who we are (the session cookie is HTTP-only, so this is the only way). */
  async function load(): Promise<void> {
    try {
      me.value = await authApi.me()
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) me.value = null
      else throw error
    } finally {
      checked.value = true
    }
  }

  /** Read /me again; calls during a read coalesce into one more read after it. */
  async function reload(): Promise<void> {
    if (inFlight) {
      again = true
      return inFlight
    }
    inFlight = (async () => {
      try {
        do {
          again = false
          await load()
        } while (again)
      } finally {
        inFlight = null
      }
    })()
    return inFlight
  }

  /** What a live event means for our permissions. */
  function onEvent(event: LiveEvent): void {
    if (concernsMe(event, me.value)) void reload().catch(() => undefined)
  }

  async function login(agentNo: string, password: string): Promise<void> {
    await authApi.login(agentNo, password)
    await load()
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout()
    } finally {
      clear()
    }
  }

  function clear(): void {
    me.value = null
    checked.value = true
  }

  useLiveStore().subscribe(onEvent)

  return { me, checked, permissions, can, canAny, load, reload, onEvent, login, logout, clear }
})
