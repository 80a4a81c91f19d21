// Manual dialing on the agent desktop: the lead held for this agent in a running manual
// campaign, with its campaign and custom fields; Dial sends the lead through the desk's
// dial with its campaign, Next passes it on and shows the next one; refusals are shown
// in the server's words; nothing is shown to an agent outside such campaigns.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { ElMessage } from 'element-plus'
import ManualPanel from '@/views/desk/ManualPanel.vue'
import { useDeskStore } from '@/stores/desk'
import { useLiveStore } from '@/stores/live'
import type { ManualCampaign, ManualLead, ManualView } from '@/api/cti'
import { fakeFetch, FakeSocket, mountWith, person, setup } from './helpers'

const RENEWALS: ManualCampaign = { id: 7, name: '保单回访' }
const WINBACK: ManualCampaign = { id: 9, name: '老客户召回' }
const WANG: ManualLead = { id: 42, name: '王芳', phone: '+8613600000001', fields: { city: '杭州', policy: '车险续保' } }
const LI: ManualLead = { id: 43, name: '李雷', phone: '+8613600000002', fields: {} }

let campaigns: ManualCampaign[]
let queue: Record<number, ManualLead[]> // each campaign's leads, next first
let held: { campaign: ManualCampaign; lead: ManualLead } | null
let dialAnswer: { status: number; body: unknown } | null
let fetches: ReturnType<typeof fakeFetch>
let mounted: { unmount: () => void }[] = []

function answer(campaign: ManualCampaign | null, lead: ManualLead | null): ManualView {
  const reason = campaign && !lead ? { code: 'no-leads', zh: '没有可拨打的名单', en: 'no lead may be dialled now' } : null
  return { campaigns, campaign, lead, reason, hold_seconds: 1800, at: '2026-11-25T02:00:00+00:00' }
}

/** The URL of the request being answered (the recorded path leaves out the query). */
const asked = () => new URL(String(fetches.fetchMock.mock.calls.at(-1)![0]), 'http://ui.test')

beforeEach(() => {
  campaigns = [RENEWALS]
  queue = { 7: [WANG, LI], 9: [] }
  held = null
  dialAnswer = null
  FakeSocket.last = null
  vi.stubGlobal('WebSocket', FakeSocket)
  fetches = fakeFetch({
    'GET /desk/manual': () => {
      const id = asked().searchParams.get('campaign_id')
      const wanted = campaigns.find((c) => String(c.id) === id)
      if (!wanted) return { body: answer(held?.campaign ?? null, held?.lead ?? null) }
      if (held?.campaign.id !== wanted.id) {
        const next = queue[wanted.id].shift()
        held = next ? { campaign: wanted, lead: next } : null
      }
      return { body: answer(wanted, held?.lead ?? null) }
    },
    'POST /desk/dial': () => {
      if (dialAnswer) return dialAnswer
      const placed = { call_id: 'cti-c9', campaign_id: held!.campaign.id, lead_id: held!.lead.id }
      held = null
      return { body: placed }
    },
    'POST /desk/manual/release': () => {
      held = null
      return { body: { campaign_id: 7, lead_id: 42, back_at: '2026-11-25T03:00:00+00:00' } }
    },
  })
})

afterEach(() => {
  for (const wrapper of mounted) wrapper.unmount()
  mounted = []
  vi.restoreAllMocks()
  document.body.innerHTML = ''
})

async function mountPanel(permissions = ['desk.use', 'call.dial'], locale: 'zh-CN' | 'en' = 'zh-CN') {
  const env = await setup(person(permissions, { agent_no: '1001' }), locale, '/desk')
  const wrapper = mountWith(ManualPanel, env)
  mounted.push(wrapper)
  await flushPromises()
  return Object.assign(wrapper, { pinia: env.pinia })
}

const posted = () => fetches.calls.filter((c) => c.method === 'POST')
const reads = () =>
  fetches.fetchMock.mock.calls
    .map(([input, init]) => [String(input), (init as RequestInit | undefined)?.method ?? 'GET'])
    .filter(([url, method]) => url.includes('/desk/manual') && method === 'GET')
    .map(([url]) => url.replace(/^.*\/api\/v1/, ''))

