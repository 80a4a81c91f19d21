// The agent's script on a campaign call: a lead's name carrying markup is shown as the
// characters it is, never turned into elements of the agent's page.

import { describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import CampaignScript from '@/views/desk/CampaignScript.vue'
import { fakeFetch, mountWith, person, setup } from './helpers'

const NAME = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>张伟'

describe('the script on the desk', () => {
  it('shows markup in a lead field as text', async () => {
    const fetches = fakeFetch({
      'GET /scripts/campaign/3': { body: { text: `${NAME}您好`, missing: [] } },
    })
    const env = await setup(person(['script.view', 'lead.view']), 'zh-CN', '/')
    const wrapper = mountWith(CampaignScript, env, { props: { campaignId: 3, leadId: 9 } })
    await flushPromises()

    const shown = wrapper.find('[data-test="campaign-script-text"]')
    expect(shown.text()).toBe(`${NAME}您好`)
    expect(shown.element.querySelector('img, script')).toBeNull()
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined()
    expect(fetches.calls.map((c) => c.path)).toEqual(['/scripts/campaign/3'])
    wrapper.unmount()
  }, 20_000)
})
