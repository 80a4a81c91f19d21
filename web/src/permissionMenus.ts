// The menus of the permission catalogue (app/permissions.py), in the catalogue's order,
// with their names from the i18n catalogue. A menu the UI does not know yet shows its code.

export const PERMISSION_MENUS = [
  'agents',
  'groups',
  'roles',
  'audit',
  'integrations',
  'supervisor',
  'desktop',
  'reports',
  'campaigns',
  'leads',
  'blacklist',
  'products',
  'scripts',
  'dispositions',
] as const

export type PermissionMenu = (typeof PERMISSION_MENUS)[number]

export function isKnownMenu(menu: string): menu is PermissionMenu {
  return (PERMISSION_MENUS as readonly string[]).includes(menu)
}
