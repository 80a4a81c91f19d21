// The menus of the permission catalogue (app/permissions.py), in the catalogue's order,
// with their names from the i18n catalogue. A menu the UI does not know yet shows its code.

// The menus the permission matrix names in its own words (views/admin/RolesView.vue).
const NAMED_MENUS = [
  'agents',
  'groups',
  'roles',
  'audit',
  'integrations',
  'supervisor',
  'desktop',
  'reports',
  'campaigns',
] as const

// Every menu of the server's catalogue; the matrix shows the newer ones by code until it
// learns their names (the catalogue has them: permissionMenu.*).
export const PERMISSION_MENUS = [
  ...NAMED_MENUS,
  'leads',
  'blacklist',
  'products',
  'scripts',
  'dispositions',
] as const

export type PermissionMenu = (typeof NAMED_MENUS)[number]

export function isKnownMenu(menu: string): menu is PermissionMenu {
  return (NAMED_MENUS as readonly string[]).includes(menu)
}
