// Preview dialing on the agent desktop: the lead on preview with its campaign and custom
// fields, the countdown to its deadline, Dial and Skip (buttons and shortcuts) for the
// holders of their codes only, and a reread when the server names this agent.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import PreviewPanel from '@/views/desk/PreviewPanel.vue'
import { useLiveStore } from '@/stores/live'
import type { PreviewOffer } from '@/api/preview'
import { fakeFetch, FakeSocket, mountWith, person, setup, type RecordedCall } from './helpers'

const SLOW = 20_000 // several Element Plus mounts on a busy machine
const BOTH = ['desk.use', 'preview.accept', 'preview.skip']

function previewOffer(overrides: Partial<PreviewOffer> = {}): PreviewOffer {
  return {
    offer_id: 'pv1',
    agent_no: '1001',
    campaign: { id: 7, name: '车险续保回访' },
    lead: { id: 42, name: '王芳', phone: '+8613600000001', fields: { city: '杭州', policy: '车险续保' } },
    offered_at: '2026-11-25T02:00:00+00:00',
    expires_at: '2026-11-25T02:00:30+00:00',
    seconds_left: 25,
    dial_on_timeout: true,
    at: '2026-11-25T02:00:05+00:00',
    ...overrides,
  }
}

let current: PreviewOffer | null
let fetches: { calls: RecordedCall[] }
let mounted: { unmount: () => void }[] = []

beforeEach(() => {
  current = previewOffer()
  FakeSocket.last = null
  vi.stubGlobal('WebSocket', FakeSocket)
  fetches = fakeFetch({
    'GET /desk/preview': () => ({ body: current }),
    'POST /desk/preview/accept': () => {
      current = null
      return { body: { call_id: 'cti-c9', campaign_id: 7, lead_id: 42 } }
    },
    'POST /desk/preview/skip': () => {
      current = null
      return { status: 204 }
    },
  })
})

afterEach(() => {
  for (const wrapper of mounted) wrapper.unmount() // the panels' shortcuts listen on window
  mounted = []
  vi.useRealTimers()
  document.body.innerHTML = ''
})

async function mountPanel(permissions: string[] = BOTH, locale: 'zh-CN' | 'en' = 'zh-CN') {
  const env = await setup(person(permissions, { agent_no: '1001' }), locale, '/desk')
  const wrapper = mountWith(PreviewPanel, env)
  mounted.push(wrapper)
  await flushPromises()
  return Object.assign(wrapper, { pinia: env.pinia })
}

const posted = () => fetches.calls.filter((c) => c.method === 'POST').map((c) => c.path)

