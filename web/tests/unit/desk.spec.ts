// The agent desktop: its state and time in it, the call bar's buttons for the holders of
// their codes only, the keypad sending DTMF key by key, the wrap-up countdown, and a
// reread of the server's state when the server says this desktop changed.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import DeskView from '@/views/desk/DeskView.vue'
import DispositionForm from '@/components/DispositionForm.vue'
import { useLiveStore } from '@/stores/live'
import { formatDuration, useDeskStore as useDeskStoreForTest } from '@/stores/desk'
import type { DeskState, LiveCall } from '@/api/cti'
import { fakeFetch, FakeSocket, mountWith, person, setup, type Answer, type RecordedCall } from './helpers'

const SLOW = 20_000 // two Element Plus mounts on a busy machine
const AGENT = ['desk.use', 'call.answer', 'call.dial', 'call.transfer', 'call.conference']

function liveCall(overrides: Partial<LiveCall> = {}): LiveCall {
  return {
    call_id: 'cti-c1', direction: 'inbound', state: 'connected', caller: '13912345678',
    dialled: '4008001000', queue_id: 'service', agent_no: '1001', agents: ['1001'], ringing: [],
    held: false, consult: null, conference: false, supervisors: {}, taken_over_by: null,
    created_at: 90, queued_at: 90, answered_at: 100, ended_at: null, cause: null, end_reason: null,
    ...overrides,
  }
}

function deskState(overrides: Partial<DeskState> = {}): DeskState {
  return {
    agent_no: '1001', state: 'talking', reason: 'ready', since: 100, at: 175, call_id: 'cti-c1',
    phone: 'agent:browser-1001', pending_not_ready: null, wrap_up_until: null, calls_answered: 3,
    call: liveCall(),
    ...overrides,
  }
}

const HISTORY = {
  items: [
    {
      call_id: 'cti-c1', direction: 'inbound', state: 'bridged', caller: '13912345678',
      dialled: '4008001000', queue_id: 'service', agent_no: '1001', agents: ['1001'],
      created_at: '2026-11-25T02:00:00Z', answered_at: '2026-11-25T02:00:05Z', ended_at: null,
      cause: null, end_reason: null, talk_seconds: null, legs: [],
    },
    {
      call_id: 'old-1', direction: 'inbound', state: 'ended', caller: '13912345678',
      dialled: '4008001000', queue_id: 'service', agent_no: '2001', agents: ['2001'],
      created_at: '2026-11-20T02:00:00Z', answered_at: '2026-11-20T02:00:05Z',
      ended_at: '2026-11-20T02:01:20Z', cause: 'normal', end_reason: 'customer-hung-up',
      talk_seconds: 75, legs: [],
    },
  ],
  total: 2,
}

let current: DeskState
let fetches: { calls: RecordedCall[] }

function routes(extra: Record<string, Answer | ((call: RecordedCall) => Answer)> = {}) {
  fetches = fakeFetch({
    'GET /desk/state': () => ({ body: current }),
    'GET /calls': { body: HISTORY },
    'POST /desk/dtmf': { status: 204 },
    'POST /desk/answer': { status: 204 },
    'POST /desk/virtual-phone': { body: { phone: 'agent:browser-1001' } },
    'POST /desk/login': { status: 204 },
    ...extra,
  })
}

async function mountDesk(permissions: string[] = AGENT, locale: 'zh-CN' | 'en' = 'zh-CN') {
  const env = await setup(person(permissions, { agent_no: '1001' }), locale, '/desk')
  const wrapper = mountWith(DeskView, env)
  await flushPromises()
  return Object.assign(wrapper, { pinia: env.pinia })
}

