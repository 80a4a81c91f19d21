// End-to-end: a campaign call on the agent desktop, and a permission taken away, in real
// Chromium against a server on the simulated network (tests/e2e/test_disposition_ui.py
// sets up the product, disposition, role and a started campaign with one lead).
//
//   CC_URL=… CC_ADMIN_NO=… CC_ADMIN_PASSWORD=… CC_AGENT_NO=1001 CC_AGENT_PASSWORD=… \
//     CC_ROLE=… CC_CAMPAIGN_ID=… CC_DISPOSITION_ID=… node e2e/disposition.mjs
//
// The agent logs in on the browser's virtual phone and goes ready; the campaign dials the
// lead and connects it to the agent; the desktop shows the campaign's script filled in for
// the lead and the disposition form (filled in once in English for its screenshot). The
// agent hangs up and, in wrap-up (话后处理), reloads the page: the screen pop, the script
// and the disposition form are back for the call just ended (/desk/state's last_call).
// The agent picks the disposition, chooses the product, fills its attribute and submits;
// the result is read back from the results API. The administrator then unticks call.dial for the
// agent's role in the roles matrix: the open desktop hides its dial box without a reload
// (the server's permissions.changed event), and POST /desk/dial answers 403. Screenshots of the form in zh-CN and en go to
// test-artifacts/screens/ (or CC_SCREENS_DIR).

import { mkdir } from 'node:fs/promises'
import { chromium } from 'playwright-core'

import {
  baseUrl,
  check,
  env,
  executablePath,
  field,
  logIn,
  screensDir,
  setLanguage,
  shoot,
  stepLog,
} from './lib.mjs'

const admin = { no: env.CC_ADMIN_NO ?? '', password: env.CC_ADMIN_PASSWORD ?? '' }
const agent = { no: env.CC_AGENT_NO ?? '', password: env.CC_AGENT_PASSWORD ?? '' }
const role = env.CC_ROLE ?? ''
const campaignId = Number(env.CC_CAMPAIGN_ID)
const dispositionId = Number(env.CC_DISPOSITION_ID)
const PLAN = '全家 B 款'
const TAKEN = 'call.dial'

if (!baseUrl || !admin.no || !agent.no || !role || !campaignId || !dispositionId) {
  console.error('disposition: set CC_URL, CC_ADMIN_*, CC_AGENT_*, CC_ROLE, CC_CAMPAIGN_ID, CC_DISPOSITION_ID')
  process.exit(2)
}

const { step, summary } = stepLog('disposition')

/** Picks the option labelled `label` in the Element Plus select `name`, and waits for its
 * list to close (so that no fading list is on a screenshot). */
async function choose(page, name, label) {
  await page.click(`[data-test="${name}"]`)
  await page.locator('.el-select-dropdown__item:visible', { hasText: label }).first().click()
  await page.waitForFunction(() => ![...document.querySelectorAll('.el-select__popper')].some((p) => p.offsetParent))
}

/** The disposition, the product and its attribute, and a note, filled in. */
async function fillResult(page) {
  await choose(page, 'result-disposition', '成交')
  await choose(page, 'result-product', '安心意外险')
  await page.fill(field('attr-plan'), PLAN)
  await page.fill('textarea[data-test="result-notes"], [data-test="result-notes"] textarea', '客户同意，下周寄保单')
}

