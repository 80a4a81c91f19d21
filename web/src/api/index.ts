// The endpoints the UI uses, one function each.

import { http } from './http'
import type {
  Agent,
  AgentIn,
  AuditEntry,
  AuditQuery,
  Group,
  LoginOut,
  Me,
  Membership,
  MembershipIn,
  Page,
  Permission,
  Role,
} from './types'

export const authApi = {
  login: (agent_no: string, password: string) =>
    http.post<LoginOut>('/auth/login', { agent_no, password }),
  logout: () => http.post<void>('/auth/logout'),
  me: () => http.get<Me>('/me'),
}

export const agentsApi = {
  list: (search: string, limit: number, offset: number) =>
    http.get<Page<Agent>>('/agents', { search, limit, offset }),
  create: (body: AgentIn) => http.post<Agent>('/agents', body),
  update: (id: number, body: { name?: string; enabled?: boolean }) =>
    http.patch<Agent>(`/agents/${id}`, body),
  remove: (id: number) => http.delete<void>(`/agents/${id}`),
  setRoles: (id: number, roles: string[]) => http.put<Agent>(`/agents/${id}/roles`, { roles }),
  resetPassword: (id: number, password: string) =>
    http.post<void>(`/agents/${id}/password`, { password }),
  unlock: (id: number) => http.post<Agent>(`/agents/${id}/unlock`),
}

export const groupsApi = {
  list: () => http.get<Group[]>('/groups'),
  create: (body: { name: string; description: string }) => http.post<Group>('/groups', body),
  update: (id: number, body: { name?: string; description?: string }) =>
    http.patch<Group>(`/groups/${id}`, body),
  remove: (id: number) => http.delete<void>(`/groups/${id}`),
  members: (id: number) => http.get<Membership[]>(`/groups/${id}/members`),
  addMember: (id: number, body: MembershipIn) =>
    http.post<Membership>(`/groups/${id}/members`, body),
  removeMember: (id: number, membershipId: number) =>
    http.delete<void>(`/groups/${id}/members/${membershipId}`),
}

export const rolesApi = {
  permissions: () => http.get<Permission[]>('/permissions'),
  list: () => http.get<Role[]>('/roles'),
  create: (body: { code: string; name: string; description: string; permissions: string[] }) =>
    http.post<Role>('/roles', body),
  update: (
    id: number,
    body: { name?: string; description?: string; permissions?: string[] },
  ) => http.patch<Role>(`/roles/${id}`, body),
  remove: (id: number) => http.delete<void>(`/roles/${id}`),
}

export const auditApi = {
  search: (query: AuditQuery) =>
    http.get<Page<AuditEntry>>('/audit', { ...query }),
}
