// The home page names the reader's roles in the reader's language: a built-in role from
// the catalogue (管理员 / Administrator), a custom role by the name stored with it, never by
// the raw code. /me names the reader's own roles, so the page reads nothing else and a
// custom role is named for someone who may not read the roles (role.view); when /me is
// read again (a role given while the page is open), the line follows.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import HomeView from '@/views/HomeView.vue'
import type { Me, MyRole } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { useLiveStore } from '@/stores/live'
import { fakeFetch, FakeSocket, mountWith, person, setup, type RecordedCall } from './helpers'

const SLOW = 20_000

const NAMED: Record<string, MyRole> = {
  admin: { code: 'admin', name: '管理员', builtin: true },
  team_leader: { code: 'team_leader', name: '班长', builtin: true },
  agent: { code: 'agent', name: '坐席', builtin: true },
  approver: { code: 'approver', name: '审批人', builtin: false },
  auditor: { code: 'auditor', name: '质检员 / QA', builtin: false },
}

/** Someone holding `roles` as /me answers for them: every role named. */
function holder(roles: string[], permissions: string[] = []): Me {
  return person(permissions, { agent_no: '8001', roles, role_names: roles.map((code) => NAMED[code]!) })
}

let fetches: { calls: RecordedCall[] }
let now: Me

beforeEach(() => {
  now = holder(['approver'])
  fetches = fakeFetch({ 'GET /me': () => ({ body: now }) })
})

afterEach(() => {
  document.body.innerHTML = ''
})

async function rolesLine(me: Me, locale: 'zh-CN' | 'en') {
  const env = await setup(me, locale, '/')
  const wrapper = mountWith(HomeView, env)
  await flushPromises()
  const text = wrapper.find('[data-test="home-roles"]').text()
  wrapper.unmount()
  return text
}

describe("the home page's roles", () => {
  it('names the built-in roles in either language from the catalogue', async () => {
    expect(await rolesLine(holder(['admin', 'team_leader'], ['role.view']), 'zh-CN')).toBe('角色：管理员、班长')
    expect(await rolesLine(holder(['agent', 'team_leader']), 'en')).toBe('Roles: Agent, Team leader')
    expect(fetches.calls).toEqual([])
  }, SLOW)

  it('names a custom role by its stored name, also for someone who may not read the roles', async () => {
    expect(await rolesLine(holder(['admin', 'approver'], ['role.view']), 'en')).toBe('Roles: Administrator, 审批人')
    expect(await rolesLine(holder(['approver'], ['campaign.approve']), 'zh-CN')).toBe('角色：审批人')
    expect(fetches.calls).toEqual([])
  }, SLOW)

  it('shows a code /me does not name as it is, and says when there is no role', async () => {
    const gone = person([], { roles: ['approver', 'retired'], role_names: [NAMED.approver!] })
    expect(await rolesLine(gone, 'zh-CN')).toBe('角色：审批人、retired')
    expect(await rolesLine(holder([]), 'zh-CN')).toBe('角色：无')
  }, SLOW)
})

describe('the auth store and the home page', () => {
  const stops: (() => void)[] = []

  beforeEach(() => {
    FakeSocket.last = null
    vi.stubGlobal('WebSocket', FakeSocket)
  })

  afterEach(() => {
    for (const stop of stops.splice(0)) stop()
  })

  it("keeps /me's role names, and the line follows when a role is given while the page is open", async () => {
    const env = await setup(null, 'en', '/login')
    const auth = useAuthStore()
    await auth.load()
    expect(auth.me?.role_names).toEqual([NAMED.approver])
    await env.router.push('/')
    const wrapper = mountWith(HomeView, env)
    const live = useLiveStore()
    live.start(() => undefined)
    stops.push(() => live.stop())
    await flushPromises()
    expect(wrapper.find('[data-test="home-roles"]').text()).toBe('Roles: 审批人')

    now = holder(['approver', 'auditor'])
    FakeSocket.last!.deliver({ type: 'permissions.changed', data: { agent_no: '8001' } })
    await vi.waitFor(() =>
      expect(wrapper.find('[data-test="home-roles"]').text()).toBe('Roles: 审批人, 质检员 / QA'),
    )
    expect(fetches.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['GET /me', 'GET /me'])
    wrapper.unmount()
  }, SLOW)
})
