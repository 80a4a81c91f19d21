// Bodies of the REST API under /api/v1 (see src/callcenter/web/schemas.py).

export interface Page<T> {
  items: T[]
  total: number
}

export interface ApiErrorBody {
  error: string
  message: string
  details: Record<string, unknown>
}

/** One of my own roles, named: a built-in one by the catalogue (roles.<code>) in the
 * reader's language, a custom one by the name stored with it. */
export interface MyRole {
  code: string
  name: string
  builtin: boolean
}

export interface Me {
  id: number
  agent_no: string
  name: string
  roles: string[]
  permissions: string[]
  role_names: MyRole[]
}

export interface LoginOut {
  agent: Me
  expires_at: string
}

export interface Agent {
  id: number
  agent_no: string
  name: string
  enabled: boolean
  roles: string[]
  locked_until: string | null
  last_login_at: string | null
  created_at: string
  updated_at: string
}

export interface AgentIn {
  agent_no: string
  name: string
  password: string
  roles: string[]
  enabled: boolean
}

export interface Group {
  id: number
  name: string
  description: string
  member_count: number
  created_at: string
  updated_at: string
}

export interface Membership {
  id: number
  group_id: number
  group_name: string
  agent_id: number
  agent_no: string
  agent_name: string
  start_time: string | null
  end_time: string | null
  weekdays: string
  skill_level: number
}

export interface MembershipIn {
  agent_id: number
  start_time: string | null
  end_time: string | null
  weekdays: string
  skill_level: number
}

export interface Permission {
  code: string
  menu: string
  zh: string
  en: string
}

export interface Role {
  id: number
  code: string
  name: string
  description: string
  builtin: boolean
  permissions: string[]
}

export interface AuditEntry {
  id: number
  at: string
  actor_id: number | null
  actor_no: string
  action: string
  target_type: string
  target_id: string
  outcome: string
  detail: Record<string, unknown>
  ip: string
  user_agent: string
}

export interface AuditQuery {
  actor_no?: string
  action?: string
  since?: string
  until?: string
  limit: number
  offset: number
}
