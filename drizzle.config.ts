import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` turns changes in the schema into a new forward-only SQL migration.
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/db/schema.ts',
  out: './migrations',
});
