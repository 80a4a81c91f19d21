// The home page names the reader's roles in the reader's language: a built-in role from
// the catalogue (管理员 / Administrator), a custom role by the name stored with it (read
// from /roles by a holder of role.view), never by the raw code; someone who may not read
// the roles sees a custom role's code.

import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import HomeView from '@/views/HomeView.vue'
import type { Role } from '@/api/types'
import { fakeFetch, mountWith, person, setup } from './helpers'

const SLOW = 20_000

const ROLES: Role[] = [
  { id: 1, code: 'admin', name: '管理员', description: '', builtin: true, permissions: [] },
  { id: 4, code: 'approver', name: '审批人', description: '', builtin: false, permissions: [] },
]

afterEach(() => {
  document.body.innerHTML = ''
})

async function rolesLine(roles: string[], permissions: string[], locale: 'zh-CN' | 'en') {
  const fetches = fakeFetch({ 'GET /roles': { body: ROLES } })
  const env = await setup(person(permissions, { roles }), locale, '/')
  const wrapper = mountWith(HomeView, env)
  await flushPromises()
  const text = wrapper.find('[data-test="home-roles"]').text()
  wrapper.unmount()
  return { text, rolesRead: fetches.calls.filter((c) => c.path === '/roles').length }
}

describe("the home page's roles", () => {
  it('names the built-in roles in either language without reading the roles', async () => {
    expect(await rolesLine(['admin', 'team_leader'], ['role.view'], 'zh-CN')).toEqual({
      text: '角色：管理员、班长',
      rolesRead: 0,
    })
    expect(await rolesLine(['agent', 'team_leader'], [], 'en')).toEqual({
      text: 'Roles: Agent, Team leader',
      rolesRead: 0,
    })
  }, SLOW)

  it('names a custom role by its stored name for a holder of role.view, else by its code', async () => {
    expect(await rolesLine(['admin', 'approver'], ['role.view'], 'en')).toEqual({
      text: 'Roles: Administrator, 审批人',
      rolesRead: 1,
    })
    expect(await rolesLine(['approver'], ['campaign.approve'], 'zh-CN')).toEqual({
      text: '角色：approver',
      rolesRead: 0,
    })
    expect((await rolesLine([], [], 'zh-CN')).text).toBe('角色：无')
  }, SLOW)
})