describe('the manual dialing panel', () => {
  it('shows the lead held in the campaign, with its custom fields', async () => {
    const wrapper = await mountPanel()
    expect(wrapper.find('.el-card__header').text()).toContain('手动外呼')
    expect(wrapper.find('[data-test="manual-campaign"]').text()).toBe('保单回访')
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('王芳')
    expect(wrapper.find('[data-test="manual-number"]').text()).toBe('+8613600000001')
    expect(wrapper.findAll('[data-test="manual-field"]').map((f) => f.text())).toEqual(['杭州', '车险续保'])
    expect(wrapper.find('[data-test="manual-held"]').text()).toBe('该名单号码为您保留 30 分钟')
    expect(wrapper.find('[data-test="manual-dial"]').text()).toBe('拨打')
    expect(wrapper.find('[data-test="manual-next"]').text()).toBe('下一个')
    // Looked first without a campaign (nothing taken), then took the campaign's next lead.
    expect(reads()).toEqual(['/desk/manual', '/desk/manual?campaign_id=7'])
  })

  it('speaks English', async () => {
    const wrapper = await mountPanel(['desk.use', 'call.dial'], 'en')
    expect(wrapper.find('.el-card__header').text()).toContain('Manual dialing')
    expect(wrapper.find('[data-test="manual-dial"]').text()).toBe('Dial')
    expect(wrapper.find('[data-test="manual-next"]').text()).toBe('Next')
    expect(wrapper.find('[data-test="manual-held"]').text()).toBe('This lead is kept for you for 30 min')
  })

  it('shows nothing to an agent outside every running manual campaign', async () => {
    campaigns = []
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-test="manual-panel"]').exists()).toBe(false)
    expect(reads()).toHaveLength(1) // and takes nothing
  })

  it('dials the lead with its campaign on Dial and tells the desktop', async () => {
    const wrapper = await mountPanel()
    await wrapper.find('[data-test="manual-dial"]').trigger('click')
    await flushPromises()
    const [dial] = posted()
    expect(dial.path).toBe('/desk/dial')
    expect(dial.body).toMatchObject({ number: '+8613600000001', campaign_id: 7, lead_id: 42 })
    expect((dial.body as { command_id: string }).command_id).toBeTruthy()
    expect(wrapper.emitted('placed')).toEqual([[{ call_id: 'cti-c9', campaign_id: 7, lead_id: 42 }]])
    expect(wrapper.find('[data-test="manual-lead"]').exists()).toBe(false)
  })

  it('passes on the lead on Next and shows the next one', async () => {
    const wrapper = await mountPanel()
    await wrapper.find('[data-test="manual-next"]').trigger('click')
    await flushPromises()
    expect(posted().map((c) => [c.path, c.body])).toEqual([
      ['/desk/manual/release', expect.objectContaining({ campaign_id: 7, lead_id: 42 })],
    ])
    expect(wrapper.emitted('released')).toHaveLength(1)
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('李雷')
    expect(wrapper.findAll('[data-test="manual-field"]')).toHaveLength(0)
  })

  it('says why a dial is refused, in the server words, and shows what is held then', async () => {
    const shown = vi.spyOn(ElMessage, 'error')
    const wrapper = await mountPanel()
    dialAnswer = {
      status: 409,
      body: { error: 'lead-not-dialable', message: '名单号码 42 现在不能拨打：在黑名单中', details: {} },
    }
    queue[7] = [LI]
    held = null // the server gave the refused lead back
    await wrapper.find('[data-test="manual-dial"]').trigger('click')
    await flushPromises()
    expect(shown).toHaveBeenCalledWith(expect.objectContaining({ message: '名单号码 42 现在不能拨打：在黑名单中' }))
    expect(wrapper.emitted('placed')).toBeUndefined()
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('李雷')
  })

  it('says when the campaign has no lead now, and takes one on request', async () => {
    queue[7] = []
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-test="manual-no-lead"]').text()).toBe('该任务现在没有可拨打的名单')
    queue[7] = [LI]
    await wrapper.find('[data-test="manual-take"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('李雷')
  })

  it('offers a choice among several campaigns and takes the chosen one s lead', async () => {
    campaigns = [RENEWALS, WINBACK]
    queue[9] = [LI]
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-test="manual-campaign-select"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('王芳') // the first listed
    await (wrapper.vm as unknown as { choose: (id: number) => Promise<void> }).choose(9)
    await flushPromises()
    expect(reads().at(-1)).toBe('/desk/manual?campaign_id=9')
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('李雷')
  })

  it('shows the lead but no buttons to someone who may not dial', async () => {
    const wrapper = await mountPanel(['desk.use'])
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('王芳')
    expect(wrapper.find('[data-test="manual-dial"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="manual-next"]').exists()).toBe(false)
  })

  it('waits for the wrap-up to end before it dials', async () => {
    const wrapper = await mountPanel()
    const desk = useDeskStore(wrapper.pinia)
    desk.state = { agent_no: '1001', state: 'wrap-up' }
    await flushPromises()
    const button = wrapper.find('[data-test="manual-dial"]')
    expect(button.attributes('disabled')).toBeDefined()
    await button.trigger('click')
    await flushPromises()
    expect(posted()).toEqual([])
    desk.state = { agent_no: '1001', state: 'ready' }
    await flushPromises()
    await wrapper.find('[data-test="manual-dial"]').trigger('click')
    await flushPromises()
    expect(posted().map((c) => c.path)).toEqual(['/desk/dial'])
  })

  it('reads the server again after a reconnect', async () => {
    campaigns = []
    const wrapper = await mountPanel()
    const live = useLiveStore(wrapper.pinia)
    live.start(() => undefined)
    campaigns = [RENEWALS]
    FakeSocket.last!.deliver({ type: 'hello', data: { agent_no: '1001', permissions: [] } })
    await flushPromises()
    expect(wrapper.find('[data-test="manual-name"]').text()).toBe('王芳')
    live.stop()
  })
})
