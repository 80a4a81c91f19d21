// Campaigns (外呼任务), their lead imports and live dialer, and the products, scripts and
// dispositions a campaign uses: the shapes the API returns and one function per endpoint.

import { API_BASE, ApiError, http } from './http'
import type { ApiErrorBody } from './types'

export type CampaignState = 'draft' | 'submitted' | 'approved' | 'running' | 'paused' | 'finished'
export type CampaignCommand =
  | 'submit'
  | 'approve'
  | 'reject'
  | 'start'
  | 'pause'
  | 'resume'
  | 'finish'
export type DialingMode =
  | 'manual'
  | 'preview'
  | 'progressive'
  | 'power'
  | 'predictive'
  | 'ivr_broadcast'
export type RetryOutcome =
  | 'no-answer'
  | 'busy'
  | 'machine'
  | 'failed'
  | 'invalid-number'
  | 'abandoned'
  | 'answered'
  | 'sale'

export interface CallingWindow {
  start: string
  end: string
  weekdays: string
}

export interface RetryRule {
  delay: number
  max_per_day: number | null
  max_24h: number | null
  max_lifetime: number | null
  final: boolean
}

export interface CampaignSettings {
  start_date: string | null
  end_date: string | null
  windows: CallingWindow[]
  holidays: string[]
  time_zone: string
  dialing_mode: DialingMode
  power_ratio: number
  max_lines: number
  drop_timeout: number
  safe_harbour_text: string
  safe_harbour_prompt: string
  seller_name: string
  callback_number: string
  ring_seconds: number
  // Predictive mode: give up a call rung 15 s when no agent is expected for its answer.
  give_up_ringing: boolean
  caller_ids: string[]
  caller_id_daily_cap: number
  group_ids: number[]
  retry: Partial<Record<RetryOutcome, RetryRule>>
  max_per_day: number
  max_24h: number
  max_lifetime: number
  abandoned_cooloff_hours: number
  callback_agent_wait_minutes: number
  // Preview mode; null: the platform's default.
  preview_timeout_seconds: number | null
  preview_skip_delay_minutes: number | null
  amd_false_positive_rate: number
  abandon_target: number
  script_id: number | null
  product_ids: number[]
  disposition_ids: number[]
  amd_enabled: boolean
  amd_action: 'hang_up' | 'leave_message' | 'to_agent'
}

export interface Campaign {
  id: number
  name: string
  description: string
  state: CampaignState
  revision: string
  version: number
  author_id: number | null
  settings: CampaignSettings
  commands: CampaignCommand[]
  created_at: string
  updated_at: string
}

export interface CampaignIn {
  name: string
  description: string
  settings: Partial<CampaignSettings>
}

export interface ImportJob {
  id: number
  campaign_id: number
  list_id: number | null
  filename: string
  state: 'running' | 'done' | 'failed'
  rows_read: number
  imported: number
  invalid: number
  duplicate: number
  blocked: number
  blocked_by_reason: Record<string, number>
  message: string
  created_at: string
  finished_at: string | null
}

export interface LeadList {
  id: number
  campaign_id: number
  name: string
  lead_count: number
  created_by_no: string
  created_at: string
}

export interface AbandonWindow {
  window: 'campaign' | 'rolling-30-days' | 'calendar-day'
  rate: number
  limit: number
  over: boolean
}

export interface DialerView {
  campaign_id: number
  state: CampaignState
  dialing: boolean
  mode: string | null
  at: string
  lines: { in_flight: number; ringing: number; waiting: number; last_decision: number }
  ratio: number
  level: number | null
  dials: number
  connects: number
  abandoned: number
  given_up: number // ringing calls given up after the legal 15 s (give_up_ringing)
  abandon_limit: number
  abandonment: AbandonWindow[]
  agents: Record<string, number>
  not_dialled: Record<string, number>
  reasons: { leads: Record<string, number>; total: number; dialable: number; next_at: string | null }
}