describe('the preview panel', () => {
  it('shows the lead, its campaign and custom fields, and counts down to the deadline', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] })
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-test="preview-name"]').text()).toBe('王芳')
    expect(wrapper.find('[data-test="preview-number"]').text()).toBe('+8613600000001')
    expect(wrapper.find('[data-test="preview-campaign"]').text()).toBe('车险续保回访')
    expect(wrapper.findAll('[data-test="preview-field"]').map((f) => f.text())).toEqual(['杭州', '车险续保'])
    expect(wrapper.find('[data-test="preview-lead"]').text()).toContain('city')
    expect(wrapper.find('[data-test="preview-left"]').text()).toBe('剩余 25 秒')
    expect(wrapper.find('[data-test="preview-deadline"]').text()).toBe('倒计时结束将自动拨打')
    vi.advanceTimersByTime(10_000)
    await flushPromises()
    expect(wrapper.find('[data-test="preview-left"]').text()).toBe('剩余 15 秒')
    vi.advanceTimersByTime(15_500)
    await flushPromises()
    expect(wrapper.find('[data-test="preview-left"]').text()).toBe('剩余 0 秒') // never below
    current = null // the server dialled at the deadline; its event was lost
    const reads = () => fetches.calls.filter((c) => c.path === '/desk/preview').length
    const before = reads()
    vi.advanceTimersByTime(3000)
    await flushPromises()
    expect(reads()).toBe(before + 1) // asked once more, a little after the deadline
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)
  })

  it('speaks English, and says when the deadline skips instead of dialling', async () => {
    current = previewOffer({ dial_on_timeout: false })
    const wrapper = await mountPanel(BOTH, 'en')
    expect(wrapper.find('[data-test="preview-left"]').text()).toBe('25 s left')
    expect(wrapper.find('[data-test="preview-deadline"]').text()).toBe(
      'Skipped automatically when the timer runs out',
    )
    expect(wrapper.find('[data-test="preview-accept"]').text()).toBe('Dial now')
  })

  it('shows nothing without a lead on preview', async () => {
    current = null
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)
  })

  it('dials the lead on Dial and tells the desktop the call is placed', async () => {
    const wrapper = await mountPanel()
    await wrapper.find('[data-test="preview-accept"]').trigger('click')
    await flushPromises()
    expect(posted()).toEqual(['/desk/preview/accept'])
    expect(wrapper.emitted('placed')).toEqual([[{ call_id: 'cti-c9', campaign_id: 7, lead_id: 42 }]])
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)
  })

  it('skips with the reason given', async () => {
    const wrapper = await mountPanel()
    const input = wrapper.find('input[data-test="preview-skip-reason"], [data-test="preview-skip-reason"] input')
    await input.setValue('客户要求晚上再打')
    await wrapper.find('[data-test="preview-skip"]').trigger('click')
    await flushPromises()
    const skip = fetches.calls.find((c) => c.path === '/desk/preview/skip')
    expect((skip?.body as { reason: string }).reason).toBe('客户要求晚上再打')
    expect(wrapper.emitted('skipped')).toHaveLength(1)
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)
  })

  it('hides each button from someone without its code', async () => {
    const neither = await mountPanel(['desk.use'])
    expect(neither.find('[data-test="preview-name"]').text()).toBe('王芳') // still shown
    expect(neither.find('[data-test="preview-accept"]').exists()).toBe(false)
    expect(neither.find('[data-test="preview-skip"]').exists()).toBe(false)
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyC', altKey: true }))
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyS', altKey: true }))
    await flushPromises()
    expect(posted()).toEqual([]) // the shortcuts need the codes too
    const dialOnly = await mountPanel(['desk.use', 'preview.accept'])
    expect(dialOnly.find('[data-test="preview-accept"]').exists()).toBe(true)
    expect(dialOnly.find('[data-test="preview-skip"]').exists()).toBe(false)
    const skipOnly = await mountPanel(['desk.use', 'preview.skip'])
    expect(skipOnly.find('[data-test="preview-accept"]').exists()).toBe(false)
    expect(skipOnly.find('[data-test="preview-skip"]').exists()).toBe(true)
  }, SLOW)

  it('dials on Alt+C and skips on Alt+S', async () => {
    const wrapper = await mountPanel()
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyS', altKey: true }))
    await flushPromises()
    expect(posted()).toEqual(['/desk/preview/skip'])
    current = previewOffer({ offer_id: 'pv2' })
    await (wrapper.vm as unknown as { load: () => Promise<void> }).load()
    await flushPromises()
    window.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyC', altKey: true }))
    await flushPromises()
    expect(posted()).toEqual(['/desk/preview/skip', '/desk/preview/accept'])
  })

  it('rereads the offer when the server names this agent, and after a reconnect', async () => {
    current = null
    const wrapper = await mountPanel()
    const live = useLiveStore(wrapper.pinia)
    live.start(() => undefined)
    const socket = FakeSocket.last!
    const reads = () => fetches.calls.filter((c) => c.path === '/desk/preview').length
    const before = reads()

    current = previewOffer()
    socket.deliver({ type: 'preview.offered', data: { agent_no: '2002', offer_id: 'pv5' } })
    await flushPromises()
    expect(reads()).toBe(before) // another agent's lead
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)
    socket.deliver({ type: 'preview.offered', data: { agent_no: '1001', offer_id: 'pv1' } })
    await flushPromises()
    expect(reads()).toBe(before + 1)
    expect(wrapper.find('[data-test="preview-name"]').text()).toBe('王芳')

    current = null
    socket.deliver({ type: 'preview.ended', data: { agent_no: '1001', reason: 'lapsed' } })
    await flushPromises()
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(false)

    current = previewOffer({ offer_id: 'pv3' })
    socket.deliver({ type: 'hello', data: { agent_no: '1001', permissions: BOTH } })
    await flushPromises()
    expect(wrapper.find('[data-test="preview-panel"]').exists()).toBe(true)
    live.stop()
  })
})
