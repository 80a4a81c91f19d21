// A campaign end to end in real Chromium, against a server on the simulated network:
//
//   CC_URL=… CC_ADMIN_NO=… CC_ADMIN_PASSWORD=… CC_APPROVER_NO=… CC_APPROVER_PASSWORD=…
//   CC_LEADS_FILE=leads.csv CC_GROUP=service node e2e/campaigns.mjs
//
// The administrator creates a campaign in the form (all-day window, predictive, caller ID,
// the bots' group, the safe-harbour message), imports a lead file and waits for the
// progress bar to finish with an error report, and submits it (approval is not offered
// to its author). A second person approves it; the administrator starts it and watches
// the live view until calls connect. Screenshots of each screen in zh-CN and en go to
// test-artifacts/screens/ (or CC_SCREENS_DIR).

import { mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

import {
  baseUrl,
  check,
  env,
  executablePath,
  field,
  logIn,
  pick,
  screensDir,
  setLanguage,
  shoot as shootNow,
  stepLog,
  waitIdle,
} from './lib.mjs'

const required = ['CC_URL', 'CC_ADMIN_NO', 'CC_ADMIN_PASSWORD', 'CC_APPROVER_NO', 'CC_APPROVER_PASSWORD', 'CC_LEADS_FILE', 'CC_GROUP']
if (required.some((name) => !env[name])) {
  console.error(`campaigns: set ${required.join(', ')}`)
  process.exit(2)
}
const admin = { no: env.CC_ADMIN_NO, password: env.CC_ADMIN_PASSWORD }
const approver = { no: env.CC_APPROVER_NO, password: env.CC_APPROVER_PASSWORD }

const { step, summary } = stepLog('campaigns')

/** Dialogs and messages finish their transitions before the shot. */
async function shoot(page, name) {
  await shootNow(page, name, { settle: 400 })
}

/** The main pane scrolls by itself: its lower part, shot apart. */
async function shootBottom(page, name) {
  await page.locator('.layout__main').evaluate((el) => el.scrollTo(0, el.scrollHeight))
  await shoot(page, name)
  await page.locator('.layout__main').evaluate((el) => el.scrollTo(0, 0))
}

async function logOut(page) {
  await page.click('[data-test="logout"]')
  await page.waitForSelector('[data-test="login-submit"]')
}

async function openCampaigns(page) {
  await page.goto(`${baseUrl}/campaigns`)
  await page.waitForSelector('[data-test="campaign-table"]')
  await waitIdle(page)
}

async function main() {
  await mkdir(screensDir, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'cc-campaigns-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    viewport: { width: 1366, height: 860 },
    locale: 'zh-CN',
  })
  const failures = []
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => failures.push(`page error: ${error.message}`))
    await logIn(page, admin, 'zh-CN')
    step('the administrator logs in')

    // -- the form --------------------------------------------------------------------
    const name = `E2E 回访 ${Date.now().toString(36)}`
    await openCampaigns(page)
    await page.click('[data-test="campaign-create"]')
    const form = page.locator('[data-test="campaign-form"]')
    await form.waitFor()
    await page.fill(field('cf-name'), name)
    await page.click('#tab-schedule')
    await pick(page, page.locator('[data-test="cf-window-start"]').first(), '00:00', { escape: true })
    await pick(page, page.locator('[data-test="cf-window-end"]').first(), '23:59', { escape: true })
    await page.click('#tab-dialing')
    await pick(page, page.locator('[data-test="cf-mode"]'), '预测式', { escape: true })
    const callerIds = page.locator('[data-test="cf-caller-ids"]')
    await callerIds.click()
    await page.keyboard.type('4008001000')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Escape')
    await pick(page, page.locator('[data-test="cf-groups"]'), env.CC_GROUP, { escape: true })
    await page.click('#tab-compliance')
    await page.fill(field('cf-safe-harbour'), '您好，这里是星河保险，稍后会有专人回电，回电请拨 4008001000')
    await page.fill(field('cf-seller'), '星河保险')
    await page.fill(field('cf-callback'), '4008001000')
    await shoot(page, 'zh-CN-campaign-form')
    const created = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/campaigns'))
    await page.click('[data-test="cf-save"]')
    const response = await created
    check(response.status() === 201, `creating the campaign answered ${response.status()}: ${await response.text()}`)
    const campaign = await response.json()
    check(campaign.settings.windows[0].end.startsWith('23:59'), `window ${JSON.stringify(campaign.settings.windows)}`)
    check(campaign.settings.dialing_mode === 'predictive', `mode ${campaign.settings.dialing_mode}`)
    check(campaign.settings.group_ids.length === 1, `groups ${campaign.settings.group_ids}`)
    const id = campaign.id
    await page.waitForSelector(`[data-test="campaign-state-${id}"]`)
    step(`campaign ${id} created in the form`)

    // -- the lead import -------------------------------------------------------------
    await page.click(`[data-test="campaign-import-${id}"]`)
    await page.setInputFiles('[data-test="lead-file"]', env.CC_LEADS_FILE)
    await page.click('[data-test="lead-upload"]')
    await page.waitForSelector('[data-test="import-done"]', { timeout: 60_000 })
    const done = await page.locator('[data-test="import-done"]').textContent()
    check(await page.locator('[data-test="import-report"]').count() === 1, 'no error report link')
    const reportUrl = await page.locator('[data-test="import-report"]').getAttribute('href')
    const report = await page.request.get(`${baseUrl}${reportUrl}`)
    check(report.ok() && (await report.text()).split('\n').length > 2, `the error report answered ${report.status()}`)
    await shoot(page, 'zh-CN-campaign-import')
    step(`leads imported: ${done?.trim()}; the error report downloads`)
    await page.keyboard.press('Escape')
    await page.locator('[data-test="lead-import"]').waitFor({ state: 'hidden' })

    // -- submit; approval is for someone else -------------------------------------
    await page.click(`[data-test="campaign-submit-${id}"]`)
    await page.waitForFunction((cid) => document.querySelector(`[data-test="campaign-state-${cid}"]`)?.textContent?.includes('待审批'), id)
    check(await page.locator(`[data-test="campaign-approve-${id}"]`).count() === 0, 'the author is offered approval')
    await shoot(page, 'zh-CN-campaigns-submitted')
    step('submitted; the author sees no approve button')
    await logOut(page)

    await logIn(page, approver, 'zh-CN')
    await openCampaigns(page)
    check(await page.locator(`[data-test="campaign-start-${id}"]`).count() === 0, 'the approver may not start')
    await page.click(`[data-test="campaign-approve-${id}"]`)
    await page.waitForFunction((cid) => document.querySelector(`[data-test="campaign-state-${cid}"]`)?.textContent?.includes('已审批'), id)
    step('a second person approves it')
    await logOut(page)

    // -- start, and the live view moves -------------------------------------------
    await logIn(page, admin, 'zh-CN')
    await openCampaigns(page)
    await page.click(`[data-test="campaign-start-${id}"]`)
    await page.waitForFunction((cid) => document.querySelector(`[data-test="campaign-state-${cid}"]`)?.textContent?.includes('运行中'), id)
    await shoot(page, 'zh-CN-campaigns')
    step('started')
    await page.click(`[data-test="campaign-live-${id}"]`)
    await page.waitForSelector('[data-test="live-connects"]')
    const connects = async () => Number((await page.locator('[data-test="live-connects"] .el-statistic__number').textContent())?.replace(/\D/g, '') || '0')
    const first = await connects()
    await page.waitForFunction(
      (before) => Number(document.querySelector('[data-test="live-connects"] .el-statistic__number')?.textContent?.replace(/\D/g, '') || '0') > before,
      first,
      { timeout: 90_000, polling: 500 },
    )
    const after = await connects()
    step(`the live view moves: connects ${first} → ${after}`)
    await page.waitForTimeout(1500) // a few pushes for the trend line
    await shoot(page, 'zh-CN-campaign-live')
    await shootBottom(page, 'zh-CN-campaign-live-reasons')

    const status = await (await page.request.get(`${baseUrl}/api/v1/campaigns/${id}/dialer`)).json()
    check(status.dialing && status.connects > 0 && status.dials >= status.connects, `dialer ${JSON.stringify(status)}`)
    step(`the API agrees: ${status.dials} dialled, ${status.connects} connected`)

    // -- the supervisor console names the campaign's queue --------------------------
    await page.goto(`${baseUrl}/supervisor`)
    const tile = page.locator(`[data-test="queue-campaign:${id}"] [data-test="queue-name"]`)
    await tile.waitFor()
    await page.waitForFunction(
      ([cid, label]) => document.querySelector(`[data-test="queue-campaign:${cid}"] [data-test="queue-name"]`)?.textContent?.trim() === label,
      [id, name],
    )
    await waitIdle(page)
    await shoot(page, 'zh-CN-console-campaign')
    step(`the supervisor console names the campaign's queue "${name}"`)

    // -- products, scripts and dispositions ---------------------------------------
    await page.goto(`${baseUrl}/dispositions`)
    await page.waitForSelector('[data-test="dispositions-view"]')
    await page.click('[data-test="disposition-defaults"]')
    await page.waitForSelector('[data-test="disposition-table"] .el-table__row')
    await page.goto(`${baseUrl}/products`)
    await page.click('[data-test="product-create"]')
    await page.fill(field('product-name'), '百万医疗险')
    await page.click('[data-test="product-save"]')
    await page.waitForSelector('[data-test="product-table"] .el-table__row')
    await page.goto(`${baseUrl}/scripts`)
    await page.click('[data-test="script-create"]')
    await page.fill(field('script-name'), '开场白')
    await page.fill(field('script-body'), '您好，{lead.name}，我是星河保险的客服，耽误您一分钟介绍一款产品。')
    await page.click('[data-test="script-save"]')
    await page.waitForSelector('[data-test="script-table"] .el-table__row')
    step('dispositions, a product and a script made in their screens')
    for (const screen of ['products', 'scripts', 'dispositions']) {
      await page.goto(`${baseUrl}/${screen}`)
      await page.waitForSelector(`[data-test="${screen.slice(0, -1)}-table"] .el-table__row`)
      await waitIdle(page)
      await shoot(page, `zh-CN-${screen}`)
    }

    // -- the same screens in English ----------------------------------------------
    await page.goto(`${baseUrl}/supervisor`)
    await setLanguage(page, 'en')
    await page.waitForSelector(`[data-test="queue-campaign:${id}"] [data-test="queue-name"]`)
    await waitIdle(page)
    await shoot(page, 'en-console-campaign')
    await page.goto(`${baseUrl}/campaigns/${id}/live`)
    await page.waitForSelector('[data-test="live-connects"]')
    await page.waitForTimeout(1500)
    await shoot(page, 'en-campaign-live')
    await shootBottom(page, 'en-campaign-live-reasons')
    await openCampaigns(page)
    await shoot(page, 'en-campaigns')
    await page.click(`[data-test="campaign-edit-${id}"]`)
    await page.locator('[data-test="campaign-form"]').waitFor()
    await page.click('#tab-schedule')
    await shoot(page, 'en-campaign-form')
    await page.keyboard.press('Escape')
    for (const screen of ['products', 'scripts', 'dispositions']) {
      await page.goto(`${baseUrl}/${screen}`)
      await page.waitForSelector(`[data-test="${screen.slice(0, -1)}-table"] .el-table__row`)
      await waitIdle(page)
      await shoot(page, `en-${screen}`)
    }
    await setLanguage(page, 'zh-CN')
    step('screens shown in both languages')

    const paused = await page.request.post(`${baseUrl}/api/v1/campaigns/${id}/pause`)
    check(paused.ok(), `pausing answered ${paused.status()}`)
    check(failures.length === 0, failures.join('\n'))
  } finally {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  }
  console.log(summary())
}

main().catch((error) => {
  console.error(`campaigns: FAILED: ${error.stack ?? error}`)
  process.exit(1)
})
