// Preview dialing on the agent desktop (src/callcenter/web/api/preview.py): the lead on
// preview to this agent, accept (dial now) and skip. Times are the server's: a countdown
// is `seconds_left` at `at`, counted on from when it was read.

import { http } from './http'
import { newCommandId } from './cti'

export interface PreviewLead {
  id: number
  name: string
  phone: string
  /** The list's custom fields (the name is `name` above). */
  fields: Record<string, unknown>
}

export interface PreviewOffer {
  offer_id: string
  agent_no: string
  campaign: { id: number; name: string }
  lead: PreviewLead
  offered_at: string
  expires_at: string
  seconds_left: number
  /** At the deadline the call is placed (true) or the lead skipped (false). */
  dial_on_timeout: boolean
  at: string
}

export interface PreviewPlaced {
  call_id: string
  campaign_id: number
  lead_id: number
}

/** The events naming an agent whose lead on preview changed (the lead is read with GET). */
export const PREVIEW_EVENTS: ReadonlySet<string> = new Set(['preview.offered', 'preview.ended'])

export const previewApi = {
  current: () => http.get<PreviewOffer | null>('/desk/preview'),
  accept: () => http.post<PreviewPlaced>('/desk/preview/accept', { command_id: newCommandId() }),
  skip: (reason = '') =>
    http.post<void>('/desk/preview/skip', { command_id: newCommandId(), reason }),
}
