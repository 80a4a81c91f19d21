// A desktop opened during wrap-up (话后处理): reloaded, or on another PC, it never saw the
// call live, so /desk/state's `last_call` (and `last_queue`) bring back the screen pop and
// the disposition form (呼叫结果) for the call just ended, until the wrap-up is over.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import DeskView from '@/views/desk/DeskView.vue'
import DispositionForm from '@/components/DispositionForm.vue'
import { useDeskStore } from '@/stores/desk'
import type { DeskState, LiveCall, QueueName } from '@/api/cti'
import { fakeFetch, mountWith, person, setup } from './helpers'

const SLOW = 20_000
const AGENT = ['desk.use', 'call.answer', 'result.record'] // no script.view: no script fetch

// A campaign call the customer ended: the engine's view of it, kept for the wrap-up.
const ENDED: LiveCall = {
  call_id: 'cti-c7', direction: 'outbound', state: 'ended', caller: '+861058001234',
  dialled: '+8613600000002', queue_id: null, agent_no: '1001', agents: ['1001'], ringing: [],
  held: false, consult: null, conference: false, supervisors: {}, taken_over_by: null,
  created_at: 90, queued_at: null, answered_at: 100, ended_at: 118, cause: 'normal',
  end_reason: 'customer-hung-up', campaign_id: '3', lead_id: '12',
}
const CAMPAIGN: QueueName = { queue_id: 'campaign:3', kind: 'campaign', campaign_id: 3, name: '车险续保回访' }

function wrappingUp(last: Partial<DeskState>): DeskState {
  return {
    agent_no: '1001', state: 'wrap-up', reason: 'call-ended', since: 118, at: 121, call_id: ENDED.call_id,
    phone: 'agent:browser-1001', pending_not_ready: null, wrap_up_until: 128, calls_answered: 1,
    call: null, queue: null, ...last,
  }
}

let current: DeskState

beforeEach(() => {
  fakeFetch({
    'GET /desk/state': () => ({ body: current }),
    'GET /calls': { body: { items: [], total: 0 } },
    'GET /dispositions': { body: [{ id: 5, code: 'sold', name: '成交', enabled: true }] },
    'GET /products': { body: [] },
  })
})

afterEach(() => {
  document.body.innerHTML = ''
})

async function mountDesk(locale: 'zh-CN' | 'en') {
  const env = await setup(person(AGENT, { agent_no: '1001' }), locale, '/desk')
  const wrapper = mountWith(DeskView, env)
  await flushPromises()
  return Object.assign(wrapper, { pinia: env.pinia })
}

describe('a desktop opened during wrap-up', () => {
  it("shows the ended call's screen pop and disposition form from last_call", async () => {
    current = wrappingUp({ last_call: ENDED, last_queue: CAMPAIGN })
    const desk = await mountDesk('zh-CN')
    expect(desk.find('[data-test="agent-state"]').attributes('data-state')).toBe('wrap-up')
    expect(desk.find('[data-test="pop-number"]').text()).toBe('+8613600000002')
    expect(desk.find('[data-test="pop-queue"]').text()).toBe('外呼任务：车险续保回访')
    expect(desk.find('[data-test="disposition-form"]').exists()).toBe(true)
    // The form records the result for that call, its campaign and lead.
    const form = desk.findComponent(DispositionForm)
    expect(form.props()).toEqual({ campaignId: '3', leadId: '12', callId: 'cti-c7' })
    expect(form.text()).toContain('呼叫结果')

    // The wrap-up ends: the server names no call any more, and the form goes.
    current = { ...wrappingUp({}), state: 'ready', reason: 'wrap-up-done', call_id: null, wrap_up_until: null }
    await useDeskStore(desk.pinia).refresh()
    await flushPromises()
    expect(desk.find('[data-test="disposition-form"]').exists()).toBe(false)
    expect(desk.find('[data-test="pop-number"]').exists()).toBe(false)
    desk.unmount()
  }, SLOW)

  it('shows no form in wrap-up when the server names no ended call', async () => {
    current = wrappingUp({}) // a server without last_call: nothing to record a result for
    const desk = await mountDesk('en')
    expect(desk.find('[data-test="agent-state"]').attributes('data-state')).toBe('wrap-up')
    expect(desk.find('[data-test="disposition-form"]').exists()).toBe(false)
    expect(desk.find('[data-test="pop-number"]').exists()).toBe(false)
    desk.unmount()
  }, SLOW)
})
