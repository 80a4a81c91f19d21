// The campaign screens: the list's commands shown by permission (approval never to the
// author), the form's settings as sent, the lead import's progress and error report,
// and the live dialer view following the dialer.status events.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import CampaignsView from '@/views/campaigns/CampaignsView.vue'
import CampaignForm from '@/views/campaigns/CampaignForm.vue'
import CampaignLiveView from '@/views/campaigns/CampaignLiveView.vue'
import LeadImportDialog from '@/views/campaigns/LeadImportDialog.vue'
import type { Campaign, DialerView, ImportJob } from '@/api/campaigns'
import { useLiveStore } from '@/stores/live'
import { fakeFetch, FakeSocket, mountWith, person, setup } from './helpers'

const SLOW = 20_000

function campaign(id: number, state: Campaign['state'], commands: Campaign['commands'], author_id = 2): Campaign {
  return {
    id, name: `回访 ${id}`, description: '', state, revision: 'none', version: state === 'draft' ? 0 : 1,
    author_id, commands, created_at: '2026-11-25T02:00:00Z', updated_at: '2026-11-25T02:00:00Z',
    settings: { dialing_mode: 'predictive' } as Campaign['settings'],
  }
}

const LIST = [
  campaign(1, 'draft', ['submit']),
  campaign(2, 'submitted', ['approve', 'reject']),
  campaign(3, 'approved', ['start']),
  campaign(4, 'submitted', ['approve', 'reject'], 1), // written by the one looking
]

function view(overrides: Partial<DialerView> = {}): DialerView {
  return {
    campaign_id: 3, state: 'running', dialing: true, mode: 'predictive', at: '2026-11-25T02:00:05Z',
    lines: { in_flight: 4, ringing: 3, waiting: 1, last_decision: 2 }, ratio: 2, level: null,
    dials: 40, connects: 9, abandoned: 0, given_up: 0, abandon_limit: 0.03,
    abandonment: [
      { window: 'campaign', rate: 0, limit: 0.03, over: false },
      { window: 'rolling-30-days', rate: 0, limit: 0.03, over: false },
      { window: 'calendar-day', rate: 0.05, limit: 0.03, over: true },
    ],
    agents: { ready: 1, talking: 2 },
    not_dialled: { 'no-leads': 3 },
    reasons: { leads: { 'retry-delay': 12, allowed: 30 }, total: 42, dialable: 30, next_at: null },
    ...overrides,
  }
}

beforeEach(() => {
  FakeSocket.last = null
  vi.stubGlobal('WebSocket', FakeSocket)
})

afterEach(() => {
  document.body.innerHTML = ''
  vi.useRealTimers()
})

