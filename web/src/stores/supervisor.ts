// The supervisor console's live picture: every logged-in agent, live call and queue.
//
// Theory of operation: the server is the truth. A (re)connecting console receives a
// `snapshot` event first and replaces everything; then `agent.state`, `call.updated` and
// `queue.stats` deltas update it. The view also loads /supervisor/snapshot on opening
// (the socket's snapshot may have come before the view). Engine times are seconds on
// the engine's clock; `engineNow()` extrapolates it from the last event's `at`.
//
// A snapshot read over REST may answer after deltas newer than it: the deltas of the
// last moments are kept and applied again on top of it (applying one twice is harmless).
//
// Service level and abandoned calls are counted here from the calls seen ending since
// the console opened (the server does not publish them yet).

import { defineStore } from 'pinia'
import { computed, ref, shallowRef, triggerRef } from 'vue'
import type { LiveAgent, LiveCall, QueueStats, Snapshot } from '@/api/cti'
import type { LiveEvent } from '@/ws/events'

export const SERVICE_LEVEL_SECONDS = 20
const HISTORY_POINTS = 120
const RECENT_EVENTS = 1000
const DELTAS = new Set(['agent.state', 'call.updated', 'queue.stats'])

export interface QueueTally {
  answered: number
  answeredInTime: number
  abandoned: number
  /** [local ms, waiting] samples for the chart, oldest first. */
  waiting: [number, number][]
}

export const useSupervisorStore = defineStore('supervisor', () => {
  const agents = shallowRef(new Map<string, LiveAgent>())
  const calls = shallowRef(new Map<string, LiveCall>())
  const queues = shallowRef(new Map<string, QueueStats>())
  const tallies = shallowRef(new Map<string, QueueTally>())
  const engineAt = ref(0)
  const engineAtMs = ref(0)
  const nowMs = ref(Date.now())
  const loaded = ref(false)
  let recent: LiveEvent[] = []
  const counted = new Set<string>()

  function engineNow(): number {
    return engineAt.value + (nowMs.value - engineAtMs.value) / 1000
  }

  function seen(at: unknown): void {
    if (typeof at === 'number' && at >= engineAt.value) {
      engineAt.value = at
      engineAtMs.value = Date.now()
      nowMs.value = engineAtMs.value
    }
  }

  function tally(queueId: string): QueueTally {
    let t = tallies.value.get(queueId)
    if (!t) {
      t = { answered: 0, answeredInTime: 0, abandoned: 0, waiting: [] }
      tallies.value.set(queueId, t)
    }
    return t
  }

  function sample(stats: QueueStats): void {
    const t = tally(stats.queue_id)
    t.waiting.push([Date.now(), stats.waiting])
    if (t.waiting.length > HISTORY_POINTS) t.waiting.splice(0, t.waiting.length - HISTORY_POINTS)
  }

  /** Start again from `snapshot`: the socket's replaces everything; one read over REST
   *  gets the deltas at or after its moment applied again on top. */
  function load(snapshot: Snapshot, { fromSocket = false } = {}): void {
    const replay = fromSocket ? [] : recent.filter((e) => Number(e.data?.at ?? -1) >= snapshot.at)
    if (fromSocket) recent = []
    agents.value = new Map(snapshot.agents.map((a) => [a.agent_no, a]))
    calls.value = new Map(snapshot.calls.map((c) => [c.call_id, c]))
    queues.value = new Map(snapshot.queues.map((q) => [q.queue_id, q]))
    for (const q of snapshot.queues) sample(q)
    engineAt.value = 0
    seen(snapshot.at)
    loaded.value = true
    for (const event of replay) applyDelta(event)
    triggerRef(tallies)
  }

  function callEnded(call: LiveCall): void {
    if (!call.queue_id || call.queued_at == null || call.answered_at != null) return
    if (counted.has(`abandoned/${call.call_id}`)) return
    counted.add(`abandoned/${call.call_id}`)
    tally(call.queue_id).abandoned += 1
  }

  function callAnswered(previous: LiveCall | undefined, call: LiveCall): void {
    if (!call.queue_id || call.queued_at == null || call.answered_at == null) return
    if (previous?.answered_at != null || counted.has(`answered/${call.call_id}`)) return
    counted.add(`answered/${call.call_id}`)
    const t = tally(call.queue_id)
    t.answered += 1
    if (call.answered_at - call.queued_at <= SERVICE_LEVEL_SECONDS) t.answeredInTime += 1
  }

  function apply(event: LiveEvent): void {
    const data = event.data as Record<string, unknown> | undefined
    if (event.type === 'snapshot' && data) {
      load(data as unknown as Snapshot, { fromSocket: true })
      return
    }
    if (!data || !DELTAS.has(event.type)) return
    recent.push(event)
    if (recent.length > RECENT_EVENTS) recent.splice(0, recent.length - RECENT_EVENTS)
    applyDelta(event)
  }

  function applyDelta(event: LiveEvent): void {
    const data = event.data as Record<string, unknown>
    seen(data.at)
    if (event.type === 'agent.state') {
      const agent = data as unknown as LiveAgent
      if (agent.state === 'logged-out') agents.value.delete(agent.agent_no)
      else agents.value.set(agent.agent_no, agent)
      triggerRef(agents)
    } else if (event.type === 'call.updated') {
      const call = data as unknown as LiveCall
      const previous = calls.value.get(call.call_id)
      callAnswered(previous, call)
      if (call.ended_at != null) {
        calls.value.delete(call.call_id)
        callEnded(call)
      } else {
        calls.value.set(call.call_id, call)
      }
      triggerRef(calls)
      triggerRef(tallies)
    } else if (event.type === 'queue.stats') {
      const stats = data as unknown as QueueStats
      queues.value.set(stats.queue_id, stats)
      sample(stats)
      triggerRef(queues)
      triggerRef(tallies)
    }
  }

  function tick(): void {
    nowMs.value = Date.now()
  }

  const agentRows = computed(() =>
    [...agents.value.values()].sort((a, b) => a.agent_no.localeCompare(b.agent_no)),
  )
  const queueRows = computed(() =>
    [...queues.value.values()].sort((a, b) => a.queue_id.localeCompare(b.queue_id)),
  )

  /** The live call an agent is on (as primary agent, party or ringing). */
  function callOf(agent: LiveAgent): LiveCall | null {
    if (!agent.call_id) return null
    return calls.value.get(agent.call_id) ?? null
  }

  /** Longest wait now, counted on from the oldest waiting call's entry. */
  function longestWait(stats: QueueStats): number {
    if (stats.oldest_entered_at == null) return 0
    return Math.max(0, engineNow() - stats.oldest_entered_at)
  }

  function serviceLevel(queueId: string): number | null {
    const t = tallies.value.get(queueId)
    if (!t || t.answered + t.abandoned === 0) return null
    return t.answeredInTime / (t.answered + t.abandoned)
  }

  return {
    agents,
    calls,
    queues,
    tallies,
    loaded,
    nowMs,
    agentRows,
    queueRows,
    engineNow,
    load,
    apply,
    tick,
    callOf,
    longestWait,
    serviceLevel,
  }
})
