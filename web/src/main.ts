import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { configureHttp } from './api/http'
import { createAppI18n, currentLocale, setLocale } from './i18n'
import { createAppRouter } from './router'
import { useAuthStore } from './stores/auth'

const i18n = createAppI18n()
setLocale(i18n.global.locale, currentLocale(i18n))
const pinia = createPinia()
const router = createAppRouter(pinia)

configureHttp({
  language: () => currentLocale(i18n),
  onUnauthorized: (path) => {
    // A 401 anywhere but the log-in itself means the session is over.
    if (path === '/auth/login' || path === '/me') return
    useAuthStore(pinia).clear()
    if (router.currentRoute.value.name !== 'login') {
      void router.push({ name: 'login', query: { expired: '1' } })
    }
  },
})

createApp(App).use(pinia).use(i18n).use(router).use(ElementPlus).mount('#app')
