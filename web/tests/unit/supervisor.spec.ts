// The supervisor console: the live grid from the snapshot and the deltas that follow,
// the queue tiles, and each control on a selected agent shown only with its code.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import SupervisorView from '@/views/supervisor/SupervisorView.vue'
import { useLiveStore } from '@/stores/live'
import { useSupervisorStore } from '@/stores/supervisor'
import type { LiveAgent, LiveCall, Snapshot } from '@/api/cti'
import type { LiveEvent } from '@/ws/events'
import { fakeFetch, FakeSocket, mountWith, person, setup, type RecordedCall } from './helpers'

const SLOW = 20_000

const CONTROLS = {
  'supervisor.listen': 'sv-listen',
  'supervisor.whisper': 'sv-whisper',
  'supervisor.barge': 'sv-barge',
  'supervisor.force_hangup': 'sv-force-hangup',
  'supervisor.force_logout': 'sv-force-logout',
  'supervisor.force_state': 'sv-force-ready',
} as const

function agent(agent_no: string, state: LiveAgent['state'], overrides: Partial<LiveAgent> = {}): LiveAgent {
  return {
    agent_no, state, reason: state === 'not-ready' ? 'meal' : 'ready', since: 40, call_id: null,
    phone: `agent:${agent_no}`, pending_not_ready: null, wrap_up_until: null, calls_answered: 2,
    ...overrides,
  }
}

const CALL: LiveCall = {
  call_id: 'cti-c7', direction: 'inbound', state: 'connected', caller: '13800138000',
  dialled: '4008001000', queue_id: 'service', agent_no: '2001', agents: ['2001'], ringing: [],
  held: false, consult: null, conference: false, supervisors: {}, taken_over_by: null,
  created_at: 50, queued_at: 50, answered_at: 55, ended_at: null, cause: null, end_reason: null,
}

const SNAPSHOT: Snapshot = {
  at: 100,
  agents: [agent('2001', 'talking', { call_id: 'cti-c7', since: 55 }), agent('2002', 'not-ready')],
  calls: [CALL],
  queues: [{ queue_id: 'service', waiting: 3, longest_wait: 12, oldest_entered_at: 88, ringing: 0, agents_ready: 0, answered: 9 }],
}

let fetches: { calls: RecordedCall[] }

const event = (type: string, data: object): LiveEvent => ({ type, data: data as Record<string, unknown> })

beforeEach(() => {
  FakeSocket.last = null
  vi.stubGlobal('WebSocket', FakeSocket)
  fetches = fakeFetch({
    'GET /supervisor/snapshot': { body: SNAPSHOT },
    'POST /supervisor/calls/cti-c7/barge': { status: 204 },
    'POST /desk/virtual-phone': { body: { phone: 'agent:browser-8001-auto' } },
  })
})

const mounted: { unmount: () => void }[] = []

afterEach(() => {
  for (const wrapper of mounted.splice(0)) wrapper.unmount()
  document.body.innerHTML = ''
})

async function mountConsole(codes: string[], locale: 'zh-CN' | 'en' = 'zh-CN') {
  const env = await setup(person(['supervisor.monitor', ...codes], { agent_no: '8001' }), locale, '/supervisor')
  const wrapper = mountWith(SupervisorView, env)
  mounted.push(wrapper)
  await flushPromises()
  await vi.waitFor(() => expect(useSupervisorStore(env.pinia).loaded).toBe(true))
  await flushPromises()
  return Object.assign(wrapper, { pinia: env.pinia })
}