export interface ProductAttribute {
  key: string
  label: string
  type: 'text' | 'number' | 'choice' | 'date'
  required: boolean
  choices: string[]
  default: string
}

export interface Product {
  id: number
  name: string
  description: string
  attributes: ProductAttribute[]
  created_at: string
  updated_at: string
}

export interface Script {
  id: number
  name: string
  body: string
  created_at: string
  updated_at: string
}

export type DispositionFlag =
  | 'sale'
  | 'contact'
  | 'do_not_call'
  | 'callback'
  | 'answering_machine'
  | 'wrong_number'
  | 'final'

export interface Disposition {
  id: number
  code: string
  name: string
  flags: DispositionFlag[]
  outcome: RetryOutcome
  enabled: boolean
}

export const campaignsApi = {
  list: () => http.get<Campaign[]>('/campaigns'),
  get: (id: number) => http.get<Campaign>(`/campaigns/${id}`),
  create: (body: CampaignIn) => http.post<Campaign>('/campaigns', body),
  update: (id: number, body: Partial<CampaignIn>) => http.patch<Campaign>(`/campaigns/${id}`, body),
  command: (id: number, command: CampaignCommand) =>
    http.post<Campaign>(`/campaigns/${id}/${command}`),
  dialer: (id: number) => http.get<DialerView>(`/campaigns/${id}/dialer`),
  lists: (id: number) => http.get<LeadList[]>(`/campaigns/${id}/lists`),
  imports: (id: number) => http.get<ImportJob[]>(`/campaigns/${id}/imports`),
  importJob: (jobId: number) => http.get<ImportJob>(`/imports/${jobId}`),
  reportUrl: (jobId: number) => `${API_BASE}/imports/${jobId}/report`,
  importFile: (id: number, file: File, language: string) =>
    upload<ImportJob>(`/campaigns/${id}/imports`, file, language),
}

export const productsApi = {
  list: () => http.get<Product[]>('/products'),
  create: (body: Omit<Product, 'id' | 'created_at' | 'updated_at'>) =>
    http.post<Product>('/products', body),
  update: (id: number, body: Partial<Omit<Product, 'id' | 'created_at' | 'updated_at'>>) =>
    http.patch<Product>(`/products/${id}`, body),
  remove: (id: number) => http.delete<void>(`/products/${id}`),
}

export const scriptsApi = {
  list: () => http.get<Script[]>('/scripts'),
  create: (body: { name: string; body: string }) => http.post<Script>('/scripts', body),
  update: (id: number, body: { name?: string; body?: string }) =>
    http.patch<Script>(`/scripts/${id}`, body),
  remove: (id: number) => http.delete<void>(`/scripts/${id}`),
}

export const dispositionsApi = {
  list: () => http.get<Disposition[]>('/dispositions'),
  create: (body: Omit<Disposition, 'id'>) => http.post<Disposition>('/dispositions', body),
  update: (id: number, body: Partial<Omit<Disposition, 'id' | 'code'>>) =>
    http.patch<Disposition>(`/dispositions/${id}`, body),
  remove: (id: number) => http.delete<void>(`/dispositions/${id}`),
  defaults: () => http.post<Disposition[]>('/dispositions/defaults'),
}

/** A file sent as multipart form data (the JSON helper cannot), with the same errors. */
async function upload<T>(path: string, file: File, language: string): Promise<T> {
  const form = new FormData()
  form.append('file', file, file.name)
  const response = await fetch(`${API_BASE}${path}`, {
    method: 'POST',
    body: form,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', 'Accept-Language': language },
  })
  const text = await response.text()
  const parsed: unknown = text ? JSON.parse(text) : undefined
  if (!response.ok) {
    const body = parsed as ApiErrorBody | undefined
    throw new ApiError(
      response.status,
      body && typeof body.error === 'string'
        ? body
        : { error: 'http-error', message: `HTTP ${response.status}`, details: {} },
    )
  }
  return parsed as T
}
