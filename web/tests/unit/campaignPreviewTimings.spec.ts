// The campaign form's preview timings (预览倒计时、跳过后再次拨打间隔): the countdown shown
// only for the preview mode, the skip delay for the preview and manual modes (a lead
// passed on with Next comes back after it too), empty meaning the platform's default,
// and sent with the settings.

import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import CampaignForm from '@/views/campaigns/CampaignForm.vue'
import { fakeFetch, mountWith, person, setup } from './helpers'
import { campaign, chooseMode, openTab } from './campaignFormHelpers'

const SLOW = 20_000


function field(testId: string): HTMLInputElement | null {
  // Element Plus puts the attributes of el-input-number on its outer <div>.
  return document.querySelector(`[data-test="${testId}"] input`)
}

function label(testId: string): string {
  return field(testId)?.closest('.el-form-item')?.querySelector('.el-form-item__label')?.textContent ?? ''
}

function help(): string {
  return document.querySelector('[data-test="cf-skip-delay-help"]')?.textContent ?? ''
}



async function type(testId: string, value: string): Promise<void> {
  const input = (field(testId) ?? document.querySelector(`[data-test="${testId}"]`)) as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
  input.dispatchEvent(new Event('change'))
  await flushPromises()
}

async function save(): Promise<void> {
  ;(document.querySelector('[data-test="cf-save"]') as HTMLElement).click()
  await flushPromises()
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the preview timings of the campaign form', () => {
  it('appear for the preview mode only, empty meaning the platform default', async () => {
    const fetches = fakeFetch({ 'POST /campaigns': { status: 201, body: campaign(9, '房贷预审', {}) } })
    const env = await setup(person(['campaign.view', 'campaign.create']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: null } })
    await flushPromises()
    await type('cf-name', '满意度调查')
    await openTab('dialing')
    expect(field('cf-preview-timeout')).toBeNull() // progressive, the default mode
    expect(field('cf-preview-skip-delay')).toBeNull()

    await chooseMode(wrapper, 'preview')
    expect(label('cf-preview-timeout')).toBe('预览倒计时（秒）')
    expect(label('cf-preview-skip-delay')).toBe('跳过后再次拨打间隔（分钟）')
    expect(help()).toContain('预览外呼')
    expect(help()).toContain('手动外呼')
    expect(field('cf-preview-timeout')!.placeholder).toBe('留空使用平台默认')
    expect(field('cf-preview-timeout')!.value).toBe('')
    await type('cf-preview-timeout', '10')

    await chooseMode(wrapper, 'manual')
    expect(field('cf-preview-timeout')).toBeNull() // the countdown is preview's alone
    expect(label('cf-preview-skip-delay')).toBe('跳过后再次拨打间隔（分钟）')
    await chooseMode(wrapper, 'power')
    expect(field('cf-preview-skip-delay')).toBeNull()
    await chooseMode(wrapper, 'preview')
    expect(field('cf-preview-timeout')!.value).toBe('10') // kept while hidden

    await save()
    const sent = fetches.calls.find((c) => c.method === 'POST' && c.path === '/campaigns')
    const settings = (sent!.body as { settings: Record<string, unknown> }).settings
    expect(settings).toMatchObject({ dialing_mode: 'preview', preview_timeout_seconds: 10 })
    expect(settings.preview_skip_delay_minutes).toBeNull() // left empty: the platform's
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)

  it("shows a preview campaign's own timings and sends them back as edited", async () => {
    const own = campaign(5, '房贷预审', { dialing_mode: 'preview', preview_timeout_seconds: 60, preview_skip_delay_minutes: 30 })
    const fetches = fakeFetch({ 'PATCH /campaigns/5': { body: own } })
    const env = await setup(person(['campaign.view', 'campaign.edit']), 'en', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: own } })
    await flushPromises()
    await openTab('dialing')
    expect(label('cf-preview-timeout')).toBe('Preview countdown (s)')
    expect(label('cf-preview-skip-delay')).toBe('Skipped lead comes back after (min)')
    expect(field('cf-preview-skip-delay')!.placeholder).toBe('empty = platform default')
    expect(field('cf-preview-timeout')!.value).toBe('60')
    expect(field('cf-preview-skip-delay')!.value).toBe('30')
    await type('cf-preview-skip-delay', '1440')

    await save()
    const sent = fetches.calls.find((c) => c.method === 'PATCH' && c.path === '/campaigns/5')
    expect((sent!.body as { settings: Record<string, unknown> }).settings).toMatchObject({
      dialing_mode: 'preview',
      preview_timeout_seconds: 60,
      preview_skip_delay_minutes: 1440,
    })
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)

  it("shows a manual campaign's own skip delay, without the countdown, and sends it back", async () => {
    const own = campaign(7, '房贷预审', { dialing_mode: 'manual', preview_skip_delay_minutes: 45 })
    const fetches = fakeFetch({ 'PATCH /campaigns/7': { body: own } })
    const env = await setup(person(['campaign.view', 'campaign.edit']), 'en', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: own } })
    await flushPromises()
    await openTab('dialing')
    expect(field('cf-preview-timeout')).toBeNull()
    expect(label('cf-preview-skip-delay')).toBe('Skipped lead comes back after (min)')
    expect(help()).toContain('passes on with Next (manual)')
    expect(field('cf-preview-skip-delay')!.value).toBe('45')
    await type('cf-preview-skip-delay', '5')

    await save()
    const sent = fetches.calls.find((c) => c.method === 'PATCH' && c.path === '/campaigns/7')
    const settings = (sent!.body as { settings: Record<string, unknown> }).settings
    expect(settings).toMatchObject({ dialing_mode: 'manual', preview_skip_delay_minutes: 5 })
    expect(settings.preview_timeout_seconds).toBeNull() // never set: the platform's
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)

  it('sends the skip delay typed for a new manual campaign', async () => {
    const fetches = fakeFetch({ 'POST /campaigns': { status: 201, body: campaign(8, '房贷预审', {}) } })
    const env = await setup(person(['campaign.view', 'campaign.create']), 'zh-CN', '/campaigns')
    const wrapper = mountWith(CampaignForm, env, { props: { campaign: null } })
    await flushPromises()
    await type('cf-name', '保单回访')
    await openTab('dialing')
    await chooseMode(wrapper, 'manual')
    expect(field('cf-preview-skip-delay')!.placeholder).toBe('留空使用平台默认')
    await type('cf-preview-skip-delay', '120')

    await save()
    const sent = fetches.calls.find((c) => c.method === 'POST' && c.path === '/campaigns')
    const settings = (sent!.body as { settings: Record<string, unknown> }).settings
    expect(settings).toMatchObject({ dialing_mode: 'manual', preview_skip_delay_minutes: 120 })
    expect(wrapper.emitted('saved')).toHaveLength(1)
  }, SLOW)
})
