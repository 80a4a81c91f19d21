// The permission matrix: ticking one box sends the role's codes with exactly that one
// code added (or removed); the built-in admin role cannot be changed.

import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import RolesView from '@/views/admin/RolesView.vue'
import type { Permission, Role } from '@/api/types'
import { fakeFetch, mountWith, person, setup, type RecordedCall } from './helpers'

const catalogue: Permission[] = [
  { code: 'agent.view', menu: 'agents', zh: '查看坐席', en: 'View agents' },
  { code: 'agent.create', menu: 'agents', zh: '新增坐席', en: 'Create agent' },
  { code: 'audit.view', menu: 'audit', zh: '查看审计日志', en: 'View audit trail' },
]

function roles(): Role[] {
  return [
    { id: 1, code: 'admin', name: '管理员', description: '', builtin: true, permissions: ['agent.view', 'agent.create', 'audit.view'] },
    { id: 7, code: 'qa', name: '质检', description: '', builtin: false, permissions: ['agent.view'] },
  ]
}

function serve() {
  return fakeFetch({
    'GET /permissions': { body: catalogue },
    'GET /roles': { body: roles() },
    'PATCH /roles/7': (call: RecordedCall) => ({
      body: { ...roles()[1], permissions: (call.body as { permissions: string[] }).permissions },
    }),
  })
}

const ADMIN_UI = ['role.view', 'role.update', 'role.create', 'role.delete', 'agent.view', 'agent.create', 'audit.view']

function box(wrapper: ReturnType<typeof mountWith>, role: string, code: string) {
  return wrapper.find(`[data-test="perm-${role}-${code}"] input[type="checkbox"]`)
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the permission matrix', () => {
  it('groups the catalogue buttons by menu, one column per role', async () => {
    serve()
    const wrapper = mountWith(RolesView, await setup(person(ADMIN_UI)))
    await flushPromises()
    const text = wrapper.find('[data-test="permission-matrix"]').text()
    expect(text).toContain('坐席管理')
    expect(text).toContain('审计')
    expect(text).toContain('新增坐席')
    expect(box(wrapper, 'qa', 'agent.view').element).toHaveProperty('checked', true)
    expect(box(wrapper, 'qa', 'agent.create').element).toHaveProperty('checked', false)
  })

  it('ticking a box grants exactly that code with PATCH /roles/{id}', async () => {
    const { calls } = serve()
    const wrapper = mountWith(RolesView, await setup(person(ADMIN_UI)))
    await flushPromises()

    await box(wrapper, 'qa', 'agent.create').setValue(true)
    await flushPromises()

    const patches = calls.filter((c) => c.method === 'PATCH')
    expect(patches).toHaveLength(1)
    expect(patches[0]!.path).toBe('/roles/7')
    expect(patches[0]!.body).toEqual({ permissions: ['agent.create', 'agent.view'] })
    expect(patches[0]!.headers['Content-Type']).toBe('application/json')
    expect(patches[0]!.headers['Accept-Language']).toBe('zh-CN')
    expect(box(wrapper, 'qa', 'agent.create').element).toHaveProperty('checked', true)
  })

  it('unticking a box revokes exactly that code', async () => {
    const { calls } = serve()
    const wrapper = mountWith(RolesView, await setup(person(ADMIN_UI), 'en'))
    await flushPromises()

    await box(wrapper, 'qa', 'agent.view').setValue(false)
    await flushPromises()

    const patch = calls.find((c) => c.method === 'PATCH')
    expect(patch?.body).toEqual({ permissions: [] })
    expect(patch?.headers['Accept-Language']).toBe('en')
  })

  it('keeps the built-in admin role read-only', async () => {
    const { calls } = serve()
    const wrapper = mountWith(RolesView, await setup(person(ADMIN_UI)))
    await flushPromises()
    const input = box(wrapper, 'admin', 'agent.view')
    expect(input.element).toHaveProperty('disabled', true)
    expect(input.element).toHaveProperty('checked', true)
    await input.trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([])
  })

  it('is read-only, without create or delete, for someone who may only look', async () => {
    serve()
    const wrapper = mountWith(RolesView, await setup(person(['role.view'])))
    await flushPromises()
    expect(box(wrapper, 'qa', 'agent.create').element).toHaveProperty('disabled', true)
    expect(wrapper.find('[data-test="role-create"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="role-delete-qa"]').exists()).toBe(false)
  })
})
