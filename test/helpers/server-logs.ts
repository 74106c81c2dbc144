/**
 * The test servers running in this test file, and the warnings and errors they logged: a
 * failed test's report carries them (test/setup.ts), because CI shows only the end of the
 * output and a timeout alone does not say what the server saw.
 */
export const running = new Set<{ logs(): string }>();

export function recentServerProblems(max = 15): string[] {
  const problems: string[] = [];
  for (const s of running) {
    for (const line of s.logs().split('\n')) {
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level && Number(level) >= 40) problems.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
    }
  }
  return problems.slice(-max);
}
