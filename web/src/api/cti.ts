// The agent desktop, the supervisor console and the call history
// (src/callcenter/web/api/desk.py, supervisor.py, calls.py). Times in live views are the
// engine clock's seconds: a duration is `at - since`, counted on from when it was read.

import { http } from './http'
import type { Page } from './types'

export type AgentStateCode =
  | 'logged-out'
  | 'ready'
  | 'not-ready'
  | 'reserved'
  | 'talking'
  | 'on-hold'
  | 'wrap-up'

export interface LiveCall {
  call_id: string
  direction: string
  state: string
  caller: string
  dialled: string
  queue_id: string | null
  agent_no: string | null
  agents: string[]
  ringing: string[]
  held: boolean
  consult: { agent_no: string | null; dest: string; answered: boolean } | null
  conference: boolean
  supervisors: Record<string, string>
  taken_over_by: string | null
  created_at: number
  queued_at: number | null
  answered_at: number | null
  ended_at: number | null
  cause: string | null
  end_reason: string | null
  /** A campaign call names its campaign and lead (for the disposition form). */
  campaign_id?: number | string | null
  lead_id?: number | string | null
  at?: number
}

export interface LiveAgent {
  agent_no: string
  state: AgentStateCode
  reason: string | null
  since: number
  call_id: string | null
  phone: string
  pending_not_ready: string | null
  wrap_up_until: number | null
  calls_answered: number
  at?: number
}

export interface QueueStats {
  queue_id: string
  waiting: number
  longest_wait: number
  oldest_entered_at: number | null
  ringing: number
  agents_ready: number
  answered: number
  at?: number
}

/** /supervisor/queues: what people call a queue (a campaign's name; inbound: named by the UI). */
export interface QueueName {
  queue_id: string
  kind: 'inbound' | 'campaign'
  campaign_id: number | null
  name: string
}

export interface Snapshot {
  at: number
  agents: LiveAgent[]
  calls: LiveCall[]
  queues: QueueStats[]
}

/** /desk/state: the agent as the console sees it, with the call in hand (if logged in). */
export interface DeskState extends Partial<Omit<LiveAgent, 'agent_no' | 'state'>> {
  agent_no: string
  state: AgentStateCode
  at?: number
  call?: LiveCall | null
  /** The call's queue as /supervisor/queues names it (an agent may not read that list). */
  queue?: QueueName | null
  /** In wrap-up after a call that has ended: that call and its queue, for a desktop that
   * did not see it live (reloaded, or opened on another PC). */
  last_call?: LiveCall | null
  last_queue?: QueueName | null
}

export interface CallLeg {
  leg_id: string
  purpose: string
  dest: string
  agent_no: string | null
  created_at: string
  answered_at: string | null
  ended_at: string | null
  cause: string | null
  caller_id: string | null // 主叫号码: the caller ID a leg to a customer or number presented
}

export interface CallRecord {
  call_id: string
  direction: string
  state: string
  caller: string
  dialled: string
  queue_id: string | null
  agent_no: string | null
  agents: string[]
  created_at: string
  answered_at: string | null
  ended_at: string | null
  cause: string | null
  end_reason: string | null
  talk_seconds: number | null
  legs: CallLeg[]
  campaign_id: number | null // a campaign's call (外呼任务): its campaign and lead
  lead_id: number | null
}

export type TransferTarget = { agent_no: string } | { number: string } | { queue_id: string }

