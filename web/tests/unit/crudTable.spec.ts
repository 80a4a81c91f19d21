// The campaign admin tables share one create/edit/delete pattern (composables/crudTable):
// told through the scripts screen, a new script is created and the table reloaded, a row
// opens the same dialog filled from it to be updated, and a row is removed only once the
// person confirms.

import { describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import ScriptsView from '@/views/campaigns/ScriptsView.vue'
import type { Script } from '@/api/campaigns'
import { fakeFetch, mountWith, person, setup } from './helpers'

const SLOW = 20_000

const GREETING: Script = {
  id: 4, name: '开场白', body: '您好，{{lead.name}}', created_at: '2026-11-25T02:00:00Z', updated_at: '2026-11-25T02:00:00Z',
} as Script

async function type(testId: string, value: string): Promise<void> {
  const input = document.querySelector(`[data-test="${testId}"]`) as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

function click(selector: string): void {
  ;(document.querySelector(selector) as HTMLElement).click()
}

describe('the shared admin table', () => {
  it('creates a script from the trimmed form, then reloads the table', async () => {
    let rows: Script[] = []
    const fetches = fakeFetch({
      'GET /scripts': () => ({ body: rows }),
      'POST /scripts': (call) => {
        rows = [{ ...GREETING, ...(call.body as object) }]
        return { status: 201, body: rows[0] }
      },
    })
    const env = await setup(person(['script.view', 'script.manage']), 'zh-CN', '/scripts')
    const wrapper = mountWith(ScriptsView, env)
    await flushPromises()
    click('[data-test="script-create"]')
    await flushPromises()
    await type('script-name', '  结束语 ')
    await type('script-body', '感谢接听')
    click('[data-test="script-save"]')
    await flushPromises()
    const sent = fetches.calls.filter((c) => c.method === 'POST')
    expect(sent.map((c) => c.body)).toEqual([{ name: '结束语', body: '感谢接听' }])
    expect(fetches.calls.filter((c) => c.method === 'GET')).toHaveLength(2)
    expect(wrapper.find('[data-test="script-table"]').text()).toContain('结束语')
    wrapper.unmount()
  }, SLOW)

  it('updates the row it was opened on and removes a row once confirmed', async () => {
    const fetches = fakeFetch({
      'GET /scripts': { body: [GREETING] },
      'PATCH /scripts/4': { body: GREETING },
      'DELETE /scripts/4': { status: 204 },
    })
    const env = await setup(person(['script.view', 'script.manage']), 'zh-CN', '/scripts')
    const wrapper = mountWith(ScriptsView, env)
    await flushPromises()
    const buttons = wrapper.findAll('[data-test="script-table"] .el-table__row .el-button')
    await buttons[0]!.trigger('click')
    await flushPromises()
    await type('script-body', '您好')
    click('[data-test="script-save"]')
    await flushPromises()
    const patch = fetches.calls.find((c) => c.method === 'PATCH')
    expect(patch?.body).toEqual({ name: '开场白', body: '您好' })
    await buttons[1]!.trigger('click')
    await flushPromises()
    expect(fetches.calls.some((c) => c.method === 'DELETE')).toBe(false)
    click('.el-message-box__btns .el-button--primary')
    await new Promise((resolve) => setTimeout(resolve, 50))
    await flushPromises()
    expect(fetches.calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/scripts/4'])
    wrapper.unmount()
  }, SLOW)
})
