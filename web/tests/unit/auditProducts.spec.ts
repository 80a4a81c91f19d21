// An operator edits a product in the products screen: the attributes' defaults, which the
// screen does not show, travel back unchanged rather than being wiped by the save; one
// whose attribute changed type, or whose choice was taken away, is dropped.

import { describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import ProductsView from '@/views/campaigns/ProductsView.vue'
import type { Product } from '@/api/campaigns'
import { fakeFetch, mountWith, person, setup } from './helpers'

const SLOW = 20_000

const CAR: Product = {
  id: 7,
  name: '车险',
  description: '',
  attributes: [
    { key: 'plan', label: '方案', type: 'choice', required: true, choices: ['基础', '全险'], default: '全险' },
    { key: 'years', label: '年限', type: 'number', required: false, choices: [], default: '1' },
    { key: 'colour', label: '颜色', type: 'choice', required: false, choices: ['白', '黑'], default: '白' },
  ],
  created_at: '2026-11-25T02:00:00Z',
  updated_at: '2026-11-25T02:00:00Z',
}

describe('editing a product', () => {
  it('keeps the defaults it cannot show, unless they no longer fit', async () => {
    const fetches = fakeFetch({
      'GET /products': { body: [CAR] },
      'PATCH /products/7': { body: CAR },
    })
    const env = await setup(person(['product.view', 'product.manage']), 'zh-CN', '/products')
    const wrapper = mountWith(ProductsView, env)
    await flushPromises()
    const buttons = wrapper.findAll('[data-test="product-table"] .el-table__row .el-button')
    await buttons[0]!.trigger('click')
    await flushPromises()
    const inputs = document.querySelectorAll<HTMLInputElement>('.el-dialog .el-table__row input')
    // The third row's choices input: 白 is taken away.
    const colourChoices = [...inputs].filter((input) => input.value === '白, 黑')[0]!
    colourChoices.value = '黑, 灰'
    colourChoices.dispatchEvent(new Event('input'))
    await flushPromises()
    ;(document.querySelector('[data-test="product-save"]') as HTMLElement).click()
    await flushPromises()

    const patch = fetches.calls.find((c) => c.method === 'PATCH')
    const sent = (patch?.body as { attributes: { key: string; default: string }[] }).attributes
    expect(sent.map((a) => [a.key, a.default])).toEqual([['plan', '全险'], ['years', '1'], ['colour', '']])
    wrapper.unmount()
  }, SLOW)
})
