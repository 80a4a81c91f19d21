// can(code) decides what is shown: without the permission a menu entry or a button is
// not in the page at all (hidden, not disabled).

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { setActivePinia, createPinia } from 'pinia'
import { useAuthStore } from '@/stores/auth'
import AgentsView from '@/views/admin/AgentsView.vue'
import AppLayout from '@/layouts/AppLayout.vue'
import type { Agent } from '@/api/types'
import { fakeFetch, mountWith, person, setup } from './helpers'

const AGENT_BUTTONS = {
  'agent.create': 'agent-create',
  'agent.update': 'agent-edit',
  'agent.assign_roles': 'agent-roles',
  'agent.reset_password': 'agent-password',
  'agent.unlock': 'agent-unlock',
  'agent.delete': 'agent-delete',
} as const

const lockedAgent: Agent = {
  id: 3,
  agent_no: '1001',
  name: '坐席一',
  enabled: true,
  roles: ['agent'],
  locked_until: new Date(Date.now() + 600_000).toISOString(),
  last_login_at: null,
  created_at: '2026-11-25T08:00:00Z',
  updated_at: '2026-11-25T08:00:00Z',
}

class SilentSocket {
  onopen = null
  onmessage = null
  onclose = null
  onerror = null
  readyState = 0
  send(): void {}
  close(): void {}
}

beforeEach(() => {
  vi.stubGlobal('WebSocket', SilentSocket)
  fakeFetch({
    'GET /agents': { body: { items: [lockedAgent], total: 1 } },
    'GET /roles': { body: [{ id: 3, code: 'agent', name: '坐席', description: '', builtin: true, permissions: [] }] },
  })
})

afterEach(() => {
  document.body.innerHTML = ''
})

describe('can()', () => {
  it('answers from the permissions of /me, and no for nobody', () => {
    setActivePinia(createPinia())
    const auth = useAuthStore()
    expect(auth.can('agent.view')).toBe(false)
    auth.me = person(['agent.view', 'group.view'])
    expect(auth.can('agent.view')).toBe(true)
    expect(auth.can('agent.delete')).toBe(false)
    expect(auth.canAny(['agent.delete', 'group.view'])).toBe(true)
  })
})

describe('the Agents screen', () => {
  it('shows no action button to someone who may only look', async () => {
    const wrapper = mountWith(AgentsView, await setup(person(['agent.view'])))
    await flushPromises()
    expect(wrapper.text()).toContain('坐席一')
    for (const testId of Object.values(AGENT_BUTTONS)) {
      expect(wrapper.find(`[data-test="${testId}"]`).exists(), testId).toBe(false)
    }
  })

  it('shows each button exactly when its code is held', async () => {
    for (const [code, testId] of Object.entries(AGENT_BUTTONS)) {
      const wrapper = mountWith(AgentsView, await setup(person(['agent.view', 'role.view', code])))
      await flushPromises()
      const shown = Object.values(AGENT_BUTTONS).filter((id) => wrapper.find(`[data-test="${id}"]`).exists())
      expect(shown, code).toEqual([testId])
      wrapper.unmount()
    }
  }, 20_000) // six mounts: slow on a busy machine
})

describe('the side menu', () => {
  it('lists only the screens the person may open', async () => {
    const wrapper = mountWith(AppLayout, await setup(person(['group.view', 'audit.view'])))
    await flushPromises()
    expect(wrapper.find('[data-test="menu-home"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="menu-groups"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="menu-audit"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="menu-agents"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="menu-roles"]').exists()).toBe(false)
  })

  it('has no administration section for an agent', async () => {
    const wrapper = mountWith(AppLayout, await setup(person(['call.answer', 'call.dial'])))
    await flushPromises()
    expect(wrapper.text()).not.toContain('系统管理')
  })

  it('sends someone without the permission from a screen back home', async () => {
    const env = await setup(person(['group.view']))
    await env.router.push('/admin/agents')
    expect(env.router.currentRoute.value.name).toBe('home')
    await env.router.push('/admin/groups')
    expect(env.router.currentRoute.value.name).toBe('groups')
  })
})
