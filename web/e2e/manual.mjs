// End-to-end: 手动外呼, a manual campaign dialled from the agent desktop in real Chromium,
// against a server on the simulated network (tests/e2e/test_manual_ui.py sets up a
// started manual campaign with three leads for the agent's group, whose customers answer).
//
//   CC_URL=… CC_AGENT_NO=1001 CC_AGENT_PASSWORD=… CC_CAMPAIGN_NAME=… CC_FIELD=… \
//     node e2e/manual.mjs
//
// The agent logs in on the browser's virtual phone and goes ready; the manual dialing
// panel shows the campaign and a lead with its name, number and custom field. The agent
// passes it on (下一个) and is shown another, dials it (拨打), answers their own phone
// and talks to the customer; hangs up and records the disposition in the wrap-up, when
// the panel shows the last lead. The panel is then read in English. Screenshots of the
// panel in zh-CN and en, and of the call, go to test-artifacts/screens/ (or
// CC_SCREENS_DIR).

import { mkdir } from 'node:fs/promises'
import { chromium } from 'playwright-core'

import { baseUrl, check, env, executablePath, logIn, screensDir, setLanguage, shoot, stepLog } from './lib.mjs'

const agent = { no: env.CC_AGENT_NO ?? '', password: env.CC_AGENT_PASSWORD ?? '' }
const campaignName = env.CC_CAMPAIGN_NAME ?? ''
const fieldName = env.CC_FIELD ?? ''

if (!baseUrl || !agent.no || !agent.password || !campaignName || !fieldName) {
  console.error('manual: set CC_URL, CC_AGENT_NO, CC_AGENT_PASSWORD, CC_CAMPAIGN_NAME, CC_FIELD')
  process.exit(2)
}

const { step, summary } = stepLog('manual')

const text = async (page, selector) => ((await page.textContent(selector)) ?? '').trim()

/** The lead the panel shows: name, number, and the custom field under its label. */
async function shownLead(page) {
  await page.waitForSelector('[data-test="manual-name"]')
  const panel = page.locator('[data-test="manual-lead"]')
  const cells = await panel.locator('.el-descriptions__label, .el-descriptions__content').allTextContents()
  const at = cells.findIndex((cell) => cell.trim() === fieldName)
  return {
    name: await text(page, '[data-test="manual-name"]'),
    phone: await text(page, '[data-test="manual-number"]'),
    field: at >= 0 ? (cells[at + 1] ?? '').trim() : '',
  }
}

/** Waits until the panel shows a lead other than `before`, and returns it. */
async function anotherLead(page, before) {
  await page.waitForFunction(
    (phone) => {
      const shown = document.querySelector('[data-test="manual-number"]')?.textContent?.trim()
      return shown && shown !== phone
    },
    before.phone,
    { timeout: 10_000 },
  )
  return shownLead(page)
}

