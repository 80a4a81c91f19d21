// The side menu: each entry names the permission that shows it (see app/permissions.py).

import type { Component } from 'vue'
import {
  Box,
  DataBoard,
  Document,
  EditPen,
  Headset,
  House,
  Key,
  Phone,
  Tickets,
  User,
  UserFilled,
} from '@element-plus/icons-vue'

export interface MenuEntry {
  name: string
  path: string
  permission: string | null
  icon: Component
  label: (t: (key: string) => string) => string
}

export const HOME_ENTRY: MenuEntry = {
  name: 'home',
  path: '/',
  permission: null,
  icon: House,
  label: (t) => t('menu.home'),
}

export const ADMIN_ENTRIES: readonly MenuEntry[] = [
  {
    name: 'agents',
    path: '/admin/agents',
    permission: 'agent.view',
    icon: User,
    label: (t) => t('menu.agents'),
  },
  {
    name: 'groups',
    path: '/admin/groups',
    permission: 'group.view',
    icon: UserFilled,
    label: (t) => t('menu.groups'),
  },
  {
    name: 'roles',
    path: '/admin/roles',
    permission: 'role.view',
    icon: Key,
    label: (t) => t('menu.roles'),
  },
  {
    name: 'audit',
    path: '/admin/audit',
    permission: 'audit.view',
    icon: Document,
    label: (t) => t('menu.audit'),
  },
  {
    name: 'campaigns',
    path: '/campaigns',
    permission: 'campaign.view',
    icon: Phone,
    label: (t) => t('campaigns.menu'),
  },
  {
    name: 'products',
    path: '/products',
    permission: 'product.view',
    icon: Box,
    label: (t) => t('campaigns.menuProducts'),
  },
  {
    name: 'scripts',
    path: '/scripts',
    permission: 'script.view',
    icon: EditPen,
    label: (t) => t('campaigns.menuScripts'),
  },
  {
    name: 'dispositions',
    path: '/dispositions',
    permission: 'disposition.view',
    icon: Tickets,
    label: (t) => t('campaigns.menuDispositions'),
  },
]

// The day's work: the agent desktop and the supervisor console.
export const WORK_ENTRIES: readonly MenuEntry[] = [
  {
    name: 'desk',
    path: '/desk',
    permission: 'desk.use',
    icon: Headset,
    label: (t) => t('menu.desk'),
  },
  {
    name: 'supervisor',
    path: '/supervisor',
    permission: 'supervisor.monitor',
    icon: DataBoard,
    label: (t) => t('menu.supervisor'),
  },
]
