/** Runs in every test file: a failed test's error ends with what its servers warned about. */
import { afterEach } from 'vitest';
import { recentServerProblems } from './helpers/server-logs.ts';

afterEach((ctx) => {
  const result = ctx.task.result;
  if (result?.state !== 'fail') return;
  const problems = recentServerProblems();
  const first = result.errors?.[0];
  if (problems.length > 0 && first) first.message += `\n\nServer warnings and errors (last ${problems.length}):\n${problems.join('\n')}`;
});
