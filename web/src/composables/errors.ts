// Turning a failed call into words: the server's own message (already in the user's
// language, thanks to Accept-Language), or ours when the server could not be reached.

import { ElMessage } from 'element-plus'
import { useI18n } from 'vue-i18n'
import { ApiError } from '@/api/http'

export function errorText(error: unknown, networkText: string): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof TypeError) return networkText
  return error instanceof Error ? error.message : String(error)
}

export function useErrors() {
  const { t } = useI18n()
  const describe = (error: unknown) => errorText(error, t('common.networkError'))
  const show = (error: unknown) => {
    ElMessage.error({ message: describe(error), grouping: true })
  }
  return { describe, show }
}
