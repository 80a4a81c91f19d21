// Who is logged in and what they may do. `can(code)` is the one question the UI asks
// before showing a menu entry or a button (hidden, not disabled, when the answer is no).

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api'
import { ApiError } from '@/api/http'
import type { Me } from '@/api/types'

export const useAuthStore = defineStore('auth', () => {
  const me = ref<Me | null>(null)
  const checked = ref(false)
  const permissions = computed(() => new Set(me.value?.permissions ?? []))

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

  return { me, checked, permissions, can, canAny, load, login, logout, clear }
})