describe('the campaign list', () => {
  it('shows each campaign state and only the commands the person holds', async () => {
    const fetches = fakeFetch({ 'GET /campaigns': { body: LIST } })
    const env = await setup(person(['campaign.view']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignsView, env)
    await flushPromises()
    expect(wrapper.find('[data-test="campaign-state-1"]').text()).toBe('草稿')
    expect(wrapper.find('[data-test="campaign-state-3"]').text()).toBe('已审批')
    for (const testId of ['campaign-create', 'campaign-submit-1', 'campaign-approve-2', 'campaign-start-3', 'campaign-edit-1', 'campaign-import-1']) {
      expect(wrapper.find(`[data-test="${testId}"]`).exists(), testId).toBe(false)
    }
    expect(wrapper.find('[data-test="campaign-live-3"]').exists()).toBe(true)
    expect(fetches.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /campaigns'])
  }, SLOW)

  it('offers approval to others than the author, and start to who may control', async () => {
    const fetches = fakeFetch({
      'GET /campaigns': { body: LIST },
      'POST /campaigns/3/start': { body: campaign(3, 'running', ['pause']) },
    })
    const env = await setup(person(['campaign.view', 'campaign.approve', 'campaign.control']), 'en', '/campaigns')
    const wrapper = mountWith(CampaignsView, env)
    await flushPromises()
    expect(wrapper.find('[data-test="campaign-approve-2"]').text()).toBe('Approve')
    expect(wrapper.find('[data-test="campaign-approve-4"]').exists()).toBe(false) // their own
    expect(wrapper.find('[data-test="campaign-submit-1"]').exists()).toBe(false) // no campaign.edit
    await wrapper.find('[data-test="campaign-start-3"]').trigger('click')
    await flushPromises()
    expect(fetches.calls.some((c) => c.method === 'POST' && c.path === '/campaigns/3/start')).toBe(true)
  }, SLOW)
})

describe('the campaign form', () => {
  it('sends the schedule, compliance settings and retry rules', async () => {
    const fetches = fakeFetch({
      'POST /campaigns': { status: 201, body: campaign(9, 'draft', ['submit']) },
    })
    const env = await setup(person(['campaign.view', 'campaign.create']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: null } })
    await flushPromises()
    // Element Plus puts the attributes of el-input on its <input> or <textarea>.
    const type = async (testId: string, value: string) => {
      const input = document.querySelector(`[data-test="${testId}"]`) as HTMLInputElement
      input.value = value
      input.dispatchEvent(new Event('input'))
      await flushPromises()
    }
    await type('cf-name', '双十一回访')
    ;(document.querySelector('#tab-compliance') as HTMLElement).click()
    await flushPromises()
    await type('cf-safe-harbour', '您好，稍后回电')
    await type('cf-seller', '星河保险')
    await type('cf-callback', '4008001234')
    ;(document.querySelector('[data-test="cf-save"]') as HTMLElement).click()
    await flushPromises()
    const sent = fetches.calls.find((c) => c.method === 'POST' && c.path === '/campaigns')
    expect(sent).toBeDefined()
    const body = sent!.body as { name: string; settings: Record<string, unknown> }
    expect(body.name).toBe('双十一回访')
    expect(body.settings).toMatchObject({
      windows: [{ start: '09:00', end: '20:00', weekdays: '1234567' }],
      dialing_mode: 'progressive',
      drop_timeout: 2,
      ring_seconds: 30,
      abandon_target: 0.03,
      amd_false_positive_rate: 0.05,
      callback_agent_wait_minutes: 15,
      safe_harbour_text: '您好，稍后回电',
      seller_name: '星河保险',
      callback_number: '4008001234',
    })
    const retry = body.settings.retry as Record<string, { delay: number }>
    expect(retry.busy.delay).toBe(600)
    // An abandoned call's wait is the cool-off (72 hours unless changed), not a retry delay.
    expect(retry.abandoned.delay).toBe(0)
    expect(body.settings.abandoned_cooloff_hours).toBe(72)
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)
})

describe('the lead import', () => {
  it('uploads the file, follows the job to the end and offers the error report', async () => {
    const job: ImportJob = {
      id: 5, campaign_id: 3, list_id: null, filename: 'leads.csv', state: 'running', rows_read: 120,
      imported: 0, invalid: 0, duplicate: 0, blocked: 0, blocked_by_reason: {}, message: '',
      created_at: '2026-11-25T02:00:00Z', finished_at: null,
    }
    let polls = 0
    const fetches = fakeFetch({
      'GET /campaigns/3/imports': { body: [] },
      'POST /campaigns/3/imports': { status: 202, body: job },
      'GET /imports/5': () => {
        polls += 1
        return polls < 2
          ? { body: job }
          : { body: { ...job, state: 'done', rows_read: 300, imported: 300, invalid: 0, duplicate: 0 } }
      },
    })
    const env = await setup(person(['campaign.view', 'lead.import', 'lead.view']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(LeadImportDialog, env, { props: { campaign: campaign(3, 'approved', []) } })
    await flushPromises()
    const input = document.querySelector('[data-test="lead-file"]') as HTMLInputElement
    const file = new File(['phone\n13800138000\n'], 'leads.csv', { type: 'text/csv' })
    Object.defineProperty(input, 'files', { value: [file] })
    input.dispatchEvent(new Event('change'))
    await flushPromises()
    vi.useFakeTimers()
    ;(document.querySelector('[data-test="lead-upload"]') as HTMLButtonElement).click()
    await vi.advanceTimersByTimeAsync(300)
    expect(document.querySelector('[data-test="import-progress"]')?.textContent).toContain('已读 120 行')
    expect(document.querySelector('[data-test="import-report"]')).toBeNull() // not while it runs
    await vi.advanceTimersByTimeAsync(1100)
    await flushPromises()
    expect(document.querySelector('[data-test="import-done"]')?.textContent).toContain('成功 300')
    // A clean file too: its report may still name other numbers that were not imported.
    const report = document.querySelector('[data-test="import-report"]') as HTMLAnchorElement
    expect(report.getAttribute('href')).toBe('/api/v1/imports/5/report')
    expect(fetches.calls.filter((c) => c.path === '/imports/5')).toHaveLength(2)
    wrapper.unmount()
  }, SLOW)
})

describe('the live dialer view', () => {
  it('shows lines, connects, abandonment against the limit and the reasons, and follows the events', async () => {
    fakeFetch({
      'GET /campaigns/3': { body: campaign(3, 'running', ['pause']) },
      'GET /campaigns/3/dialer': { body: view() },
    })
    const env = await setup(person(['campaign.view']), 'zh-CN', '/campaigns/3/live')
    const wrapper = mountWith(CampaignLiveView, env)
    await flushPromises()
    expect(wrapper.find('[data-test="live-lines"]').text()).toContain('4')
    expect(wrapper.find('[data-test="live-connects"]').text()).toContain('9')
    expect(wrapper.find('[data-test="live-given-up"]').exists()).toBe(false) // none given up
    const abandonment = wrapper.find('[data-test="live-abandonment"]').text()
    expect(abandonment).toContain('当天')
    expect(abandonment).toContain('5.00%')
    expect(abandonment).toContain('超出上限')
    expect(wrapper.find('[data-test="live-reasons"]').text()).toContain('重拨间隔未到')
    expect(wrapper.find('[data-test="live-not-dialled"]').text()).toContain('没有可拨名单')
    expect(wrapper.find('[data-test="live-agents"]').text()).toContain('通话 2')

    const live = useLiveStore()
    live.start(() => undefined)
    FakeSocket.last!.deliver({ type: 'dialer.status', data: view({ connects: 12, given_up: 7, campaign_id: 3 }) })
    FakeSocket.last!.deliver({ type: 'dialer.status', data: view({ connects: 99, campaign_id: 4 }) })
    await flushPromises()
    expect(wrapper.find('[data-test="live-connects"]').text()).toContain('12')
    const givenUp = wrapper.find('[data-test="live-given-up"]').text()
    expect(givenUp).toContain('振铃满 15 秒后放弃')
    expect(givenUp).toContain('7')
    live.stop()
  }, SLOW)
})
