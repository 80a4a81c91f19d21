// Steps on the campaign form shared by its spec files: a campaign to edit, a tab opened,
// a dialing mode chosen.

import { expect } from 'vitest'
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { ElSelect } from 'element-plus'
import type { Campaign, DialingMode } from '@/api/campaigns'

export function campaign(id: number, name: string, settings: Partial<Campaign['settings']>): Campaign {
  return {
    id, name, description: '', state: 'draft', revision: 'none', version: 0, author_id: 1,
    commands: ['submit'], created_at: '2026-11-26T02:00:00Z', updated_at: '2026-11-26T02:00:00Z',
    settings: settings as Campaign['settings'],
  }
}

export async function openTab(name: string): Promise<void> {
  ;(document.querySelector(`#tab-${name}`) as HTMLElement).click()
  await flushPromises()
}

export async function chooseMode(wrapper: VueWrapper, mode: DialingMode): Promise<void> {
  const select = wrapper.findAllComponents(ElSelect).find((s) => s.attributes('data-test') === 'cf-mode')
  expect(select).toBeDefined()
  select!.vm.$emit('update:modelValue', mode)
  await flushPromises()
}
