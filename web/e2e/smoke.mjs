// End-to-end smoke test of the browser UI against a running server, in real Chromium.
//
//   CC_URL=http://127.0.0.1:8090 CC_ADMIN_NO=admin CC_ADMIN_PASSWORD=… npm run e2e
//
// Logs in as the administrator, opens every administration screen in both languages
// (screenshots in test-artifacts/screens/ at the repository root, or CC_SCREENS_DIR),
// creates a custom role, ticks one box of the permission matrix, checks through the
// API that the role now holds exactly that code, removes the role, and logs out.

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
  pick,
  screensDir,
  setLanguage,
  shoot,
  stepLog,
  submitLogIn,
  waitIdle,
} from './lib.mjs'

const admin = { no: env.CC_ADMIN_NO ?? '', password: env.CC_ADMIN_PASSWORD ?? '' }

if (!baseUrl || !admin.no || !admin.password) {
  console.error('smoke: set CC_URL, CC_ADMIN_NO and CC_ADMIN_PASSWORD')
  process.exit(2)
}

const SCREENS = [
  { name: 'home', path: '/', ready: '[data-test="home"]' },
  { name: 'agents', path: '/admin/agents', ready: '[data-test="agent-table"] .el-table__row' },
  { name: 'groups', path: '/admin/groups', ready: '[data-test="group-table"]' },
  { name: 'roles', path: '/admin/roles', ready: '[data-test="permission-matrix"] tbody tr' },
  { name: 'audit', path: '/admin/audit', ready: '[data-test="audit-table"] .el-table__row' },
]

const { step, summary } = stepLog('smoke')