/** A fresh id per click: a retry of the same request is harmless on the server. */
export function newCommandId(): string {
  const random = globalThis.crypto?.randomUUID?.()
  return random ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

const command = (path: string, body: Record<string, unknown> = {}) =>
  http.post<void>(path, { command_id: newCommandId(), ...body })

export const deskApi = {
  state: () => http.get<DeskState>('/desk/state'),
  virtualPhone: (autoAnswer = false) =>
    http.post<{ phone: string }>('/desk/virtual-phone', { auto_answer: autoAnswer }),
  login: (phone: string) => command('/desk/login', { phone }),
  logout: () => command('/desk/logout'),
  ready: () => command('/desk/ready'),
  notReady: (reason: string) => command('/desk/not-ready', { reason }),
  answer: () => command('/desk/answer'),
  hangup: () => command('/desk/hangup'),
  hold: () => command('/desk/hold'),
  resume: () => command('/desk/resume'),
  dtmf: (digits: string) => command('/desk/dtmf', { digits }),
  dial: (number: string) =>
    http.post<{ call_id: string }>('/desk/dial', { command_id: newCommandId(), number }),
  transfer: (target: TransferTarget) => command('/desk/transfer', target),
  consult: (target: TransferTarget) => command('/desk/consult', target),
  completeTransfer: () => command('/desk/consult/complete'),
  cancelConsult: () => command('/desk/consult/cancel'),
  conference: () => command('/desk/conference'),
}

export type MonitorMode = 'listen' | 'whisper' | 'barge'

export const supervisorApi = {
  snapshot: () => http.get<Snapshot>('/supervisor/snapshot'),
  queues: () => http.get<QueueName[]>('/supervisor/queues'),
  monitor: (mode: MonitorMode, callId: string, phone: string) =>
    command(`/supervisor/calls/${encodeURIComponent(callId)}/${mode}`, { phone }),
  forceHangup: (callId: string) =>
    command(`/supervisor/calls/${encodeURIComponent(callId)}/hangup`),
  forceLogout: (agentNo: string) =>
    command(`/supervisor/agents/${encodeURIComponent(agentNo)}/logout`),
  forceReady: (agentNo: string) =>
    command(`/supervisor/agents/${encodeURIComponent(agentNo)}/ready`),
  forceNotReady: (agentNo: string, reason: string) =>
    command(`/supervisor/agents/${encodeURIComponent(agentNo)}/not-ready`, { reason }),
}

export const callsApi = {
  search: (query: {
    number?: string
    agent_no?: string
    campaign_id?: number
    caller_id?: string // the calls that presented this caller ID (E.164 or as stored)
    limit?: number
    offset?: number
  }) =>
    http.get<Page<CallRecord>>('/calls', query),
}

// 手动外呼 (src/callcenter/web/api/desk.py, app/dialing_manual.py): the running manual
// campaigns the agent is logged in for, the lead held for them, dialled with one click
// through the campaign's dialer, or passed on (it comes back after the skip delay).

export interface ManualLead {
  id: number
  name: string
  phone: string
  /** The list's custom fields (the name is `name` above). */
  fields: Record<string, unknown>
}

export interface ManualCampaign {
  id: number
  name: string
}

export interface ManualView {
  campaigns: ManualCampaign[]
  /** The campaign asked for, or the one whose lead the agent holds. */
  campaign: ManualCampaign | null
  lead: ManualLead | null
  /** Why no lead was handed out (`no-leads`), in both languages. */
  reason: { code: string; zh: string; en: string } | null
  hold_seconds: number
  at: string
}

export interface ManualPlaced {
  call_id: string
  campaign_id: number
  lead_id: number
}

export const manualApi = {
  /** Without a campaign nothing is taken; with one, its next lead is held for the agent. */
  view: (campaignId?: number) => http.get<ManualView>('/desk/manual', { campaign_id: campaignId }),
  dial: (lead: ManualLead, campaignId: number) =>
    http.post<ManualPlaced>('/desk/dial', {
      command_id: newCommandId(),
      number: lead.phone,
      campaign_id: campaignId,
      lead_id: lead.id,
    }),
  release: (lead: ManualLead, campaignId: number) =>
    http.post<{ campaign_id: number; lead_id: number; back_at: string }>('/desk/manual/release', {
      command_id: newCommandId(),
      campaign_id: campaignId,
      lead_id: lead.id,
    }),
}
