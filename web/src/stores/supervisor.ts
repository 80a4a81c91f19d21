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
//
// Queues are known by id (`service`, `campaign:7`); their names come from
// /supervisor/queues, read on opening and again whenever a queue id turns up that has
// no name yet (a campaign created after the console opened) or a campaign changes.
// Each id is asked about once: one the server cannot name is shown as well as it can be.

import { defineStore } from 'pinia'
import { computed, ref, shallowRef, triggerRef } from 'vue'
import { supervisorApi, type LiveAgent, type LiveCall, type QueueName, type QueueStats, type Snapshot } from '@/api/cti'
import type { LiveEvent } from '@/ws/events'

export const SERVICE_LEVEL_SECONDS = 20
const HISTORY_POINTS = 120
const RECENT_EVENTS = 1000
const DELTAS = new Set(['agent.state', 'call.updated', 'queue.stats'])

/** How the console shows a queue: a campaign's name, an inbound queue, or its bare id. */
export type QueueLabel =
  | { kind: 'campaign'; name: string; campaignId: number }
  | { kind: 'inbound'; queueId: string }
  | { kind: 'unknown'; queueId: string }

const CAMPAIGN_QUEUE = /^campaign:(\d+)$/

/** The label of `queueId` from the names the server gave (`names`). */
export function queueLabel(queueId: string, names: ReadonlyMap<string, QueueName>): QueueLabel {
  const named = names.get(queueId)
  if (named?.kind === 'campaign' && named.campaign_id != null) {
    return { kind: 'campaign', name: named.name, campaignId: named.campaign_id }
  }
  if (named?.kind === 'inbound') return { kind: 'inbound', queueId }
  const campaign = CAMPAIGN_QUEUE.exec(queueId)
  if (campaign) return { kind: 'campaign', name: '', campaignId: Number(campaign[1]) }
  return { kind: 'unknown', queueId }
}

function queueOrder(a: string, b: string): number {
  const ca = CAMPAIGN_QUEUE.exec(a)
  const cb = CAMPAIGN_QUEUE.exec(b)
  if (ca && cb) return Number(ca[1]) - Number(cb[1])
  if (ca || cb) return ca ? 1 : -1
  return a.localeCompare(b)
}

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
  const queueNames = shallowRef(new Map<string, QueueName>())
  let recent: LiveEvent[] = []
  const counted = new Set<string>()
  const askedFor = new Set<string>()
  let naming: Promise<void> | null = null
  let nameAgain = false

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
    nameNewQueues()
  }

  /** Every queue id on the console now: the tiles', and the live calls'. */
  function queueIds(): Set<string> {
    const ids = new Set(queues.value.keys())
    for (const call of calls.value.values()) if (call.queue_id) ids.add(call.queue_id)
    return ids
  }

  /** Read the queues' names from the server; reads asked for during one coalesce into one
   *  more after it. A failed read leaves the ids on show (and is not retried for them). */
  function nameQueues(): Promise<void> {
    if (naming) {
      nameAgain = true
      return naming
    }
    naming = (async () => {
      try {
        do {
          nameAgain = false
          for (const id of queueIds()) askedFor.add(id)
          const names = await supervisorApi.queues()
          queueNames.value = new Map(names.map((q) => [q.queue_id, q]))
        } while (nameAgain)
      } catch {
        // Without names the console shows the ids; the next new queue asks again.
      } finally {
        naming = null
      }
    })()
    return naming
  }

  /** Ask for names when a queue id shows that has none and has not been asked about
   *  (`ids`: the ones to look at; all on the console if not given). */
  function nameNewQueues(ids: Iterable<string | null | undefined> = queueIds()): void {
    for (const id of ids) {
      if (id && !queueNames.value.has(id) && !askedFor.has(id)) {
        void nameQueues()
        return
      }
    }
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
    if (event.type === 'campaign.changed') {
      void nameQueues() // a campaign renamed or created: its queue's name may be new
      return
    }
    if (!data || !DELTAS.has(event.type)) return
    recent.push(event)
    if (recent.length > RECENT_EVENTS) recent.splice(0, recent.length - RECENT_EVENTS)
    applyDelta(event)
    nameNewQueues([data.queue_id as string | null | undefined])
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
  // Inbound queues first, then the campaigns in the order they were created.
  const queueRows = computed(() =>
    [...queues.value.values()].sort((a, b) => queueOrder(a.queue_id, b.queue_id)),
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
    queueNames,
    nowMs,
    agentRows,
    queueRows,
    engineNow,
    load,
    apply,
    nameQueues,
    tick,
    callOf,
    longestWait,
    serviceLevel,
  }
})
