/**
 * The test servers started in this test file (stopped ones too: a failure may come right
 * after a stop), and the warnings and errors they logged: a failed test's report carries
 * them (test/setup.ts), because CI shows only the end of the output and a timeout alone
 * does not say what the server saw. Lines carry their time.
 */
export const started = new Set<{ logs(): string }>();

export function recentServerProblems(max = 15): string[] {
  const problems: string[] = [];
  for (const s of started) {
    for (const line of s.logs().split('\n')) {
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level && Number(level) >= 40) problems.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
    }
  }
  const time = (line: string) => /"time":"([^"]+)"/.exec(line)?.[1] ?? '';
  return problems.sort((a, b) => time(a).localeCompare(time(b))).slice(-max);
}