describe('the supervisor console', () => {
  it('shows every agent with state, reason, call and queue, and the queue tile', async () => {
    const wrapper = await mountConsole([])
    const grid = wrapper.find('[data-test="agent-grid"]').text()
    expect(grid).toContain('2001')
    expect(grid).toContain('13800138000')
    expect(grid).toContain('客服热线') // the inbound queue by its name, not its id
    expect(grid).toContain('就餐')
    expect(wrapper.find('[data-test="grid-state-2001"]').text()).toBe('通话中')
    expect(wrapper.find('[data-test="grid-state-2002"]').text()).toBe('示忙')
    expect(wrapper.find('[data-test="queue-waiting"]').text()).toBe('3')
    expect(wrapper.find('[data-test="queue-service"]').text()).toContain('00:12')
  }, SLOW)

  it('follows the live deltas and starts again from a new snapshot', async () => {
    const wrapper = await mountConsole([])
    const live = useLiveStore(wrapper.pinia)
    live.start(() => undefined)
    const socket = FakeSocket.last!
    socket.deliver({ type: 'agent.state', data: agent('2002', 'ready', { since: 101, at: 101 }) })
    socket.deliver({ type: 'agent.state', data: agent('2003', 'ready', { since: 101, at: 101 }) })
    await vi.waitFor(() => expect(wrapper.find('[data-test="grid-state-2002"]').text()).toBe('示闲'))
    expect(wrapper.find('[data-test="grid-agent-2003"]').exists()).toBe(true)

    socket.deliver({ type: 'call.updated', data: { ...CALL, call_id: 'cti-c8', queued_at: 60, answered_at: null, ended_at: 90, at: 102 } })
    await flushPromises()
    expect(useSupervisorStore(wrapper.pinia).tallies.get('service')?.abandoned).toBe(1)

    socket.deliver({ type: 'snapshot', data: { ...SNAPSHOT, agents: [agent('2001', 'wrap-up')] } })
    await flushPromises()
    expect(wrapper.find('[data-test="grid-agent-2003"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="grid-state-2001"]').text()).toBe('话后处理')
    live.stop()
  }, SLOW)

  it('keeps the deltas newer than a snapshot read over REST that answered late', async () => {
    await setup(person(['supervisor.monitor']))
    const board = useSupervisorStore()
    const ended = { ...CALL, call_id: 'cti-c8', queued_at: 96, answered_at: null, ended_at: 101, at: 101 }
    board.apply(event('agent.state', agent('2002', 'ready', { since: 101, at: 101 })))
    board.apply(event('agent.state', agent('2001', 'wrap-up', { since: 99, at: 99 })))
    board.apply(event('call.updated', ended))
    board.load(SNAPSHOT) // read at 100: before 2002 went ready, after 2001's older change
    expect(board.agents.get('2002')?.state).toBe('ready')
    expect(board.agents.get('2001')?.state).toBe('talking')
    expect(board.tallies.get('service')?.abandoned).toBe(1) // counted once, not per replay
    board.apply(event('snapshot', { ...SNAPSHOT, at: 5 })) // a restarted engine
    expect(board.agents.get('2002')?.state).toBe('not-ready')
  })

  it('shows no control to someone who may only watch', async () => {
    const wrapper = await mountConsole([])
    for (const testId of Object.values(CONTROLS)) {
      expect(wrapper.find(`[data-test="${testId}"]`).exists(), testId).toBe(false)
    }
    expect(wrapper.find('[data-test="monitor-phone"]').exists()).toBe(false)
  })

  it('shows each control exactly when its code is held', async () => {
    for (const [code, testId] of Object.entries(CONTROLS)) {
      const wrapper = await mountConsole([code])
      const shown = Object.values(CONTROLS).filter((id) => wrapper.find(`[data-test="${id}"]`).exists())
      expect(shown, code).toEqual([testId])
      wrapper.unmount()
    }
  }, 60_000)

  it('barges into the selected agent’s call from the browser phone', async () => {
    const wrapper = await mountConsole(['supervisor.barge', 'desk.use'], 'en')
    expect(wrapper.find('[data-test="sv-barge"]').attributes('disabled')).toBeDefined()
    await wrapper.find('[data-test="grid-agent-2001"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="selected-agent"]').text()).toBe('Selected agent: 2001')
    await wrapper.find('[data-test="sv-barge"]').trigger('click')
    await flushPromises()
    const barge = fetches.calls.find((c) => c.path === '/supervisor/calls/cti-c7/barge')
    expect((barge?.body as { phone: string }).phone).toBe('agent:browser-8001-auto')
    const live = useLiveStore(wrapper.pinia)
    live.start(() => undefined)
    FakeSocket.last!.deliver({ type: 'call.updated', data: { ...CALL, supervisors: { '8001': 'barge' }, at: 103 } })
    await vi.waitFor(() => expect(wrapper.find('[data-test="grid-monitor-2001"]').text()).toBe('Barge in 8001'))
    live.stop()
  }, SLOW)
})
