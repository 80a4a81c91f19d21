// Log-in: the server's refusal is shown as it was worded (in the user's language); a
// success asks /me who we are and goes where the person was heading. (The required-field
// check runs in real Chromium: e2e/smoke.mjs.)

import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import LoginView from '@/views/LoginView.vue'
import { fakeFetch, mountWith, person, setup } from './helpers'

const LOCKED_ZH = '登录失败次数过多，账号已锁定至 2026-11-25T19:35:51+00:00'
const LOCKED_EN = 'too many failed logins: the account is locked until 2026-11-25T19:35:51+00:00'

async function fillAndSubmit(wrapper: ReturnType<typeof mountWith>, agentNo: string, password: string) {
  await wrapper.find('input[name="agent_no"]').setValue(agentNo)
  await wrapper.find('input[name="password"]').setValue(password)
  await wrapper.find('form').trigger('submit')
  await flushPromises()
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the log-in screen', () => {
  it('shows the lock-out message from the API', async () => {
    const { calls } = fakeFetch({
      'POST /auth/login': ({ headers }) => ({
        status: 423,
        body: {
          error: 'account-locked',
          message: headers['Accept-Language'] === 'en' ? LOCKED_EN : LOCKED_ZH,
          details: { locked_until: '2026-11-25T19:35:51+00:00' },
        },
      }),
    })
    const wrapper = mountWith(LoginView, await setup(null, 'zh-CN', '/login'))
    await fillAndSubmit(wrapper, '1002', 'wrong-password')

    expect(wrapper.find('[data-test="login-error"]').text()).toContain('账号已锁定至')
    expect(wrapper.find('[data-test="login-error"]').text()).toContain(LOCKED_ZH)
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/auth/login',
      body: { agent_no: '1002', password: 'wrong-password' },
    })
    expect(calls[0]!.headers['Accept-Language']).toBe('zh-CN')
    expect((wrapper.find('input[name="password"]').element as HTMLInputElement).value).toBe('')
  })

  it('asks for the message in English when the UI speaks English', async () => {
    fakeFetch({
      'POST /auth/login': ({ headers }) => ({
        status: 423,
        body: { error: 'account-locked', message: headers['Accept-Language'] === 'en' ? LOCKED_EN : LOCKED_ZH, details: {} },
      }),
    })
    const wrapper = mountWith(LoginView, await setup(null, 'en', '/login'))
    await fillAndSubmit(wrapper, '1002', 'wrong-password')
    expect(wrapper.find('[data-test="login-error"]').text()).toContain(LOCKED_EN)
  })

  it('says so when the server cannot be reached', async () => {
    const env = await setup(null, 'zh-CN', '/login')
    globalThis.fetch = (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch
    const wrapper = mountWith(LoginView, env)
    await fillAndSubmit(wrapper, 'admin', 'secret-password')
    expect(wrapper.find('[data-test="login-error"]').text()).toContain('无法连接服务器')
  })

  it('logs in, then reads /me, then opens the page asked for', async () => {
    const me = person(['agent.view'], { agent_no: '8001', name: '班长' })
    const { calls } = fakeFetch({
      'POST /auth/login': { body: { agent: me, expires_at: '2026-11-26T07:00:00Z' } },
      'GET /me': { body: me },
      'GET /agents': { body: { items: [], total: 0 } },
    })
    const env = await setup(null, 'zh-CN', '/login?redirect=/admin/agents')
    const wrapper = mountWith(LoginView, env)
    await fillAndSubmit(wrapper, '8001', 'right-password')
    expect(calls.map((c) => `${c.method} ${c.path}`).slice(0, 2)).toEqual(['POST /auth/login', 'GET /me'])
    await vi.waitFor(() => expect(env.router.currentRoute.value.path).toBe('/admin/agents'))
    expect(wrapper.find('[data-test="login-error"]').exists()).toBe(false)
  })
})
