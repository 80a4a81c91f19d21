// What the browser scripts share: where the platform and Chromium are, where screenshots
// go, their step log, and logging in and switching the language as a person does.

import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const env = process.env
export const baseUrl = (env.CC_URL ?? '').replace(/\/+$/, '')
export const executablePath = env.CC_CHROMIUM ?? '/usr/bin/chromium'
export const screensDir =
  env.CC_SCREENS_DIR ?? fileURLToPath(new URL('../../test-artifacts/screens/', import.meta.url))

/** The script's log: `step(text)` prints each step with the seconds since the start;
 * `summary()` is the closing line. */
export function stepLog(script) {
  const started = Date.now()
  const steps = []
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1)
  return {
    step(text) {
      steps.push(text)
      console.log(`${script}: ${text} (${elapsed()} s)`)
    },
    summary() {
      return `${script}: passed ${steps.length} steps in ${elapsed()} s; screenshots in ${screensDir}`
    },
  }
}

export function check(condition, message) {
  if (!condition) throw new Error(message)
}

/** An Element Plus input or text area: the attribute lands on the element itself or its
 * wrapper. */
export function field(name) {
  return `input[data-test="${name}"], textarea[data-test="${name}"], [data-test="${name}"] input`
}

/** The page has loaded what it asked for and shows no loading mask. */
export async function waitIdle(page) {
  await page.waitForLoadState('networkidle')
  await page.waitForFunction(() => !document.querySelector('.el-loading-mask'))
}

/** Choose `text` in an Element Plus select: open it, click the option in the open list.
 * `escape` closes a list that stays open after a choice (a multiple select) with Escape. */
export async function pick(page, select, text, { escape = false } = {}) {
  await select.click()
  const open = page.locator('.el-select__popper[aria-hidden="false"]')
  await open.locator('.el-select-dropdown__item', { hasText: text }).first().click()
  if (escape) {
    await page.keyboard.press('Escape')
    await open.waitFor({ state: 'hidden' }).catch(() => undefined)
  } else {
    await open.waitFor({ state: 'hidden' })
  }
}

/** A full-page screenshot once no loading mask shows; `settle` milliseconds more let dialogs
 * and messages finish their transitions. */
export async function shoot(page, name, { settle = 0 } = {}) {
  await page.waitForFunction(() => !document.querySelector('.el-loading-mask'))
  if (settle) await page.waitForTimeout(settle)
  await page.screenshot({ path: join(screensDir, `${name}.png`), fullPage: true })
}

export async function logIn(page, who, locale) {
  await page.goto(`${baseUrl}/login`)
  await page.evaluate((value) => localStorage.setItem('callcenter.locale', value), locale)
  await page.reload()
  await submitLogIn(page, who)
}

/** Fill in the log-in form the page shows and send it; the home page must follow. */
export async function submitLogIn(page, who) {
  await page.fill(field('login-agent-no'), who.no)
  await page.fill(field('login-password'), who.password)
  await page.click('[data-test="login-submit"]')
  await page.waitForSelector('[data-test="home"], [data-test="login-error"]')
  const refusal = page.locator('[data-test="login-error"]')
  if (await refusal.count()) throw new Error(`${who.no} could not log in: ${await refusal.first().textContent()}`)
}

/** Switch to `locale` and reload; the page is ready when `ready` shows, or without it when
 * the page is idle. */
export async function setLanguage(page, locale, ready) {
  await page.evaluate((value) => localStorage.setItem('callcenter.locale', value), locale)
  await page.reload()
  if (ready) await page.waitForSelector(ready)
  else await waitIdle(page)
  const lang = await page.evaluate(() => document.documentElement.lang)
  check(lang === locale, `language is ${lang}, expected ${locale}`)
}
