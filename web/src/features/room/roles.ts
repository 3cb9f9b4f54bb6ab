/** The three usual roles and their power levels (as in Element). */
export const ROLE_LEVELS = { member: 0, moderator: 50, admin: 100 } as const;
export type Role = keyof typeof ROLE_LEVELS;

export function roleOf(level: number): Role | "custom" {
  for (const [role, value] of Object.entries(ROLE_LEVELS)) if (value === level) return role as Role;
  return "custom";
}
