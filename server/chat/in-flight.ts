/**
 * Loads in flight, by key: callers asking for a key already being loaded share that load
 * (a join storm asks the database once). Nothing is kept once the load settles.
 */
export class InFlight<V> {
  private readonly pending = new Map<string, Promise<V>>();

  get(key: string, load: () => Promise<V>): Promise<V> {
    let p = this.pending.get(key);
    if (!p) {
      p = load().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }
}
