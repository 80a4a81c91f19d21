// Dates and numbers in the user's language, through Intl.

import { computed } from 'vue'
import { useI18n } from 'vue-i18n'

export function formatDateTime(value: string | Date | null | undefined, locale: string): string {
  if (value === null || value === undefined || value === '') return ''
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(date)
}

export function formatNumber(value: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(value)
}

/** "09:00:00" from the API as "09:00" (the locale's 24-hour clock). */
export function formatClock(value: string | null): string {
  return value ? value.slice(0, 5) : ''
}

/** Formatters that follow the current UI language. */
export function useFormat() {
  const { locale } = useI18n()
  const current = computed(() => locale.value)
  return {
    dateTime: (value: string | Date | null | undefined) => formatDateTime(value, current.value),
    number: (value: number) => formatNumber(value, current.value),
  }
}
