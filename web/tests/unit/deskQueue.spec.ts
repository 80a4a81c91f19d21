// The agent desktop's customer panel names the call's queue as people know it: a campaign
// call by its campaign (外呼任务：<name>), kept through wrap-up; an inbound call by the
// service line's name; never the raw ids `campaign:3` or `service`. The names come with
// /desk/state, since an agent may not read the console's /supervisor/queues.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import DeskView from '@/views/desk/DeskView.vue'
import { useDeskStore } from '@/stores/desk'
import type { DeskState, LiveCall, QueueName } from '@/api/cti'
import { fakeFetch, mountWith, person, setup, type RecordedCall } from './helpers'

const SLOW = 20_000
const AGENT = ['desk.use', 'call.answer', 'call.dial'] // no script.view, result.record: no forms

const INBOUND: LiveCall = {
  call_id: 'cti-c1', direction: 'inbound', state: 'connected', caller: '13912345678',
  dialled: '4008001000', queue_id: 'service', agent_no: '1001', agents: ['1001'], ringing: [],
  held: false, consult: null, conference: false, supervisors: {}, taken_over_by: null,
  created_at: 90, queued_at: 90, answered_at: 100, ended_at: null, cause: null, end_reason: null,
}

// A preview call: it waits in no queue, but names its campaign and lead.
const PREVIEW: LiveCall = {
  ...INBOUND, call_id: 'cti-c7', direction: 'outbound', caller: '+861058001234',
  dialled: '+8613600000002', queue_id: null, queued_at: null, campaign_id: '3', lead_id: '12',
}

const SERVICE: QueueName = { queue_id: 'service', kind: 'inbound', campaign_id: null, name: '' }
const CAMPAIGN: QueueName = { queue_id: 'campaign:3', kind: 'campaign', campaign_id: 3, name: '车险续保回访' }

function talking(call: LiveCall, queue: QueueName | null | undefined): DeskState {
  return {
    agent_no: '1001', state: 'talking', reason: 'ready', since: 100, at: 110, call_id: call.call_id,
    phone: 'agent:browser-1001', pending_not_ready: null, wrap_up_until: null, calls_answered: 1,
    call, ...(queue === undefined ? {} : { queue }),
  }
}

let current: DeskState
let fetches: { calls: RecordedCall[] }

beforeEach(() => {
  fetches = fakeFetch({
    'GET /desk/state': () => ({ body: current }),
    'GET /calls': { body: { items: [], total: 0 } },
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

const queueText = (wrapper: { find: (s: string) => { text: () => string } }) =>
  wrapper.find('[data-test="pop-queue"]').text()

describe("the customer panel's queue", () => {
  it('names an inbound call by the service line, in either language', async () => {
    current = talking(INBOUND, SERVICE)
    const zh = await mountDesk('zh-CN')
    expect(queueText(zh)).toBe('客服热线')
    zh.unmount()
    const en = await mountDesk('en')
    expect(queueText(en)).toBe('Service line')
    en.unmount()
  }, SLOW)

  it('names a campaign call by its campaign, and keeps it through wrap-up', async () => {
    current = talking(PREVIEW, CAMPAIGN)
    const zh = await mountDesk('zh-CN')
    expect(queueText(zh)).toBe('外呼任务：车险续保回访')
    expect(zh.find('[data-test="screen-pop"]').text()).not.toContain('campaign:3')
    // The customer hangs up: the desk is in wrap-up, the server shows no call any more.
    current = { ...current, state: 'wrap-up', since: 120, at: 121, call: null, queue: null, wrap_up_until: 150 }
    await useDeskStore(zh.pinia).refresh()
    await flushPromises()
    expect(queueText(zh)).toBe('外呼任务：车险续保回访')
    zh.unmount()

    current = talking(PREVIEW, CAMPAIGN)
    const en = await mountDesk('en')
    expect(queueText(en)).toBe('Campaign: 车险续保回访')
    en.unmount()
    expect(fetches.calls.some((c) => c.path === '/supervisor/queues')).toBe(false)
  }, SLOW)

  it('shows what it can when the server names no queue', async () => {
    current = talking(PREVIEW, undefined) // a server without names: the call's campaign
    const campaign = await mountDesk('zh-CN')
    expect(queueText(campaign)).toBe('外呼任务 #3')
    campaign.unmount()

    current = talking({ ...INBOUND, queue_id: 'vip' }, { ...SERVICE, queue_id: 'vip' })
    const unknown = await mountDesk('en')
    expect(queueText(unknown)).toBe('vip') // an inbound queue the catalogue has no name for
    unknown.unmount()

    current = talking({ ...INBOUND, queue_id: null }, null) // a call straight to the agent
    const none = await mountDesk('zh-CN')
    expect(queueText(none)).toBe('无')
    none.unmount()
  }, SLOW)
})