/** The desk state's call, read from the server until `done(call)`, for at most 15 s. */
async function deskCall(page, done, what) {
  const deadline = Date.now() + 15_000
  for (;;) {
    const state = await (await page.request.get(`${baseUrl}/api/v1/desk/state`)).json()
    const call = state.call ?? null
    if (done(call)) return call
    check(Date.now() < deadline, `${what}: ${JSON.stringify(state)}`)
    await page.waitForTimeout(200)
  }
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
    const desk = await (await browser.newContext({ viewport: { width: 1366, height: 1040 }, locale: 'zh-CN' })).newPage()
    desk.on('pageerror', (e) => failures.push(`page error: ${e.message}`))

    // -- the agent logs in on the browser phone and goes ready --------------------------
    await logIn(desk, agent, 'zh-CN')
    await desk.goto(`${baseUrl}/desk`)
    await desk.waitForSelector('[data-test="desk-login"]')
    await desk.waitForSelector('[data-test="live"][data-status="open"]', { timeout: 10_000 })
    await desk.click('[data-test="desk-login-submit"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="not-ready"]')
    await desk.click('[data-test="desk-ready"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="ready"]')
    step('the agent logs in on the browser virtual phone and goes ready')

    // -- the manual dialing panel shows the campaign and a lead --------------------------
    await desk.waitForSelector('[data-test="manual-panel"]', { timeout: 10_000 })
    const first = await shownLead(desk)
    const panelTitle = await text(desk, '[data-test="manual-title"]')
    check(panelTitle === '手动外呼', `the panel's title is ${panelTitle}`)
    const tag = await text(desk, '[data-test="manual-campaign"]')
    check(tag === campaignName, `the panel names the campaign ${tag}, expected ${campaignName}`)
    check(first.name && first.name !== '（未填写）', `the lead has no name: ${JSON.stringify(first)}`)
    check(/^\+?\d{8,}$/.test(first.phone), `the lead has no number: ${JSON.stringify(first)}`)
    check(first.field, `the lead's ${fieldName} is not shown: ${JSON.stringify(first)}`)
    check((await text(desk, '[data-test="manual-dial"]')) === '拨打', 'the dial button is not 拨打')
    await shoot(desk, 'zh-CN-desk-manual')
    step(`the panel shows ${campaignName}: ${first.name} ${first.phone}, ${fieldName} ${first.field}`)

    // -- 下一个: the lead is passed on and another one shown ------------------------------
    const released = desk.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/desk/manual/release'),
    )
    await desk.click('[data-test="manual-next"]')
    const release = await released
    check(release.status() === 200, `the release answered ${release.status()}: ${await release.text()}`)
    const second = await anotherLead(desk, first)
    check(second.name !== first.name && second.field, `not another lead: ${JSON.stringify(second)}`)
    step(`下一个: ${first.name} is passed on; the panel shows ${second.name} ${second.phone}`)

    // -- 拨打: the agent's phone rings, then the customer's; the call connects -------------
    const dialled = desk.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/desk/dial'),
    )
    await desk.click('[data-test="manual-dial"]')
    const dial = await dialled
    check(dial.status() === 200, `the dial answered ${dial.status()}: ${await dial.text()}`)
    const placed = await dial.json()
    const sent = JSON.parse(dial.request().postData() ?? '{}')
    check(sent.number === second.phone && placed.lead_id === sent.lead_id, `dialled ${JSON.stringify(sent)}`)
    await desk.waitForSelector('[data-test="call-answer"], [data-test="agent-state"][data-state="talking"]', {
      timeout: 10_000,
    })
    if (await desk.locator('[data-test="call-answer"]').count()) await desk.click('[data-test="call-answer"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="talking"]')
    const call = await deskCall(
      desk,
      (c) => c && c.call_id === placed.call_id && c.answered_at != null && c.ringing.length === 0,
      'the customer did not answer',
    )
    check(Number(call.campaign_id) === Number(placed.campaign_id), `the call names no campaign: ${JSON.stringify(call)}`)
    await desk.waitForFunction(
      (phone) => document.querySelector('[data-test="pop-number"]')?.textContent?.trim() === phone,
      second.phone,
    )
    await desk.waitForSelector('[data-test="disposition-form"]')
    check(!(await desk.locator('[data-test="manual-panel"]').count()), 'the panel shows during the call')
    await shoot(desk, 'zh-CN-desk-manual-talking')
    step(`call ${call.call_id} to ${second.phone} connects; the desk shows it with the disposition form`)

    // -- the agent hangs up and records the disposition in the wrap-up -------------------
    await desk.click('[data-test="call-hangup"]')
    await desk.waitForSelector('[data-test="wrap-up-left"]')
    await desk.click('[data-test="result-disposition"]')
    await desk.locator('.el-select-dropdown__item:visible', { hasText: '成交' }).first().click()
    await desk.waitForFunction(() => ![...document.querySelectorAll('.el-select__popper')].some((p) => p.offsetParent))
    const posted = desk.waitForResponse((r) => r.request().method() === 'POST' && /\/results$/.test(r.url()))
    await desk.click('[data-test="result-submit"]')
    const result = await posted
    check(result.status() === 201, `the result answered ${result.status()}: ${await result.text()}`)
    check(JSON.parse(result.request().postData() ?? '{}').lead_id === placed.lead_id, 'the result is for another lead')
    step('the agent hangs up and records 成交 in the wrap-up')

    // -- the panel is back with the last lead; read in English ---------------------------
    const third = await shownLead(desk)
    check(![first.phone, second.phone].includes(third.phone), `the panel shows ${JSON.stringify(third)} again`)
    check(await desk.locator('[data-test="manual-dial"]').isDisabled(), 'Dial is enabled in the wrap-up')
    await setLanguage(desk, 'en', '[data-test="manual-name"]')
    const english = {
      title: await text(desk, '[data-test="manual-title"]'),
      dial: await text(desk, '[data-test="manual-dial"]'),
      next: await text(desk, '[data-test="manual-next"]'),
      labels: (await desk.locator('[data-test="manual-lead"] .el-descriptions__label').allTextContents()).map((l) =>
        l.trim(),
      ),
    }
    check(english.title === 'Manual dialing' && english.dial === 'Dial' && english.next === 'Next', JSON.stringify(english))
    for (const label of ['Name', 'Number', 'Campaign', fieldName]) {
      check(english.labels.includes(label), `no ${label} in ${JSON.stringify(english.labels)}`)
    }
    check((await shownLead(desk)).phone === third.phone, 'the lead held changed on a reload')
    await shoot(desk, 'en-desk-manual')
    step(`in English the panel reads ${english.title}: ${english.labels.join(', ')}; ${english.dial}, ${english.next}`)
    check(failures.length === 0, failures.join('\n'))
  } finally {
    await browser.close()
  }
  console.log(summary())
}

main().catch((error) => {
  console.error(`manual: FAILED: ${error.stack ?? error}`)
  process.exit(1)
})
