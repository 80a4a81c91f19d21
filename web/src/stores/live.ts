// The live connection's state for the indicator, and the last event for screens that
// refresh themselves when something they show has changed.

import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { EventSocket, eventsUrl, type LiveEvent, type LiveStatus } from '@/ws/events'

export const useLiveStore = defineStore('live', () => {
  const status = ref<LiveStatus>('stopped')
  const retryInMs = ref<number | null>(null)
  const lastEvent = shallowRef<LiveEvent | null>(null)
  let socket: EventSocket | null = null
  // Screens that must see every event (not only the last of a burst) subscribe here.
  const listeners = new Set<(event: LiveEvent) => void>()

  /** Call `listener` for every event from now on; returns the unsubscribe function. */
  function subscribe(listener: (event: LiveEvent) => void): () => void {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  function start(onSessionEnded: () => void): void {
    if (socket) return
    socket = new EventSocket({
      url: eventsUrl(window.location),
      onStatus: (next, retry) => {
        status.value = next
        retryInMs.value = retry
      },
      onEvent: (event) => {
        lastEvent.value = event
        for (const listener of listeners) listener(event)
      },
      onSessionEnded,
    })
    socket.start()
  }

  function stop(): void {
    socket?.stop()
    socket = null
  }

  return { status, retryInMs, lastEvent, start, stop, subscribe }
})
