// The live connection reconnects with growing, capped delays; a hello resets them; the
// end of the session (4401) stops it for good.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, EventSocket, eventsUrl, type LiveStatus, type SocketLike } from '@/ws/events'

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null
  readyState = 1
  sent: string[] = []
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data)
  }
  close(): void {
    this.readyState = 3
  }
  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent)
  }
  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
}

let sockets: FakeSocket[]
let statuses: Array<[LiveStatus, number | null]>

function connect(extra: { onSessionEnded?: () => void } = {}) {
  const socket = new EventSocket({
    url: 'ws://ui.test/api/v1/events',
    createSocket: (url) => {
      const s = new FakeSocket(url)
      sockets.push(s)
      return s
    },
    onStatus: (status, retry) => statuses.push([status, retry]),
    random: () => 1, // no jitter: the full delay
    minDelayMs: 1000,
    maxDelayMs: 8000,
    pingIntervalMs: 25_000,
    ...extra,
  })
  socket.start()
  return socket
}

beforeEach(() => {
  vi.useFakeTimers()
  sockets = []
  statuses = []
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the live connection', () => {
  it('builds its address from the page', () => {
    expect(eventsUrl({ protocol: 'https:', host: 'cc.example:8443' })).toBe('wss://cc.example:8443/api/v1/events')
    expect(eventsUrl({ protocol: 'http:', host: '127.0.0.1:8090' })).toBe('ws://127.0.0.1:8090/api/v1/events')
  })

  it('waits 1, 2, 4, 8, 8 s between attempts, with jitter of at most half', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 8000, () => 1))).toEqual([1000, 2000, 4000, 8000, 8000])
    expect(backoffDelay(3, 1000, 8000, () => 0)).toBe(4000)
  })

  it('reconnects after a drop and is open again after hello', () => {
    connect()
    sockets[0]!.receive({ type: 'hello', data: {} })
    expect(statuses.at(-1)).toEqual(['open', null])

    sockets[0]!.drop()
    expect(statuses.at(-1)).toEqual(['closed', 1000])
    vi.advanceTimersByTime(999)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)

    sockets[1]!.drop()
    expect(statuses.at(-1)).toEqual(['closed', 2000])
    vi.advanceTimersByTime(2000)
    sockets[2]!.receive({ type: 'hello', data: {} })
    sockets[2]!.drop()
    expect(statuses.at(-1)).toEqual(['closed', 1000]) // hello reset the back-off
  })

  it('pings while open', () => {
    connect()
    sockets[0]!.receive({ type: 'hello', data: {} })
    vi.advanceTimersByTime(25_000)
    expect(sockets[0]!.sent).toEqual([JSON.stringify({ type: 'ping' })])
  })

  it('stops for good when the session has ended', () => {
    const ended = vi.fn()
    connect({ onSessionEnded: ended })
    sockets[0]!.drop(4401)
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
    expect(ended).toHaveBeenCalledOnce()
    expect(statuses.at(-1)).toEqual(['stopped', null])
  })

  it('does not reconnect after stop()', () => {
    const socket = connect()
    socket.stop()
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })
})
