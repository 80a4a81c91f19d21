// The agent desktop's picture of its own agent: read from /desk/state whenever the
// server says it changed (`desk.changed` naming this agent) and whenever the live
// connection (re)opens, so after a reconnect the desktop shows the server's truth.
//
// Durations are counted from the engine's clock: the state began at `since`, the server
// answered at `at`; the desktop adds the local time elapsed since that answer.
//
// The screen pop names the call's queue from the `queue` /desk/state gives with the call
// (a campaign's name; an inbound queue's id, which the view translates), kept through
// wrap-up with the call. A desktop that did not see the call live (reloaded during
// wrap-up, or opened on another PC) takes it from the state's `last_call` and
// `last_queue`, so the screen pop and the disposition form come back.

import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { callsApi, deskApi, type CallRecord, type DeskState, type LiveCall, type QueueName } from '@/api/cti'
import { queueLabel, type QueueLabel } from '@/stores/supervisor'
import type { LiveEvent } from '@/ws/events'

export const ON_CALL = new Set(['reserved', 'talking', 'on-hold'])
export const NOT_READY_REASONS = ['rest', 'meal', 'meeting', 'training', 'paperwork'] as const

export const useDeskStore = defineStore('desk', () => {
  const state = shallowRef<DeskState | null>(null)
  const readAtMs = ref(0)
  const nowMs = ref(Date.now())
  const history = shallowRef<CallRecord[]>([])
  const historyFor = ref<string | null>(null)
  let inFlight: Promise<void> | null = null
  let again = false

  const elapsedSeconds = computed(() => {
    const s = state.value
    if (!s || s.since === undefined || s.at === undefined) return 0
    return Math.max(0, s.at - s.since + (nowMs.value - readAtMs.value) / 1000)
  })

  const wrapUpLeft = computed<number | null>(() => {
    const s = state.value
    if (!s || s.state !== 'wrap-up' || s.wrap_up_until == null || s.at === undefined) return null
    return Math.max(0, s.wrap_up_until - s.at - (nowMs.value - readAtMs.value) / 1000)
  })

  const call = computed(() => state.value?.call ?? null)
  // The call just ended stays on the screen pop through wrap-up (for the notes on it).
  const lastCall = shallowRef<LiveCall | null>(null)
  const popCall = computed(() => call.value ?? (state.value?.state === 'wrap-up' ? lastCall.value : null))
  const lastQueue = shallowRef<QueueName | null>(null)

  /** The screen pop's queue as people know it; without the server's name for it, guessed
   * from the call (a campaign's call, a preview one too, has its campaign's queue). */
  const popQueue = computed<QueueLabel | null>(() => {
    const c = popCall.value
    if (!c) return null
    const named = lastQueue.value
    const queueId = named?.queue_id ?? c.queue_id ?? (c.campaign_id != null ? `campaign:${c.campaign_id}` : null)
    if (!queueId) return null
    return queueLabel(queueId, new Map(named ? [[named.queue_id, named]] : []))
  })

  /** The customer's number on the screen pop: who called, or whom we dialled. */
  const customerNumber = computed(() => {
    const c = popCall.value
    if (!c) return null
    return c.direction === 'inbound' ? c.caller : c.dialled
  })

  /** Earlier calls of the customer (not the one on the screen pop). */
  const earlierCalls = computed(() => history.value.filter((c) => c.call_id !== popCall.value?.call_id))

  async function loadHistory(number: string | null): Promise<void> {
    if (number === historyFor.value) return
    historyFor.value = number
    if (!number) return
    try {
      const page = await callsApi.search({ number, limit: 10 })
      if (historyFor.value === number) history.value = page.items
    } catch {
      if (historyFor.value === number) history.value = []
    }
  }

  async function readOnce(): Promise<void> {
    const next = await deskApi.state()
    state.value = next
    if (next.call) {
      lastCall.value = next.call
      lastQueue.value = next.queue ?? null
    } else if (next.state !== 'wrap-up') {
      lastCall.value = null
      lastQueue.value = null
    } else if (next.last_call && next.last_call.call_id !== lastCall.value?.call_id) {
      lastCall.value = next.last_call
      lastQueue.value = next.last_queue ?? null
    }
    readAtMs.value = Date.now()
    nowMs.value = readAtMs.value
    const shown = next.call ?? (next.state === 'wrap-up' ? lastCall.value : null)
    const number = shown ? (shown.direction === 'inbound' ? shown.caller : shown.dialled) : null
    if (number) await loadHistory(number)
  }

  /** Read the server's state; calls during a read coalesce into one more read. */
  async function refresh(): Promise<void> {
    if (inFlight) {
      again = true
      return inFlight
    }
    inFlight = (async () => {
      try {
        do {
          again = false
          await readOnce()
        } while (again)
      } finally {
        inFlight = null
      }
    })()
    return inFlight
  }

  /** What a live event means for this desktop (`me`: our agent number). */
  function onEvent(event: LiveEvent, me: string): void {
    if (event.type === 'hello') void refresh().catch(() => undefined)
    else if (event.type === 'desk.changed' && event.data?.agent_no === me) {
      void refresh().catch(() => undefined)
    }
  }

  function tick(): void {
    nowMs.value = Date.now()
  }

  return {
    state,
    call,
    popCall,
    popQueue,
    customerNumber,
    earlierCalls,
    history,
    historyFor,
    elapsedSeconds,
    wrapUpLeft,
    refresh,
    onEvent,
    tick,
  }
})

/** 75 -> "01:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const mm = String(m).padStart(2, '0')
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}
