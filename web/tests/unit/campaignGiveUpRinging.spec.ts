// The campaign form's "give up long-ringing calls" switch (振铃满 15 秒后按需放弃): shown
// beside the ring time for the predictive mode only, off for a new campaign, with its help
// text, kept while hidden, loaded on edit and sent with the settings.

import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import CampaignForm from '@/views/campaigns/CampaignForm.vue'
import { fakeFetch, mountWith, person, setup } from './helpers'
import { campaign, chooseMode, openTab } from './campaignFormHelpers'

const SLOW = 20_000


function giveUp(): HTMLElement | null {
  return document.querySelector('[data-test="cf-give-up"]')
}

function isOn(): boolean {
  return giveUp()!.classList.contains('is-checked')
}

function label(): string {
  return giveUp()?.closest('.el-form-item')?.querySelector('.el-form-item__label')?.textContent ?? ''
}

function help(): string {
  return document.querySelector('[data-test="cf-give-up-help"]')?.textContent ?? ''
}

async function typeName(value: string): Promise<void> {
  // Element Plus puts the attributes of el-input on its <input>.
  const input = document.querySelector('input[data-test="cf-name"]') as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}



async function click(element: HTMLElement | null): Promise<void> {
  expect(element).not.toBeNull()
  element!.click()
  await flushPromises()
}

async function save(): Promise<void> {
  await click(document.querySelector('[data-test="cf-save"]'))
}

function sentSettings(fetches: ReturnType<typeof fakeFetch>, method: string, path: string): Record<string, unknown> {
  const sent = fetches.calls.find((c) => c.method === method && c.path === path)
  expect(sent).toBeDefined()
  return (sent!.body as { settings: Record<string, unknown> }).settings
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the give-up-ringing switch of the campaign form', () => {
  it('appears beside the ring time for the predictive mode only, off, and is sent when switched on', async () => {
    const fetches = fakeFetch({ 'POST /campaigns': { status: 201, body: campaign(9, '车险续保', {}) } })
    const env = await setup(person(['campaign.view', 'campaign.create']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: null } })
    await flushPromises()
    await typeName('车险续保')
    await openTab('compliance')
    expect(document.querySelector('[data-test="cf-ring"]')).not.toBeNull()
    expect(giveUp()).toBeNull() // progressive, the default mode

    await openTab('dialing')
    for (const mode of ['power', 'preview', 'manual', 'ivr_broadcast'] as const) {
      await chooseMode(wrapper, mode)
      await openTab('compliance')
      expect(giveUp(), mode).toBeNull()
      await openTab('dialing')
    }
    await chooseMode(wrapper, 'predictive')
    await openTab('compliance')
    expect(label()).toBe('振铃满 15 秒后按需放弃')
    expect(help()).toContain('预测式外呼')
    expect(help()).toContain('不计为放弃呼叫')
    // Beside the ring time: the next form item after it.
    const ring = document.querySelector('[data-test="cf-ring"]')!.closest('.el-form-item')!
    expect(ring.nextElementSibling?.contains(giveUp())).toBe(true)
    expect(isOn()).toBe(false) // off unless an operator chooses it
    await click(giveUp())
    expect(isOn()).toBe(true)

    await save()
    const settings = sentSettings(fetches, 'POST', '/campaigns')
    expect(settings).toMatchObject({ dialing_mode: 'predictive', give_up_ringing: true })
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)

  it('sends it off for a new campaign left alone', async () => {
    const fetches = fakeFetch({ 'POST /campaigns': { status: 201, body: campaign(8, '车险续保', {}) } })
    const env = await setup(person(['campaign.view', 'campaign.create']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: null } })
    await flushPromises()
    await typeName('保单回访')
    await openTab('dialing')
    await chooseMode(wrapper, 'predictive')

    await save()
    expect(sentSettings(fetches, 'POST', '/campaigns')).toMatchObject({
      dialing_mode: 'predictive',
      give_up_ringing: false,
    })
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)

  it("shows a predictive campaign's choice in English, keeps it while hidden, and sends it back switched off", async () => {
    const own = campaign(5, '车险续保', { dialing_mode: 'predictive', ring_seconds: 30, give_up_ringing: true })
    const fetches = fakeFetch({ 'PATCH /campaigns/5': { body: own } })
    const env = await setup(person(['campaign.view', 'campaign.edit']), 'en', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: own } })
    await flushPromises()
    await openTab('compliance')
    expect(label()).toBe('Give up calls after 15 s of ringing when no agent is expected')
    expect(help()).toContain('Predictive dialing')
    expect(help()).toContain('(not an abandoned call)')
    expect(help()).toContain('more numbers are dialled')
    expect(isOn()).toBe(true)

    await openTab('dialing')
    await chooseMode(wrapper, 'power')
    await openTab('compliance')
    expect(giveUp()).toBeNull()
    await openTab('dialing')
    await chooseMode(wrapper, 'predictive')
    await openTab('compliance')
    expect(isOn()).toBe(true) // kept while hidden
    await click(giveUp())
    expect(isOn()).toBe(false)

    await save()
    expect(sentSettings(fetches, 'PATCH', '/campaigns/5')).toMatchObject({
      dialing_mode: 'predictive',
      ring_seconds: 30,
      give_up_ringing: false,
    })
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)
})
