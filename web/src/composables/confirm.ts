// Asking before something is removed: one warning dialog, answered yes or no.

import { ElMessageBox } from 'element-plus'
import { useI18n } from 'vue-i18n'

export function useConfirm() {
  const { t } = useI18n()
  /** True when the user confirms; ``action`` labels the confirm button (default: delete). */
  return async (message: string, action?: string): Promise<boolean> => {
    try {
      await ElMessageBox.confirm(message, t('common.confirmTitle'), {
        type: 'warning',
        confirmButtonText: action ?? t('common.delete'),
        cancelButtonText: t('common.cancel'),
      })
      return true
    } catch {
      return false
    }
  }
}
