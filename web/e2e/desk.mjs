// End-to-end: the agent desktop and the supervisor console in real Chromium, against a
// server on the simulated network with callers arriving (tests/e2e/test_desk_console_ui.py).
//
//   CC_URL=… CC_AGENT_NO=1001 CC_AGENT_PASSWORD=… CC_LEADER_NO=8001 CC_LEADER_PASSWORD=… \
//     node e2e/desk.mjs
//
// An agent logs in on the browser's virtual phone and goes ready; the supervisor sees the
// state change live in the grid. A simulated call rings on the desktop, the agent answers;
// the supervisor barges in from the browser phone; the agent hangs up and the call is in
// the calls API. Screenshots of the desktop and the console in zh-CN and en go to
// test-artifacts/screens/ (or CC_SCREENS_DIR).

import { mkdir } from 'node:fs/promises'
import { chromium } from 'playwright-core'

import {
  baseUrl,
  check,
  env,
  executablePath,
  logIn,
  screensDir,
  setLanguage,
  shoot,
  stepLog,
} from './lib.mjs'

const agent = { no: env.CC_AGENT_NO ?? '', password: env.CC_AGENT_PASSWORD ?? '' }
const leader = { no: env.CC_LEADER_NO ?? '', password: env.CC_LEADER_PASSWORD ?? '' }

if (!baseUrl || !agent.no || !agent.password || !leader.no || !leader.password) {
  console.error('desk: set CC_URL, CC_AGENT_NO, CC_AGENT_PASSWORD, CC_LEADER_NO, CC_LEADER_PASSWORD')
  process.exit(2)
}

const { step, summary } = stepLog('desk')

