/** Polls `get` until it returns something other than undefined; throws naming `what` after `ms`. */
export async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined, ms = 20_000, everyMs = 150): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
