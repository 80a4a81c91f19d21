// The supervisor console names queues as people know them: the inbound service line, and
// each campaign by its name, also one created after the console opened (asked once per
// new queue id, and again when a campaign changes).

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import SupervisorView from '@/views/supervisor/SupervisorView.vue'
import { queueLabel, useSupervisorStore } from '@/stores/supervisor'
import type { LiveCall, QueueName, QueueStats, Snapshot } from '@/api/cti'
import type { LiveEvent } from '@/ws/events'
import { fakeFetch, mountWith, person, setup, type RecordedCall } from './helpers'

const SLOW = 20_000

function stats(queue_id: string, waiting = 0): QueueStats {
  return { queue_id, waiting, longest_wait: 0, oldest_entered_at: null, ringing: 0, agents_ready: 1, answered: 0, at: 100 }
}

function campaignName(id: number, name: string): QueueName {
  return { queue_id: `campaign:${id}`, kind: 'campaign', campaign_id: id, name }
}

const SERVICE: QueueName = { queue_id: 'service', kind: 'inbound', campaign_id: null, name: '' }

const CALL: LiveCall = {
  call_id: 'cti-c9', direction: 'outbound', state: 'connected', caller: '+861058001234',
  dialled: '13900000001', queue_id: 'campaign:3', agent_no: '2001', agents: ['2001'], ringing: [],
  held: false, consult: null, conference: false, supervisors: {}, taken_over_by: null,
  created_at: 90, queued_at: 95, answered_at: 96, ended_at: null, cause: null, end_reason: null,
}

const SNAPSHOT: Snapshot = {
  at: 100,
  agents: [{ agent_no: '2001', state: 'talking', reason: null, since: 96, call_id: 'cti-c9', phone: 'agent:2001',
             pending_not_ready: null, wrap_up_until: null, calls_answered: 1 }],
  calls: [CALL],
  queues: [stats('campaign:3'), stats('service', 2)],
}

let names: QueueName[]
let fetches: { calls: RecordedCall[] }
const nameReads = () => fetches.calls.filter((c) => c.path === '/supervisor/queues').length
const event = (type: string, data: object): LiveEvent => ({ type, data: data as Record<string, unknown> })

beforeEach(() => {
  names = [SERVICE, campaignName(3, '意外险回访')]
  fetches = fakeFetch({
    'GET /supervisor/snapshot': { body: SNAPSHOT },
    'GET /supervisor/queues': () => ({ body: names }),
  })
})

const mounted: { unmount: () => void }[] = []

afterEach(() => {
  for (const wrapper of mounted.splice(0)) wrapper.unmount()
  document.body.innerHTML = ''
})

async function mountConsole(locale: 'zh-CN' | 'en' = 'zh-CN') {
  const env = await setup(person(['supervisor.monitor'], { agent_no: '8001' }), locale, '/supervisor')
  const wrapper = mountWith(SupervisorView, env)
  mounted.push(wrapper)
  const board = useSupervisorStore(env.pinia)
  await vi.waitFor(() => expect(board.queueNames.size).toBe(2))
  await flushPromises()
  return { wrapper, board }
}

describe('queueLabel', () => {
  it('names a campaign queue by its campaign, an inbound queue by its id, and guesses the rest', () => {
    const known = new Map([[SERVICE.queue_id, SERVICE], ['campaign:3', campaignName(3, '意外险回访')]])
    expect(queueLabel('campaign:3', known)).toEqual({ kind: 'campaign', name: '意外险回访', campaignId: 3 })
    expect(queueLabel('service', known)).toEqual({ kind: 'inbound', queueId: 'service' })
    expect(queueLabel('campaign:12', known)).toEqual({ kind: 'campaign', name: '', campaignId: 12 })
    expect(queueLabel('vip', known)).toEqual({ kind: 'unknown', queueId: 'vip' })
  })
})

describe('the console names queues', () => {
  it('shows the campaign and the service line by name in the tiles and the grid', async () => {
    const { wrapper } = await mountConsole()
    const tiles = wrapper.findAll('[data-test="queue-name"]').map((w) => w.text())
    expect(tiles).toEqual(['客服热线', '意外险回访']) // inbound first, then the campaigns
    expect(wrapper.find('[data-test="grid-queue-2001"]').text()).toBe('意外险回访')
    expect(wrapper.find('[data-test="queue-tiles"]').text()).not.toContain('campaign:3')
    expect(nameReads()).toBe(1)
  }, SLOW)

  it('names a campaign created after the console opened, asking once for its queue', async () => {
    const { wrapper, board } = await mountConsole()
    names = [...names, campaignName(7, '双十一回访')]
    board.apply(event('queue.stats', stats('campaign:7', 4)))
    board.apply(event('queue.stats', stats('campaign:7', 5)))
    await vi.waitFor(() => expect(wrapper.find('[data-test="queue-campaign:7"]').text()).toContain('双十一回访'))
    expect(nameReads()).toBe(2)

    board.apply(event('queue.stats', stats('campaign:7', 6))) // known now: no more reads
    board.apply(event('call.updated', { ...CALL, at: 101 }))
    await flushPromises()
    expect(nameReads()).toBe(2)
  }, SLOW)

  it('reads the names again when a campaign changes (a rename)', async () => {
    const { wrapper, board } = await mountConsole()
    names = [SERVICE, campaignName(3, '意外险回访（二期）')]
    board.apply(event('campaign.changed', { id: 3 }))
    await vi.waitFor(() => expect(wrapper.find('[data-test="grid-queue-2001"]').text()).toBe('意外险回访（二期）'))
  }, SLOW)

  it('in English; a campaign the server cannot name shows as its number, asked about once', async () => {
    names = [SERVICE]
    const env = await setup(person(['supervisor.monitor'], { agent_no: '8001' }), 'en', '/supervisor')
    const wrapper = mountWith(SupervisorView, env)
    mounted.push(wrapper)
    await vi.waitFor(() => expect(nameReads()).toBe(1))
    await flushPromises()
    const tiles = wrapper.findAll('[data-test="queue-name"]').map((w) => w.text())
    expect(tiles).toEqual(['Service line', 'Campaign #3'])
    useSupervisorStore(env.pinia).apply(event('queue.stats', stats('campaign:3', 1)))
    await flushPromises()
    expect(nameReads()).toBe(1)
  }, SLOW)

  it('shows what it can without names when they cannot be read', async () => {
    fetches = fakeFetch({
      'GET /supervisor/snapshot': { body: SNAPSHOT },
      'GET /supervisor/queues': { status: 503, body: { error: 'telephony-off', message: '', details: {} } },
    })
    const env = await setup(person(['supervisor.monitor'], { agent_no: '8001' }), 'zh-CN', '/supervisor')
    const wrapper = mountWith(SupervisorView, env)
    mounted.push(wrapper)
    await vi.waitFor(() => expect(nameReads()).toBe(1))
    await flushPromises()
    expect(wrapper.find('[data-test="grid-queue-2001"]').text()).toBe('外呼任务 #3')
    expect(document.body.textContent).not.toContain('telephony-off')
  }, SLOW)
})
