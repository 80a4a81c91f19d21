// @vitest-environment node
// The two catalogues have the same keys, and every key the code uses exists in both.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import zhCN from '@/i18n/zh-CN'
import en from '@/i18n/en'
import { PERMISSION_MENUS } from '@/permissionMenus'
import { formatDateTime, formatNumber } from '@/i18n/format'

type Tree = { [key: string]: string | Tree }

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (typeof value === 'string') out.set(path, value)
    else for (const [k, v] of flatten(value, path)) out.set(k, v)
  }
  return out
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === '__tests__' ? [] : sourceFiles(path)
    return /\.(vue|ts)$/.test(name) ? [path] : []
  })
}

// t('a.b'), $t("a.b"), i18n.global.t('a.b'): a call of a function named t or $t.
const USAGE = /(?<![\w$])\$?t\(\s*(['"`])([^'"`$]+?)\1/g

function usedKeys(): Map<string, string> {
  const used = new Map<string, string>()
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(USAGE)) used.set(match[2]!, file.slice(SRC.length + 1))
  }
  return used
}

const zhKeys = flatten(zhCN as unknown as Tree)
const enKeys = flatten(en as unknown as Tree)

describe('the i18n catalogues', () => {
  it('have exactly the same keys in Chinese and English', () => {
    const onlyZh = [...zhKeys.keys()].filter((k) => !enKeys.has(k))
    const onlyEn = [...enKeys.keys()].filter((k) => !zhKeys.has(k))
    expect({ onlyZh, onlyEn }).toEqual({ onlyZh: [], onlyEn: [] })
  })

  it('have no empty message', () => {
    const empty = [...zhKeys, ...enKeys].filter(([, v]) => v.trim() === '').map(([k]) => k)
    expect(empty).toEqual([])
  })

  it('use the same {placeholders} in both languages', () => {
    const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    const differing = [...zhKeys]
      .filter(([key, text]) => JSON.stringify(names(text)) !== JSON.stringify(names(enKeys.get(key) ?? '')))
      .map(([key]) => key)
    expect(differing).toEqual([])
  })

  it('hold every key a component uses', () => {
    const used = usedKeys()
    expect(used.size).toBeGreaterThan(100) // the scan itself works
    const missing = [...used]
      .filter(([key]) => !zhKeys.has(key) || !enKeys.has(key))
      .map(([key, file]) => `${key} (${file})`)
    expect(missing).toEqual([])
  })

  it('name every menu of the permission catalogue', () => {
    const missing = PERMISSION_MENUS.filter((m) => !zhKeys.has(`permissionMenu.${m}`))
    expect(missing).toEqual([])
  })

  it('know every menu the server permission catalogue uses', () => {
    // app/permissions.py: Permission("agent.view", "agents", "查看坐席", "View agents")
    const python = readFileSync(join(SRC, '../../src/callcenter/app/permissions.py'), 'utf8')
    const menus = new Set([...python.matchAll(/Permission\(\s*"[a-z_.]+",\s*"([a-z_]+)"/g)].map((m) => m[1]!))
    expect(menus.size).toBeGreaterThan(5)
    expect([...menus].filter((m) => !(PERMISSION_MENUS as readonly string[]).includes(m))).toEqual([])
  })
})

describe('dates and numbers', () => {
  it('follow the language through Intl', () => {
    const at = new Date(Date.UTC(2026, 10, 25, 8, 5, 9))
    expect(formatDateTime(at, 'zh-CN')).toBe(
      new Intl.DateTimeFormat('zh-CN', {
        year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
      }).format(at),
    )
    expect(formatDateTime(null, 'en')).toBe('')
    expect(formatNumber(1234567, 'en')).toBe('1,234,567')
  })
})
