import { describe, expect, it } from 'vitest';
import { NackRequester } from './nack-requester.ts';
import { buildNack, visitRtcp } from './rtcp.ts';

function requester() {
  let t = 0;
  const sent: number[][] = [];
  const r = new NackRequester({ send: (s) => sent.push(s), retryMs: 30, maxTries: 2, maxGap: 100, now: () => t });
  return { r, sent, advance: (ms: number) => (t += ms) };
}

describe('NackRequester', () => {
  it('asks for a hole once, again after retryMs, then gives up', () => {
    const { r, sent, advance } = requester();
    for (const s of [10, 11, 14]) r.onPacket(s);
    expect(sent).toEqual([[12, 13]]);
    advance(10);
    r.onPacket(15);
    expect(sent).toHaveLength(1);
    advance(30);
    r.onPacket(16);
    expect(sent).toEqual([[12, 13], [12, 13]]);
    advance(30);
    r.flush();
    expect(sent).toHaveLength(2);
    expect(r.requested).toBe(4);
  });

  it('stops asking for a packet that arrived late, and counts it as recovered', () => {
    const { r, sent, advance } = requester();
    for (const s of [65534, 65535, 1]) r.onPacket(s);
    expect(sent).toEqual([[0]]);
    r.onPacket(0);
    advance(50);
    r.onPacket(2);
    expect(sent).toHaveLength(1);
    expect(r.recovered).toBe(1);
  });

  it('takes a large jump for a new source, not for loss', () => {
    const { r, sent } = requester();
    r.onPacket(100);
    r.onPacket(5000);
    r.onPacket(5001);
    expect(sent).toEqual([]);
  });
});

describe('buildNack', () => {
  it('packs runs into PID/BLP pairs that parse back to the same numbers', () => {
    const seqs = [65530, 65531, 65535, 3, 40, 41, 57];
    const packet = buildNack(1, 0xabcdef, seqs);
    const got: number[] = [];
    visitRtcp(packet, { nack: (ssrc, seq) => (expect(ssrc).toBe(0xabcdef), got.push(seq)) });
    expect(got).toEqual(seqs);
    expect(packet.length).toBe(12 + 4 * 3); // 65530…3, 40…41, 57
  });
});
