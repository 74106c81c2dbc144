/**
 * The last N packets of one outgoing track, by outgoing sequence number. Shared by every
 * viewer of the track: NACKs are answered from here, and a joining viewer is primed from
 * the last keyframe. Stores the (already rewritten) buffers themselves: no copies.
 */
export class PacketCache {
  private readonly packets: Array<Buffer | undefined>;
  private readonly seqs: Int32Array;
  private readonly mask: number;

  constructor(size: number) {
    if (size & (size - 1)) throw new Error('cache size must be a power of two');
    this.packets = new Array(size);
    this.seqs = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  get size(): number {
    return this.mask + 1;
  }

  put(seq: number, packet: Buffer): void {
    const i = seq & this.mask;
    this.packets[i] = packet;
    this.seqs[i] = seq;
  }

  get(seq: number): Buffer | undefined {
    const i = seq & this.mask;
    return this.seqs[i] === seq ? this.packets[i] : undefined;
  }

  clear(): void {
    this.packets.fill(undefined);
    this.seqs.fill(-1);
  }
}
