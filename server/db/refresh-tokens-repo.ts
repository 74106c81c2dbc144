import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from './index.ts';
import { refreshTokens } from './schema.ts';
import type { UserId } from '../../protocol/ids.ts';

export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

export type ConsumeResult =
  | { kind: 'ok'; row: RefreshTokenRow }
  /** Used moments ago (within the grace window): the same refresh, from another tab or node. */
  | { kind: 'again'; row: RefreshTokenRow }
  | { kind: 'reused'; row: RefreshTokenRow }
  | { kind: 'invalid' };

export class RefreshTokensRepo {
  constructor(private readonly db: Db) {}

  /** Adds a token; adding one that exists (a successor issued twice) changes nothing. */
  async insert(input: { userId: UserId; familyId: string; tokenHash: string; expiresAt: Date }): Promise<void> {
    await this.db.insert(refreshTokens).values(input).onConflictDoNothing({ target: refreshTokens.tokenHash });
  }

  /**
   * Uses up a token atomically: of two concurrent refreshes with the same token exactly one
   * wins; the others, and any within `graceMs` of the first, are `again`. A token used
   * earlier than that (and whose session is not revoked) is reuse.
   */
  async consume(tokenHash: string, graceMs: number, now = new Date()): Promise<ConsumeResult> {
    const [used] = await this.db
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(refreshTokens.tokenHash, tokenHash),
          isNull(refreshTokens.usedAt),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, now),
        ),
      )
      .returning();
    if (used) return { kind: 'ok', row: used };
    const [row] = await this.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
    if (!row || !row.usedAt || row.revokedAt) return { kind: 'invalid' };
    if (graceMs > 0 && now.getTime() - row.usedAt.getTime() <= graceMs && row.expiresAt > now) return { kind: 'again', row };
    return { kind: 'reused', row };
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const [row] = await this.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).limit(1);
    return row;
  }

  async revokeFamily(familyId: string, now = new Date()): Promise<void> {
    await this.db
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
  }

  /** Deletes rows that can no longer be used nor tell us about reuse. */
  async deleteExpired(now = new Date()): Promise<number> {
    const rows = await this.db
      .delete(refreshTokens)
      .where(or(lt(refreshTokens.expiresAt, now), lt(refreshTokens.revokedAt, sql`${now}::timestamptz - interval '7 days'`)))
      .returning({ id: refreshTokens.id });
    return rows.length;
  }
}
