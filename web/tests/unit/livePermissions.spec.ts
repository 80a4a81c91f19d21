// A button taken away while the page is open disappears without a reload: the server
// says `permissions.changed` naming a role or a person, the auth store reads /me again
// when that concerns us (and after the live stream reconnects), and every `can()` follows.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import AgentsView from '@/views/admin/AgentsView.vue'
import { concernsMe, useAuthStore } from '@/stores/auth'
import { useLiveStore } from '@/stores/live'
import type { LiveEvent } from '@/ws/events'
import type { Me } from '@/api/types'
import { fakeFetch, FakeSocket, mountWith, person, setup, type RecordedCall } from './helpers'

const SELLER: Me = person(['agent.view', 'agent.create'], { agent_no: '1001', roles: ['seller'] })
let now: Me = SELLER
let fetches: { calls: RecordedCall[] }

const stops: (() => void)[] = []

/** The live stream on a fake socket; returns the socket, to deliver events on. */
function startLive(): FakeSocket {
  const live = useLiveStore()
  live.start(() => undefined)
  stops.push(() => live.stop())
  return FakeSocket.last!
}

const meReads = () => fetches.calls.filter((c) => c.method === 'GET' && c.path === '/me').length
const changed = (data: Record<string, unknown>): LiveEvent => ({ type: 'permissions.changed', data })

beforeEach(() => {
  FakeSocket.last = null
  now = SELLER
  vi.stubGlobal('WebSocket', FakeSocket)
  fetches = fakeFetch({
    'GET /me': () => ({ body: now }),
    'GET /agents': { body: { items: [], total: 0 } },
    'GET /roles': { body: [] },
  })
})

afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  document.body.innerHTML = ''
})

describe('whether a live event concerns me', () => {
  it('is yes for my role, for me by number, and for a reconnection; no for the others', () => {
    expect(concernsMe(changed({ role: 'seller' }), SELLER)).toBe(true)
    expect(concernsMe(changed({ role: 'auditor' }), SELLER)).toBe(false)
    expect(concernsMe(changed({ agent_no: '1001' }), SELLER)).toBe(true)
    expect(concernsMe(changed({ agent_no: '1002' }), SELLER)).toBe(false)
    expect(concernsMe(changed({}), SELLER)).toBe(true)
    expect(concernsMe({ type: 'hello', data: {} }, SELLER)).toBe(true)
    expect(concernsMe({ type: 'agent.updated', data: { agent_no: '1001' } }, SELLER)).toBe(false)
    expect(concernsMe(changed({ role: 'seller' }), null)).toBe(false)
  })
})

describe('the auth store on the live stream', () => {
  it('hides a button as soon as its code is taken from my role, without a reload', async () => {
    const env = await setup(SELLER)
    const wrapper = mountWith(AgentsView, env)
    const socket = startLive()
    await flushPromises()
    expect(wrapper.find('[data-test="agent-create"]').exists()).toBe(true)

    now = { ...SELLER, permissions: ['agent.view'] }
    socket.deliver(changed({ role: 'seller' }))
    await vi.waitFor(() => expect(wrapper.find('[data-test="agent-create"]').exists()).toBe(false))
    expect(useAuthStore().can('agent.create')).toBe(false)
    expect(meReads()).toBe(1)
    wrapper.unmount()
  })

  it('reads /me only for events about my roles or me', async () => {
    await setup(SELLER)
    const auth = useAuthStore()
    const socket = startLive()
    socket.deliver(changed({ role: 'auditor' }))
    socket.deliver(changed({ agent_no: '1002' }))
    await flushPromises()
    expect(meReads()).toBe(0)

    now = { ...SELLER, roles: ['seller', 'auditor'], permissions: ['agent.view', 'agent.create', 'audit.view'] }
    socket.deliver(changed({ agent_no: '1001' }))
    await vi.waitFor(() => expect(auth.can('audit.view')).toBe(true))
    expect(meReads()).toBe(1)
  })

  it('reads /me again after the live stream reconnects', async () => {
    await setup(SELLER)
    const auth = useAuthStore()
    const socket = startLive()
    now = { ...SELLER, permissions: ['agent.view'] } // changed while the stream was down
    socket.deliver({ type: 'hello', data: { agent_no: '1001', permissions: ['agent.view'] } })
    await vi.waitFor(() => expect(auth.can('agent.create')).toBe(false))
  })

  it('coalesces a burst of changes into one read after the one in flight', async () => {
    await setup(SELLER)
    const auth = useAuthStore()
    const reads = [auth.reload(), auth.reload(), auth.reload()]
    await Promise.all(reads)
    expect(meReads()).toBe(2)
  })
})