async function main() {
  await mkdir(screensDir, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'cc-smoke-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1366, height: 860 },
    locale: 'zh-CN',
  })
  const failures = []
  const leftovers = [] // API paths to DELETE if the run stops half-way
  let page
  try {
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => failures.push(`page error: ${error.message}`))

    // -- log-in page, a refused log-in, then the real one ------------------------------
    await page.goto(`${baseUrl}/`)
    await page.waitForSelector('[data-test="login-submit"]')
    check(new URL(page.url()).pathname === '/login', `not sent to /login: ${page.url()}`)
    await shoot(page, 'zh-CN-login')
    step('the log-in page shows for a visitor')

    const loginCalls = []
    const countLogin = (r) => r.url().endsWith('/api/v1/auth/login') && loginCalls.push(r.url())
    page.on('request', countLogin)
    await page.click('[data-test="login-submit"]')
    await page.waitForSelector('.el-form-item__error')
    const hints = await page.locator('.el-form-item__error').allTextContents()
    check(hints.includes('请输入工号') && loginCalls.length === 0, `empty form: ${hints} ${loginCalls}`)
    page.off('request', countLogin)
    step('an empty form asks for the agent number and calls nobody')

    await page.fill(field('login-agent-no'), `nobody-${Date.now() % 100000}`)
    await page.fill(field('login-password'), 'wrong-password')
    await page.click('[data-test="login-submit"]')
    const refusal = await page.waitForSelector('[data-test="login-error"]')
    const refusalText = (await refusal.textContent())?.trim() ?? ''
    check(refusalText.includes('工号或密码错误'), `unexpected refusal: ${refusalText}`)
    await shoot(page, 'zh-CN-login-error')
    step(`a wrong password shows the server's message: ${refusalText}`)

    await submitLogIn(page, admin)
    step('the administrator logs in')

    await page.waitForSelector('[data-test="live"][data-status="open"]', { timeout: 10_000 })
    step('the live indicator is connected')

    // -- every screen in both languages -----------------------------------------------
    // A group with a description, so that the groups screens show a row, not an empty table.
    const shownGroup = await page.request.post(`${baseUrl}/api/v1/groups`, {
      data: { name: `客服一组 ${Date.now().toString(36)}`, description: '白班客服 / day shift' },
    })
    check(shownGroup.status() === 201, `creating the group to show answered ${shownGroup.status()}`)
    const shownGroupPath = `/api/v1/groups/${(await shownGroup.json()).id}`
    leftovers.push(shownGroupPath)
    for (const locale of ['zh-CN', 'en']) {
      await setLanguage(page, locale)
      for (const screen of SCREENS) {
        await page.goto(`${baseUrl}${screen.path}`)
        await page.waitForSelector(screen.ready)
        await waitIdle(page)
        await shoot(page, `${locale}-${screen.name}`)
      }
      step(`${SCREENS.length} screens shown in ${locale}`)
    }
    const shownGone = await page.request.delete(`${baseUrl}${shownGroupPath}`)
    check(shownGone.status() === 204, `deleting the group shown answered ${shownGone.status()}`)
    leftovers.pop()
    await setLanguage(page, 'zh-CN')

    // -- a custom role, one box ticked ---------------------------------------------
    const code = `e2e_${Date.now().toString(36)}`
    const granted = 'agent.view'
    await page.goto(`${baseUrl}/admin/roles`)
    await page.waitForSelector('[data-test="permission-matrix"] tbody tr')
    await page.click('[data-test="role-create"]')
    await page.fill(field('role-form-code'), code)
    await page.fill(field('role-form-name'), `冒烟测试 ${code}`)
    const roleCreated = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/roles'),
    )
    await page.click('[data-test="role-form-submit"]')
    leftovers.push(`/api/v1/roles/${(await (await roleCreated).json()).id}`)
    await page.waitForSelector(`[data-test="role-column-${code}"]`)
    step(`role ${code} created from the UI`)

    const patched = page.waitForResponse(
      (r) => r.request().method() === 'PATCH' && /\/api\/v1\/roles\/\d+$/.test(r.url()),
    )
    await page.click(`[data-test="perm-${code}-${granted}"]`)
    const response = await patched
    check(response.ok(), `PATCH answered ${response.status()}`)
    const sent = JSON.parse(response.request().postData() ?? '{}')
    check(
      JSON.stringify(sent) === JSON.stringify({ permissions: [granted] }),
      `PATCH body was ${JSON.stringify(sent)}`,
    )
    await page.waitForSelector(`[data-test="perm-${code}-${granted}"].is-checked`)
    await shoot(page, 'zh-CN-roles-ticked')

    const roles = await (await page.request.get(`${baseUrl}/api/v1/roles`)).json()
    const role = roles.find((r) => r.code === code)
    check(role, `role ${code} is not in GET /api/v1/roles`)
    check(
      JSON.stringify(role.permissions) === JSON.stringify([granted]),
      `the API says ${code} holds ${JSON.stringify(role.permissions)}`,
    )
    step(`ticking ${granted} granted exactly that code (the API agrees)`)

    const removed = await page.request.delete(`${baseUrl}/api/v1/roles/${role.id}`)
    check(removed.status() === 204, `deleting the role answered ${removed.status()}`)
    leftovers.pop()
    step(`role ${code} removed again`)

    // -- a group with one member on weekday mornings ------------------------------
    const groupName = `冒烟组 ${code}`
    await page.goto(`${baseUrl}/admin/groups`)
    await page.waitForSelector('[data-test="group-table"]')
    await page.click('[data-test="group-create"]')
    await page.fill(field('group-form-name'), groupName)
    const groupCreated = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/groups'),
    )
    await page.click('[data-test="group-form-submit"]')
    leftovers.push(`/api/v1/groups/${(await (await groupCreated).json()).id}`)
    const groupRow = page.locator('[data-test="group-table"] .el-table__row', { hasText: groupName })
    await groupRow.waitFor()
    await groupRow.locator('[data-test="group-members"]').click()
    await page.waitForSelector('[data-test="group-members-drawer"]')
    await pick(page, page.locator('[data-test="member-agent"]'), '(1001)')
    await pick(page, page.locator('.el-select__wrapper', { hasText: '开始时间' }), '09:00')
    await pick(page, page.locator('.el-select__wrapper', { hasText: '结束时间' }), '12:00')
    for (const day of ['周六', '周日']) {
      await page.locator('.el-checkbox-button', { hasText: day }).click()
    }
    const added = page.waitForResponse(
      (r) => r.request().method() === 'POST' && /\/api\/v1\/groups\/\d+\/members$/.test(r.url()),
    )
    await page.click('[data-test="member-add"]')
    const member = await (await added).json()
    check(
      member.agent_no === '1001' && member.weekdays === '12345' &&
        member.start_time === '09:00:00' && member.end_time === '12:00:00',
      `membership came back as ${JSON.stringify(member)}`,
    )
    await page.locator('[data-test="member-table"] .el-table__row', { hasText: '1001' }).waitFor()
    await waitIdle(page)
    await shoot(page, 'zh-CN-group-members')
    const groupGone = await page.request.delete(`${baseUrl}/api/v1/groups/${member.group_id}`)
    check(groupGone.status() === 204, `deleting the group answered ${groupGone.status()}`)
    leftovers.pop()
    step('a group got a member for weekday mornings 09:00-12:00, then went away')

    // -- an agent's life: create, rename, reset password, lock-out, unlock, delete --
    const agentNo = `e2e${Date.now().toString(36).slice(-6)}`
    await page.goto(`${baseUrl}/admin/agents`)
    await page.waitForSelector('[data-test="agent-table"] .el-table__row')
    await page.click('[data-test="agent-create"]')
    await page.fill(field('agent-form-no'), agentNo)
    await page.fill(field('agent-form-name'), '冒烟坐席')
    await page.fill(field('agent-form-password'), 'first-password-1')
    const agentCreated = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/agents'),
    )
    await page.click('[data-test="agent-form-submit"]')
    const agent = await (await agentCreated).json()
    leftovers.push(`/api/v1/agents/${agent.id}`)
    check(agent.agent_no === agentNo && agent.roles.join() === 'agent', `created ${JSON.stringify(agent)}`)
    await page.fill(field('agent-search'), agentNo)
    await page.click('[data-test="agent-search-button"]')
    const agentRow = page.locator('[data-test="agent-table"] .el-table__row', { hasText: agentNo })
    await agentRow.waitFor()
    // The list may still show every agent until the search answer arrives: wait for it.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-test="agent-table"] .el-table__row').length === 1,
      null,
      { timeout: 10000 },
    )
    check((await page.locator('[data-test="agent-table"] .el-table__row').count()) === 1, 'search')
    step(`agent ${agentNo} created from the UI and found by search`)

    for (let i = 0; i < 6; i += 1) {
      await page.request.post(`${baseUrl}/api/v1/auth/token`, {
        data: { agent_no: agentNo, password: 'not-the-password' },
      })
    }
    await page.click('[data-test="agent-search-button"]')
    await agentRow.locator('[data-test="agent-locked"]').waitFor()
    await shoot(page, 'zh-CN-agent-locked')
    await agentRow.locator('[data-test="agent-unlock"]').click()
    await agentRow.locator('[data-test="agent-locked"]').waitFor({ state: 'detached' })
    step('six wrong passwords lock the agent; the unlock button frees it')

    await agentRow.locator('[data-test="agent-delete"]').click()
    const agentDeleted = page.waitForResponse(
      (r) => r.request().method() === 'DELETE' && r.url().endsWith(`/api/v1/agents/${agent.id}`),
    )
    await page.locator('.el-message-box__btns .el-button--primary').click()
    check((await agentDeleted).status() === 204, 'delete agent')
    leftovers.pop()
    await agentRow.waitFor({ state: 'detached' })
    step(`agent ${agentNo} deleted after confirmation`)

    // -- the agent dialog ----------------------------------------------------------
    await page.goto(`${baseUrl}/admin/agents`)
    await page.waitForSelector('[data-test="agent-table"] .el-table__row')
    await page.click('[data-test="agent-create"]')
    await page.click('[data-test="agent-form-submit"]')
    await page.waitForSelector('[data-test="agent-create-dialog"] .el-form-item__error')
    await shoot(page, 'zh-CN-agent-create-dialog')
    await page.keyboard.press('Escape')
    step('the new-agent dialog checks its fields before calling the API')

    // -- log-out -------------------------------------------------------------------
    await page.click('[data-test="logout"]')
    await page.waitForSelector('[data-test="login-submit"]')
    const me = await page.request.get(`${baseUrl}/api/v1/me`)
    check(me.status() === 401, `after log-out /me answered ${me.status()}`)
    step('log-out ends the session')

    check(failures.length === 0, failures.join('\n'))
  } finally {
    for (const path of leftovers) await page?.request.delete(`${baseUrl}${path}`).catch(() => undefined)
    await context.close()
    await rm(profile, { recursive: true, force: true })
  }
  console.log(summary())
}

main().catch((error) => {
  console.error(`smoke: FAILED: ${error.stack ?? error}`)
  process.exit(1)
})
