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

export function field(name) {
  return `input[data-test="${name}"], [data-test="${name}"] input`
}

export async function shoot(page, name) {
  await page.waitForFunction(() => !document.querySelector('.el-loading-mask'))
  await page.screenshot({ path: join(screensDir, `${name}.png`), fullPage: true })
}

export async function logIn(page, who, locale) {
  await page.goto(`${baseUrl}/login`)
  await page.evaluate((value) => localStorage.setItem('callcenter.locale', value), locale)
  await page.reload()
  await page.fill(field('login-agent-no'), who.no)
  await page.fill(field('login-password'), who.password)
  await page.click('[data-test="login-submit"]')
  await page.waitForSelector('[data-test="home"], [data-test="login-error"]')
  check(!(await page.locator('[data-test="login-error"]').count()), `${who.no} could not log in`)
}

export async function setLanguage(page, locale, ready) {
  await page.evaluate((value) => localStorage.setItem('callcenter.locale', value), locale)
  await page.reload()
  await page.waitForSelector(ready)
  const lang = await page.evaluate(() => document.documentElement.lang)
  check(lang === locale, `language is ${lang}, expected ${locale}`)
}