async function main() {
  await mkdir(screensDir, { recursive: true })
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  })
  const failures = []
  try {
    const contextOptions = { viewport: { width: 1366, height: 1040 }, locale: 'zh-CN' }
    const desk = await (await browser.newContext(contextOptions)).newPage()
    const roles = await (await browser.newContext(contextOptions)).newPage()
    for (const page of [desk, roles]) page.on('pageerror', (e) => failures.push(`page error: ${e.message}`))

    // -- the agent logs in on the browser phone and goes ready --------------------------
    await logIn(desk, agent, 'zh-CN')
    await desk.goto(`${baseUrl}/desk`)
    await desk.waitForSelector('[data-test="desk-login"]')
    await desk.waitForSelector('[data-test="live"][data-status="open"]', { timeout: 10_000 })
    await desk.click('[data-test="desk-login-submit"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="not-ready"]')
    await desk.click('[data-test="desk-ready"]')
    step('the agent logs in on the browser virtual phone and goes ready')

    // -- the campaign dials the lead and connects it to the agent ------------------------
    await desk.waitForSelector('[data-test="call-answer"], [data-test="agent-state"][data-state="talking"]', {
      timeout: 20_000,
    })
    if (await desk.locator('[data-test="call-answer"]').count()) await desk.click('[data-test="call-answer"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="talking"]')
    await desk.waitForSelector('[data-test="disposition-form"]', { timeout: 10_000 })
    const state = await (await desk.request.get(`${baseUrl}/api/v1/desk/state`)).json()
    const call = (state.calls ?? [state.call]).find((c) => c && c.campaign_id != null)
    check(call && Number(call.campaign_id) === campaignId, `the desk state names no campaign: ${JSON.stringify(state)}`)
    step(`the campaign call ${call.call_id} (lead ${call.lead_id}) is talking; the disposition form shows`)
    await desk.waitForSelector('[data-test="campaign-script-text"]')
    const script = (await desk.textContent('[data-test="campaign-script-text"]'))?.trim() ?? ''
    check(script.startsWith('客户 一您好'), `the script is not filled in for the lead: ${script}`)
    step('the desktop shows the campaign script filled in for the lead')

    // The form in English while the call lasts (the wrap-up is short: 10 s by default).
    await setLanguage(desk, 'en', '[data-test="campaign-script-text"]')
    await fillResult(desk)
    await shoot(desk, 'en-desk-disposition')
    await setLanguage(desk, 'zh-CN', '[data-test="campaign-script-text"]')
    step('the form filled in, in English; the desktop back in Chinese')

    // -- the agent hangs up and reloads the page during the wrap-up ------------------------
    await desk.click('[data-test="call-hangup"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="wrap-up"]')
    await desk.reload()
    await desk.waitForSelector('[data-test="agent-state"][data-state="wrap-up"]')
    await desk.waitForSelector('[data-test="disposition-form"]', { timeout: 5_000 })
    const wrapUp = await (await desk.request.get(`${baseUrl}/api/v1/desk/state`)).json()
    check(wrapUp.state === 'wrap-up' && wrapUp.call === null, `not in wrap-up: ${JSON.stringify(wrapUp)}`)
    check(wrapUp.last_call?.call_id === call.call_id, `the wrap-up names ${JSON.stringify(wrapUp.last_call)}`)
    await desk.waitForSelector('[data-test="campaign-script-text"]')
    const number = (await desk.textContent('[data-test="pop-number"]'))?.trim()
    check(number === call.dialled, `the screen pop shows ${number}, not ${call.dialled}`)
    step(`the agent hangs up and reloads in wrap-up: the screen pop, script and form are back for ${call.call_id}`)

    // -- the agent records the disposition and the product attribute ----------------------
    await fillResult(desk)
    await shoot(desk, 'zh-CN-desk-disposition')
    const posted = desk.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith(`/api/v1/campaigns/${campaignId}/results`),
    )
    await desk.click('[data-test="result-submit"]')
    const response = await posted
    check(response.status() === 201, `the result answered ${response.status()}: ${await response.text()}`)
    const leadId = JSON.parse(response.request().postData() ?? '{}').lead_id
    const results = await (await desk.request.get(`${baseUrl}/api/v1/leads/${leadId}/results`)).json()
    const items = Array.isArray(results) ? results : results.items
    const result = items.find((r) => r.call_id === call.call_id)
    check(result, `no result for ${call.call_id} in ${JSON.stringify(results)}`)
    check(result.disposition_code === 'sold', `the disposition is ${result.disposition_code}`)
    check(result.values.plan === PLAN, `the attribute is ${JSON.stringify(result.values)}`)
    step(`the results API has lead ${leadId}: sold, plan "${PLAN}"`)

    await desk.click('[data-test="desk-not-ready"]')
    await desk.waitForSelector('[data-test="dial-number"]')
    step('the agent goes not ready; the dial box shows')

    // -- the administrator unticks call.dial for the agent's role ------------------------
    await desk.evaluate(() => {
      window.ccOpenAllAlong = true
    })
    await logIn(roles, admin, 'zh-CN')
    await roles.goto(`${baseUrl}/admin/roles`)
    await roles.waitForSelector(`[data-test="perm-${role}-${TAKEN}"].is-checked`)
    const patched = roles.waitForResponse(
      (r) => r.request().method() === 'PATCH' && /\/api\/v1\/roles\/\d+$/.test(r.url()),
    )
    await roles.click(`[data-test="perm-${role}-${TAKEN}"]`)
    const patch = await patched
    check(patch.ok(), `PATCH answered ${patch.status()}`)
    const sent = JSON.parse(patch.request().postData() ?? '{}')
    check(!sent.permissions.includes(TAKEN), `PATCH body still grants ${TAKEN}`)
    await roles.waitForSelector(`[data-test="perm-${role}-${TAKEN}"]:not(.is-checked)`)
    step(`the administrator unticks ${TAKEN} for ${role} in the roles matrix`)

    // No reload: the page that was open all along must drop the dial box by itself (a
    // mark left on its window before the change would not survive a reload).
    await desk.waitForSelector('[data-test="dial-number"]', { state: 'detached', timeout: 10_000 })
    check(await desk.evaluate(() => window.ccOpenAllAlong === true), 'the desktop was reloaded')
    await desk.waitForSelector('[data-test="agent-state"]')
    const dial = await desk.request.post(`${baseUrl}/api/v1/desk/dial`, { data: { number: '13900000002' } })
    check(dial.status() === 403, `POST /desk/dial answered ${dial.status()}`)
    step('without a reload the open desktop drops its dial box, and POST /desk/dial answers 403')
    check(failures.length === 0, failures.join('\n'))
  } finally {
    await browser.close()
  }
  console.log(summary())
}

main().catch((error) => {
  console.error(`disposition: FAILED: ${error.stack ?? error}`)
  process.exit(1)
})
