// The UI's languages: Simplified Chinese by default, English on request, remembered in
// localStorage. The chosen language also goes to the API (Accept-Language).

import { createI18n } from 'vue-i18n'
import zhCN, { type Messages } from './zh-CN'
import en from './en'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: readonly Locale[] = ['zh-CN', 'en']
export const DEFAULT_LOCALE: Locale = 'zh-CN'
export const LOCALE_STORAGE_KEY = 'callcenter.locale'

export const catalogues: Record<Locale, Messages> = { 'zh-CN': zhCN, en }

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

export function storedLocale(): Locale {
  try {
    const value = globalThis.localStorage?.getItem(LOCALE_STORAGE_KEY)
    return isLocale(value) ? value : DEFAULT_LOCALE
  } catch {
    return DEFAULT_LOCALE
  }
}

export function createAppI18n(locale: Locale = storedLocale()) {
  return createI18n<[Messages], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: DEFAULT_LOCALE,
    messages: catalogues,
  })
}

export type AppI18n = ReturnType<typeof createAppI18n>

export function currentLocale(i18n: AppI18n): Locale {
  return i18n.global.locale.value
}

/** Switch the UI language (pass `i18n.global.locale`, or `locale` from useI18n()). */
export function setLocale(current: { value: string }, locale: Locale): void {
  current.value = locale
  try {
    globalThis.localStorage?.setItem(LOCALE_STORAGE_KEY, locale)
  } catch {
    // Private browsing may refuse storage; the choice then lasts for this page only.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = locale
}
