// One admin table with a create/edit dialog: load the rows, open the dialog on a row (or
// on nothing, to create), validate and save, and remove a row after asking. Each screen
// says how a row fills the form and how the form is saved; the rest is here.

import { onMounted, reactive, ref, useTemplateRef, type Ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { ElMessage, type FormInstance } from 'element-plus'
import { useConfirm } from '@/composables/confirm'
import { useErrors } from '@/composables/errors'

export interface CrudOptions<T extends { id: number }, F extends object> {
  list: () => Promise<T[]>
  remove: (id: number) => Promise<unknown>
  /** The form's values for a row, or for a new one when ``row`` is null. */
  fill: (row: T | null) => F
  /** Saves the form: updates ``editing`` when set, creates otherwise. */
  save: (form: F, editing: T | null) => Promise<unknown>
  /** The question asked before ``row`` is removed. */
  confirmDelete: (row: T) => string
}

export function useCrudTable<T extends { id: number }, F extends object>(options: CrudOptions<T, F>) {
  const { t } = useI18n()
  const errors = useErrors()
  const confirm = useConfirm()

  const items = ref([]) as Ref<T[]>
  const loading = ref(false)
  const open = ref(false)
  const editing = ref(null) as Ref<T | null>
  const saving = ref(false)
  // The screen's dialog form is the element with ref="crudForm".
  const formRef = useTemplateRef<FormInstance>('crudForm')
  const form = reactive(options.fill(null)) as F

  async function load(): Promise<void> {
    loading.value = true
    try {
      items.value = await options.list()
    } catch (error) {
      errors.show(error)
    } finally {
      loading.value = false
    }
  }

  onMounted(load)

  function edit(row: T | null): void {
    editing.value = row
    Object.assign(form, options.fill(row))
    open.value = true
  }

  /** Runs ``action``, then says ``message`` and reloads; a failure is shown instead. */
  async function run(action: () => Promise<unknown>, message: string): Promise<boolean> {
    try {
      await action()
      ElMessage.success(message)
      await load()
      return true
    } catch (error) {
      errors.show(error)
      return false
    }
  }

  async function submit(): Promise<void> {
    if (!(await formRef.value?.validate().catch(() => false))) return
    saving.value = true
    try {
      await options.save(form, editing.value)
      ElMessage.success(t('common.saved'))
      open.value = false
      await load()
    } catch (error) {
      errors.show(error)
    } finally {
      saving.value = false
    }
  }

  async function remove(row: T): Promise<void> {
    if (!(await confirm(options.confirmDelete(row)))) return
    await run(() => options.remove(row.id), t('common.deleted'))
  }

  return { items, loading, open, editing, saving, form, load, edit, submit, remove, run }
}
