import { createRouter, createWebHistory, type Router, type RouterHistory } from 'vue-router'
import type { Pinia } from 'pinia'
import { useAuthStore } from '@/stores/auth'
import { ADMIN_ENTRIES, WORK_ENTRIES } from '@/navigation'
import LoginView from '@/views/LoginView.vue'
import AppLayout from '@/layouts/AppLayout.vue'
import HomeView from '@/views/HomeView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    permission?: string
  }
}

const screens = {
  agents: () => import('@/views/admin/AgentsView.vue'),
  groups: () => import('@/views/admin/GroupsView.vue'),
  roles: () => import('@/views/admin/RolesView.vue'),
  audit: () => import('@/views/admin/AuditView.vue'),
  desk: () => import('@/views/desk/DeskView.vue'),
  supervisor: () => import('@/views/supervisor/SupervisorView.vue'),
  campaigns: () => import('@/views/campaigns/CampaignsView.vue'),
  products: () => import('@/views/campaigns/ProductsView.vue'),
  scripts: () => import('@/views/campaigns/ScriptsView.vue'),
  dispositions: () => import('@/views/campaigns/DispositionsView.vue'),
} as const

export function createAppRouter(pinia: Pinia, history: RouterHistory = createWebHistory()): Router {
  const router = createRouter({
    history,
    routes: [
      { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
      {
        path: '/',
        component: AppLayout,
        children: [
          { path: '', name: 'home', component: HomeView },
          ...[...WORK_ENTRIES, ...ADMIN_ENTRIES].map((entry) => ({
            path: entry.path.slice(1),
            name: entry.name,
            component: screens[entry.name as keyof typeof screens],
            meta: { permission: entry.permission ?? undefined },
          })),
          {
            path: 'campaigns/:id(\\d+)/live',
            name: 'campaign-live',
            component: () => import('@/views/campaigns/CampaignLiveView.vue'),
            meta: { permission: 'campaign.view' },
          },
        ],
      },
      { path: '/:rest(.*)*', redirect: '/' },
    ],
  })

  router.beforeEach(async (to) => {
    const auth = useAuthStore(pinia)
    if (!auth.checked) {
      try {
        await auth.load()
      } catch {
        // The server is unreachable: show the log-in page, which reports errors.
      }
    }
    if (to.meta.public) {
      return auth.me && to.name === 'login' ? { name: 'home' } : true
    }
    if (!auth.me) {
      return to.fullPath === '/' ? { name: 'login' } : { name: 'login', query: { redirect: to.fullPath } }
    }
    if (to.meta.permission && !auth.can(to.meta.permission)) return { name: 'home' }
    return true
  })

  return router
}