beforeEach(() => {
  current = deskState()
  FakeSocket.last = null
  vi.stubGlobal('WebSocket', FakeSocket)
  routes()
})

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the agent desktop', () => {
  it('shows the state, the time in it and the caller with earlier calls', async () => {
    const wrapper = await mountDesk()
    expect(wrapper.find('[data-test="agent-state"]').text()).toBe('通话中')
    expect(wrapper.find('[data-test="desk-timer"]').text()).toBe('01:15')
    expect(wrapper.find('[data-test="call-line"]').text()).toBe('通话中：13912345678')
    expect(wrapper.find('[data-test="pop-number"]').text()).toBe('13912345678')
    const rows = wrapper.findAll('[data-test="pop-history"] .el-table__row')
    expect(rows).toHaveLength(1) // the call in hand is not an earlier call
    expect(rows[0]!.text()).toContain('01:15')
    expect(rows[0]!.text()).toContain('2001')
    const history = fetches.calls.find((c) => c.path === '/calls')
    expect(history).toBeDefined()
  })

  it('speaks English when asked', async () => {
    const wrapper = await mountDesk(AGENT, 'en')
    expect(wrapper.find('[data-test="agent-state"]').text()).toBe('Talking')
    expect(wrapper.find('[data-test="call-hangup"]').text()).toBe('Hang up')
  })

  it('offers Answer on a ringing call only to holders of call.answer', async () => {
    current = deskState({ state: 'reserved', call: liveCall({ state: 'queued', answered_at: null }) })
    const allowed = await mountDesk()
    expect(allowed.find('[data-test="call-line"]').text()).toBe('来电振铃：13912345678')
    await allowed.find('[data-test="call-answer"]').trigger('click')
    await flushPromises()
    expect(fetches.calls.some((c) => c.method === 'POST' && c.path === '/desk/answer')).toBe(true)
    const answer = fetches.calls.find((c) => c.path === '/desk/answer')
    expect((answer?.body as { command_id: string }).command_id).toMatch(/\S{8,}/)
    allowed.unmount()

    const refused = await mountDesk(['desk.use'])
    expect(refused.find('[data-test="call-answer"]').exists()).toBe(false)
    expect(refused.find('[data-test="call-hangup"]').exists()).toBe(true)
  }, SLOW)

  it('hides transfer from someone without call.transfer', async () => {
    const full = await mountDesk()
    expect(full.find('[data-test="call-transfer"]').exists()).toBe(true)
    full.unmount()
    const plain = await mountDesk(['desk.use', 'call.answer'])
    expect(plain.find('[data-test="call-transfer"]').exists()).toBe(false)
    expect(plain.find('[data-test="call-hold"]').exists()).toBe(true)
  }, SLOW)

  it('hides dial from someone without call.dial', async () => {
    current = deskState({ state: 'ready', call: null, call_id: null })
    const dialler = await mountDesk()
    expect(dialler.find('[data-test="dial-submit"]').exists()).toBe(true)
    dialler.unmount()
    const noDial = await mountDesk(['desk.use'])
    expect(noDial.find('[data-test="dial-submit"]').exists()).toBe(false)
    expect(noDial.find('[data-test="desk-ready"]').exists()).toBe(true)
  }, SLOW)

  it('during a consultation offers complete and cancel, and the 3-way call once answered', async () => {
    routes({
      'POST /desk/consult/complete': { status: 204 },
      'POST /desk/conference': { status: 204 },
    })
    current = deskState({ call: liveCall({ consult: { agent_no: '1002', dest: 'agent:1002', answered: false } }) })
    const ringing = await mountDesk()
    expect(ringing.find('[data-test="consult-line"]').text()).toBe('正在咨询：1002')
    expect(ringing.find('[data-test="consult-complete"]').attributes('disabled')).toBeDefined()
    expect(ringing.find('[data-test="consult-cancel"]').exists()).toBe(true)
    expect(ringing.find('[data-test="call-conference"]').exists()).toBe(false)
    expect(ringing.find('[data-test="call-hold"]').exists()).toBe(false)
    ringing.unmount()

    current = deskState({ call: liveCall({ consult: { agent_no: '1002', dest: 'agent:1002', answered: true } }) })
    const answered = await mountDesk()
    await answered.find('[data-test="call-conference"]').trigger('click')
    await answered.find('[data-test="consult-complete"]').trigger('click')
    await flushPromises()
    const posted = fetches.calls.filter((c) => c.method === 'POST').map((c) => c.path)
    expect(posted).toContain('/desk/conference')
    answered.unmount()

    const noConference = await mountDesk(['desk.use', 'call.transfer'])
    expect(noConference.find('[data-test="call-conference"]').exists()).toBe(false)
    expect(noConference.find('[data-test="consult-complete"]').exists()).toBe(true)
  }, 30_000)

  it('sends each keypad key as DTMF at once', async () => {
    const wrapper = await mountDesk()
    await wrapper.find('[data-test="keypad-toggle"]').trigger('click')
    for (const key of ['1', '#', '0']) {
      await wrapper.find(`[data-test="key-${key}"]`).trigger('click')
      await flushPromises()
    }
    const sent = fetches.calls.filter((c) => c.path === '/desk/dtmf').map((c) => (c.body as { digits: string }).digits)
    expect(sent).toEqual(['1', '#', '0'])
    expect(wrapper.find('[data-test="dtmf-sent"]').text()).toContain('1#0')
  })

  it('keeps the customer on the screen pop through wrap-up', async () => {
    const wrapper = await mountDesk()
    current = deskState({ state: 'wrap-up', since: 180, at: 181, wrap_up_until: 190, call: null, call_id: null })
    await useDeskStoreForTest(wrapper.pinia).refresh()
    await flushPromises()
    expect(wrapper.find('[data-test="call-line"]').text()).toBe('当前没有通话')
    expect(wrapper.find('[data-test="pop-number"]').text()).toBe('13912345678')
    current = deskState({ state: 'ready', since: 190, at: 191, call: null, call_id: null })
    await useDeskStoreForTest(wrapper.pinia).refresh()
    await flushPromises()
    expect(wrapper.find('[data-test="pop-number"]').exists()).toBe(false)
  })

  it('counts the wrap-up down', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] })
    try {
      current = deskState({ state: 'wrap-up', since: 170, at: 173, wrap_up_until: 180, call: null })
      const wrapper = await mountDesk()
      expect(wrapper.find('[data-test="wrap-up-left"]').text()).toBe('剩余 7 秒')
      vi.advanceTimersByTime(3000)
      await flushPromises()
      expect(wrapper.find('[data-test="wrap-up-left"]').text()).toBe('剩余 4 秒')
      expect(wrapper.find('[data-test="desk-timer"]').text()).toBe('00:06')
    } finally {
      vi.useRealTimers()
    }
  })

  it('rereads its state when the server says this desktop changed, and after a reconnect', async () => {
    const wrapper = await mountDesk()
    const live = useLiveStore(wrapper.pinia)
    live.start(() => undefined)
    const socket = FakeSocket.last!
    const reads = () => fetches.calls.filter((c) => c.path === '/desk/state').length
    const before = reads()

    current = deskState({ state: 'on-hold', call: liveCall({ held: true }) })
    socket.deliver({ type: 'desk.changed', data: { agent_no: '2002' } })
    await flushPromises()
    expect(reads()).toBe(before) // another agent's desktop
    socket.deliver({ type: 'desk.changed', data: { agent_no: '1001' } })
    await flushPromises()
    expect(reads()).toBe(before + 1)
    expect(wrapper.find('[data-test="agent-state"]').text()).toBe('保持')
    expect(wrapper.find('[data-test="call-hold"]').text()).toBe('恢复')

    current = deskState({ state: 'ready', call: null, call_id: null })
    socket.deliver({ type: 'hello', data: { agent_no: '1001', permissions: AGENT } })
    await flushPromises()
    expect(wrapper.find('[data-test="agent-state"]').text()).toBe('示闲')
    live.stop()
  })

  it('logs in with the browser virtual phone', async () => {
    current = { agent_no: '1001', state: 'logged-out' }
    routes({
      'POST /desk/login': (call) => {
        current = deskState({ state: 'not-ready', reason: 'login', call: null, call_id: null })
        return { status: call.body ? 204 : 422 }
      },
    })
    const wrapper = await mountDesk()
    await wrapper.find('[data-test="desk-login-submit"]').trigger('click')
    await flushPromises()
    const login = fetches.calls.find((c) => c.path === '/desk/login')
    expect((login?.body as { phone: string }).phone).toBe('agent:browser-1001')
    expect(wrapper.find('[data-test="agent-state"]').text()).toBe('示忙')
    expect(wrapper.find('[data-test="desk-reason"]').text()).toContain('刚签入')
  })
})