/** The state the console's grid shows for `agentNo`, waited for until it is one of `states`. */
async function gridState(page, agentNo, states, timeout = 15_000) {
  const selector = `[data-test="grid-state-${agentNo}"]`
  await page.waitForFunction(
    ({ selector, states }) => states.includes(document.querySelector(selector)?.getAttribute('data-state')),
    { selector, states },
    { timeout },
  )
  return page.getAttribute(selector, 'data-state')
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
    const contextOptions = { viewport: { width: 1366, height: 860 }, locale: 'zh-CN' }
    const desk = await (await browser.newContext(contextOptions)).newPage()
    const board = await (await browser.newContext(contextOptions)).newPage()
    for (const page of [desk, board]) page.on('pageerror', (e) => failures.push(`page error: ${e.message}`))

    // -- the supervisor watches ------------------------------------------------------
    await logIn(board, leader, 'zh-CN')
    await board.goto(`${baseUrl}/supervisor`)
    await board.waitForSelector('[data-test="queue-service"]')
    await board.waitForSelector('[data-test="live"][data-status="open"]', { timeout: 10_000 })
    step('the supervisor opens the console (live connection open)')

    // -- the agent logs in on the browser phone and goes ready -----------------------
    await logIn(desk, agent, 'zh-CN')
    await desk.goto(`${baseUrl}/desk`)
    await desk.waitForSelector('[data-test="desk-login"]')
    await desk.waitForSelector('[data-test="live"][data-status="open"]', { timeout: 10_000 })
    await shoot(desk, 'zh-CN-desk-login')
    await desk.click('[data-test="desk-login-submit"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="not-ready"]')
    step('the agent logs in with the browser virtual phone: not ready')
    check((await gridState(board, agent.no, ['not-ready'])) === 'not-ready', 'console missed the log-in')
    step('the console shows the agent not ready, live')

    await desk.click('[data-test="desk-ready"]')
    const seen = await gridState(board, agent.no, ['ready', 'reserved'])
    step(`the agent goes ready; the console shows ${seen} without a reload`)

    // -- a simulated caller rings the desktop; the agent answers -----------------------
    await desk.waitForSelector('[data-test="call-answer"]', { timeout: 20_000 })
    const caller = (await desk.textContent('[data-test="pop-number"]'))?.trim() ?? ''
    check(/^\+?\d{6,}$/.test(caller), `the screen pop shows no caller: ${caller}`)
    await shoot(desk, 'zh-CN-desk-ringing')
    step(`a simulated call from ${caller} rings the desktop`)
    await desk.click('[data-test="call-answer"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="talking"]')
    check((await gridState(board, agent.no, ['talking'])) === 'talking', 'console missed the answer')
    await desk.click('[data-test="keypad-toggle"]')
    await desk.click('[data-test="key-1"]')
    await desk.waitForSelector('[data-test="dtmf-sent"]')
    await desk.waitForFunction(() => document.querySelector('[data-test="desk-timer"]')?.textContent?.trim() !== '00:00')
    await shoot(desk, 'zh-CN-desk-talking')
    await board.waitForFunction(
      (no) => document.querySelector('[data-test="agent-grid"]')?.textContent?.includes(no),
      caller,
    )
    await shoot(board, 'zh-CN-console')
    step('the agent answers and presses 1; the console shows the call')

    // -- both screens in English, rebuilt from the server after a reload ----------------
    await setLanguage(desk, 'en', '[data-test="agent-state"][data-state="talking"]')
    check((await desk.textContent('[data-test="call-hangup"]'))?.trim() === 'Hang up', 'not English')
    await shoot(desk, 'en-desk-talking')
    await setLanguage(board, 'en', `[data-test="grid-state-${agent.no}"][data-state="talking"]`)
    step('after a reload (English) both screens show the call from the server')

    // -- the supervisor barges in ----------------------------------------------------
    await board.click(`[data-test="grid-agent-${agent.no}"]`)
    await board.waitForSelector('[data-test="selected-agent"]')
    const barged = board.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/barge'))
    await board.click('[data-test="sv-barge"]')
    const bargeResponse = await barged
    check(bargeResponse.status() === 204, `barge answered ${bargeResponse.status()}`)
    const bargeBody = JSON.parse(bargeResponse.request().postData() ?? '{}')
    let supervisors = {}
    for (let i = 0; i < 20 && !supervisors[leader.no]; i += 1) {
      const snapshot = await (await board.request.get(`${baseUrl}/api/v1/supervisor/snapshot`)).json()
      const call = snapshot.calls.find((c) => c.agents.includes(agent.no))
      supervisors = call?.supervisors ?? {}
      if (!supervisors[leader.no]) await board.waitForTimeout(250)
    }
    check(supervisors[leader.no] === 'barge', `the call's supervisors: ${JSON.stringify(supervisors)}`)
    await shoot(board, 'en-console')
    step(`the supervisor barges in from ${bargeBody.phone}`)

    // -- the agent hangs up: wrap-up, and the call is in the calls API -------------------
    await desk.click('[data-test="call-hangup"]')
    await desk.waitForSelector('[data-test="wrap-up-left"]')
    await shoot(desk, 'en-desk-wrap-up')
    await gridState(board, agent.no, ['wrap-up', 'ready', 'reserved'])
    step('the agent hangs up and wraps up; the console follows')

    let record = null
    for (let i = 0; i < 20 && !record; i += 1) {
      const page = await (await board.request.get(`${baseUrl}/api/v1/calls?number=${encodeURIComponent(caller)}&limit=5`)).json()
      record = page.items.find((c) => c.agents.includes(agent.no) && c.answered_at && c.ended_at) ?? null
      if (!record) await board.waitForTimeout(250)
    }
    check(record, `no answered and ended call from ${caller} with ${agent.no} in /api/v1/calls`)
    step(`the calls API has call ${record.call_id}: answered, ended (${record.end_reason})`)

    await desk.click('[data-test="desk-not-ready"]')
    await desk.waitForSelector('[data-test="agent-state"][data-state="not-ready"], [data-test="agent-state"][data-state="wrap-up"]')
    check(failures.length === 0, failures.join('\n'))
  } finally {
    await browser.close()
  }
  console.log(summary())
}

main().catch((error) => {
  console.error(`desk: FAILED: ${error.stack ?? error}`)
  process.exit(1)
})
