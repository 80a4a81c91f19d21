// The live event stream (/api/v1/events) with reconnection.
//
// Theory of operation: `start()` opens a socket (the browser sends the session cookie).
// The server greets with `hello`; that resets the back-off. When the socket closes for
// any reason other than the end of the session (4401) we wait and try again, doubling
// the delay from `minDelayMs` up to `maxDelayMs`, with jitter so that a restarted
// server is not hit by every browser at once. `stop()` ends it for good.

export type LiveStatus = 'connecting' | 'open' | 'closed' | 'stopped'

export interface LiveEvent {
  type: string
  seq?: number
  at?: string
  data?: Record<string, unknown>
}

export interface SocketLike {
  onopen: ((ev: Event) => unknown) | null
  onmessage: ((ev: MessageEvent) => unknown) | null
  onclose: ((ev: CloseEvent) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface EventSocketOptions {
  url: string
  onEvent?: (event: LiveEvent) => void
  onStatus?: (status: LiveStatus, retryInMs: number | null) => void
  onSessionEnded?: () => void
  createSocket?: (url: string) => SocketLike
  minDelayMs?: number
  maxDelayMs?: number
  pingIntervalMs?: number
  random?: () => number
}

export const CLOSE_UNAUTHENTICATED = 4401
const OPEN = 1

export function eventsUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}/api/v1/events`
}

/** Delay before reconnection attempt `attempt` (0-based): exponential, capped, jittered. */
export function backoffDelay(
  attempt: number,
  minDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** attempt)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export class EventSocket {
  private socket: SocketLike | null = null
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private stopped = true
  private readonly options: Required<
    Omit<EventSocketOptions, 'onEvent' | 'onStatus' | 'onSessionEnded'>
  > &
    EventSocketOptions

  constructor(options: EventSocketOptions) {
    this.options = {
      createSocket: (url) => new WebSocket(url),
      minDelayMs: 1000,
      maxDelayMs: 30_000,
      pingIntervalMs: 25_000,
      random: Math.random,
      ...options,
    }
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.attempt = 0
    this.connect()
  }

  stop(): void {
    this.stopped = true
    this.clearTimers()
    const socket = this.socket
    this.socket = null
    if (socket) {
      socket.onclose = null
      socket.close(1000, 'bye')
    }
    this.options.onStatus?.('stopped', null)
  }

  private connect(): void {
    this.options.onStatus?.('connecting', null)
    const socket = this.options.createSocket(this.options.url)
    this.socket = socket
    socket.onmessage = (message) => this.receive(message)
    socket.onclose = (event) => this.closed(event.code)
    socket.onerror = () => undefined // a close follows
  }

  private receive(message: MessageEvent): void {
    let event: LiveEvent
    try {
      event = JSON.parse(String(message.data)) as LiveEvent
    } catch {
      return
    }
    if (event.type === 'hello') {
      this.attempt = 0
      this.options.onStatus?.('open', null)
      this.startPing()
    }
    if (event.type !== 'pong') this.options.onEvent?.(event)
  }

  private closed(code: number): void {
    this.clearTimers()
    this.socket = null
    if (this.stopped) return
    if (code === CLOSE_UNAUTHENTICATED) {
      this.stopped = true
      this.options.onStatus?.('stopped', null)
      this.options.onSessionEnded?.()
      return
    }
    const { minDelayMs, maxDelayMs, random } = this.options
    const delay = backoffDelay(this.attempt, minDelayMs, maxDelayMs, random)
    this.attempt += 1
    this.options.onStatus?.('closed', delay)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.stopped) this.connect()
    }, delay)
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (this.socket && this.socket.readyState === OPEN) {
        this.socket.send(JSON.stringify({ type: 'ping' }))
      }
    }, this.options.pingIntervalMs)
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.retryTimer = null
    this.pingTimer = null
  }
}