describe('the business form', () => {
  const CAMPAIGN_CALL = { campaign_id: 7, lead_id: 42 }

  it('is the disposition form on a campaign call, for holders of result.record only', async () => {
    routes({
      'GET /dispositions': { body: [{ id: 3, code: 'sale', name: '成交', enabled: true }] },
      'GET /products': { body: [{ id: 9, name: '宽带', attributes: [{ key: 'speed', label: '带宽', type: 'text', required: true }] }] },
    })
    current = deskState({ call: liveCall(CAMPAIGN_CALL) })
    const agent = await mountDesk([...AGENT, 'result.record'])
    expect(agent.find('[data-test="disposition-form"]').exists()).toBe(true)
    agent.unmount()
    const plain = await mountDesk(AGENT)
    expect(plain.find('[data-test="disposition-form"]').exists()).toBe(false)
    expect(plain.find('[data-test="business-slot"]').text()).toContain('话术')
    plain.unmount()
    current = deskState()
    const inbound = await mountDesk([...AGENT, 'result.record'])
    expect(inbound.find('[data-test="disposition-form"]').exists()).toBe(false)
  }, SLOW)

  it('records the disposition and product values for the call and its lead', async () => {
    routes({
      'GET /dispositions': { body: [{ id: 3, code: 'sale', name: '成交', enabled: true }] },
      'GET /products': { body: [{ id: 9, name: '宽带', attributes: [{ key: 'speed', label: '带宽', type: 'text', required: true }] }] },
      'POST /campaigns/7/results': { status: 201, body: { id: 1 } },
    })
    const env = await setup(person(['result.record'], { agent_no: '1001' }))
    const form = mountWith(DispositionForm, env, { props: { campaignId: 7, leadId: 42, callId: 'cti-c1' } })
    await flushPromises()
    const [disposition, product] = form.findAllComponents({ name: 'ElSelect' })
    disposition!.vm.$emit('update:modelValue', 3)
    product!.vm.$emit('update:modelValue', 9)
    await flushPromises()
    await form.find('[data-test="result-submit"]').trigger('click')
    await flushPromises()
    expect(fetches.calls.some((c) => c.path === '/campaigns/7/results')).toBe(false) // 带宽 is required
    await form.find('input[data-test="attr-speed"], [data-test="attr-speed"] input').setValue('500M')
    await form.find('[data-test="result-submit"]').trigger('click')
    await flushPromises()
    const sent = fetches.calls.find((c) => c.path === '/campaigns/7/results')
    expect(sent?.body).toMatchObject({
      lead_id: 42, disposition_id: 3, product_id: 9, values: { speed: '500M' }, call_id: 'cti-c1',
    })
    // It offers only the campaign's own results and products.
    const lists = fetches.calls.filter((c) => c.path === '/dispositions' || c.path === '/products')
    expect(lists.map((c) => c.search)).toEqual(['?campaign_id=7', '?campaign_id=7'])
  }, SLOW)
})

describe('durations', () => {
  it('read as minutes and seconds, with hours when needed', () => {
    expect(formatDuration(0)).toBe('00:00')
    expect(formatDuration(75.9)).toBe('01:15')
    expect(formatDuration(3725)).toBe('1:02:05')
  })
})
