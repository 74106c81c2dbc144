import { eq, or, sql } from 'drizzle-orm';
import type { Db } from './index.ts';
import { users } from './schema.ts';
import { ConflictError, uniqueViolation } from '../errors.ts';
import type { UserId } from '../../protocol/ids.ts';

export type UserRow = typeof users.$inferSelect;

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
}

function conflictFrom(err: unknown): never {
  const constraint = uniqueViolation(err);
  if (constraint?.includes('users_email_key')) throw new ConflictError('EMAIL_TAKEN', 'An account with this email already exists.', { cause: err });
  if (constraint?.includes('users_username_key')) throw new ConflictError('USERNAME_TAKEN', 'This username is taken.', { cause: err });
  throw err;
}

export class UsersRepo {
  constructor(private readonly db: Db) {}

  async create(input: NewUser): Promise<UserRow> {
    try {
      const [row] = await this.db
        .insert(users)
        .values({ username: input.username, email: input.email.toLowerCase(), passwordHash: input.passwordHash, displayName: input.username })
        .returning();
      return row!;
    } catch (err) {
      conflictFrom(err);
    }
  }

  async findById(id: UserId): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).limit(1);
    return row;
  }

  /** By username (any case) or email. */
  async findByLogin(login: string): Promise<UserRow | undefined> {
    const lower = login.toLowerCase();
    const [row] = await this.db
      .select()
      .from(users)
      .where(or(sql`lower(${users.username}) = ${lower}`, eq(users.email, lower)))
      .limit(1);
    return row;
  }

  async update(id: UserId, patch: { displayName?: string; bio?: string; email?: string }): Promise<UserRow | undefined> {
    const values = { ...patch, ...(patch.email ? { email: patch.email.toLowerCase() } : {}) };
    if (Object.keys(values).length === 0) return this.findById(id);
    try {
      const [row] = await this.db.update(users).set(values).where(eq(users.id, id)).returning();
      return row;
    } catch (err) {
      conflictFrom(err);
    }
  }

  async touchLogin(id: UserId, at = new Date()): Promise<void> {
    await this.db.update(users).set({ lastLoginAt: at }).where(eq(users.id, id));
  }
}
