// The audit trail names each action and target in the reader's language, keeping the
// action's code beside it (the search box filters by code).

import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import AuditView from '@/views/admin/AuditView.vue'
import type { AuditEntry } from '@/api/types'
import { fakeFetch, mountWith, person, setup } from './helpers'

function entry(id: number, action: string, target_type: string, target_id: string): AuditEntry {
  return {
    id, at: '2026-11-26T00:25:41Z', actor_id: 1, actor_no: 'admin', action, target_type, target_id,
    outcome: 'ok', detail: {}, ip: '127.0.0.1', user_agent: '',
  }
}

const SLOW = 20_000

const ENTRIES = [
  entry(1, 'auth.login', 'agent', '1'),
  entry(2, 'campaign.approve', 'campaign', '7'),
  entry(3, 'something.new', 'widget', 'w1'),
]

afterEach(() => {
  document.body.innerHTML = ''
})

async function mountAudit(locale: 'zh-CN' | 'en') {
  fakeFetch({ 'GET /audit': { body: { items: ENTRIES, total: ENTRIES.length } } })
  const wrapper = mountWith(AuditView, await setup(person(['audit.view']), locale))
  await flushPromises()
  return wrapper
}

describe('the audit trail', () => {
  it('names actions and targets in Chinese, with the code beside', async () => {
    const wrapper = await mountAudit('zh-CN')
    expect(wrapper.find('[data-test="audit-action-1"]').text()).toBe('登录')
    expect(wrapper.find('[data-test="audit-action-2"]').text()).toBe('审批外呼任务')
    const table = wrapper.find('[data-test="audit-table"]').text()
    expect(table).toContain('auth.login')
    expect(table).toContain('坐席 1')
    expect(table).toContain('外呼任务 7')
    expect(table).not.toContain('agent 1')
    wrapper.unmount()
  }, SLOW)

  it('names them in English, and shows an action it has no name for as its code', async () => {
    const wrapper = await mountAudit('en')
    expect(wrapper.find('[data-test="audit-action-1"]').text()).toBe('Log in')
    expect(wrapper.find('[data-test="audit-action-3"]').text()).toBe('something.new')
    const table = wrapper.find('[data-test="audit-table"]').text()
    expect(table).toContain('Campaign 7')
    expect(table).toContain('widget w1')
    wrapper.unmount()
  }, SLOW)
})
