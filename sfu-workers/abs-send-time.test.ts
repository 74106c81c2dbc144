import { expect, it } from 'vitest';
import { hasAbsSendTimeSlot, stampAbsSendTime, withAbsSendTimeSlot } from './abs-send-time.ts';
import { rtpPayloadOffset, rtpSeq } from './rtp.ts';

const header = (x: boolean, cc = 0) => [0x80 | cc | (x ? 0x10 : 0), 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, ...Array(cc * 4).fill(7)];

it('adds a slot to a packet without header extensions, keeping the header, CSRCs and payload', () => {
  const plain = Buffer.from([...header(false, 1), 0x65, 1, 2, 3]);
  const out = withAbsSendTimeSlot(plain)!;
  expect(out).not.toBe(plain);
  expect(hasAbsSendTimeSlot(out)).toBe(true);
  expect(rtpSeq(out)).toBe(0x1234);
  expect(out.subarray(12, 16)).toEqual(Buffer.from([7, 7, 7, 7]));
  expect([...out.subarray(rtpPayloadOffset(out))]).toEqual([0x65, 1, 2, 3]);
  // The fresh slot is padding (id 0) until a viewer's id is stamped into it.
  expect([...out.subarray(16, 24)]).toEqual([0xbe, 0xde, 0, 1, 0, 0, 0, 0]);
  expect(withAbsSendTimeSlot(out)).toBe(out);
});

it("keeps a publisher's own abs-send-time element as the slot (no copy), and replaces other extensions", () => {
  const stamped = Buffer.from([...header(true), 0xbe, 0xde, 0, 1, 0x32, 9, 9, 9, 0x41]);
  expect(withAbsSendTimeSlot(stamped)).toBe(stamped);
  const audioLevel = Buffer.from([...header(true), 0xbe, 0xde, 0, 1, 0x10, 0x80, 0, 0, 0x41]);
  const replaced = withAbsSendTimeSlot(audioLevel)!;
  expect([...replaced.subarray(12)]).toEqual([0xbe, 0xde, 0, 1, 0, 0, 0, 0, 0x41]);
  const twoByte = Buffer.from([...header(true), 0x10, 0x00, 0, 1, 1, 2, 3, 4, 0x41]);
  expect([...withAbsSendTimeSlot(twoByte)!.subarray(12)]).toEqual([0xbe, 0xde, 0, 1, 0, 0, 0, 0, 0x41]);
  expect(withAbsSendTimeSlot(Buffer.from([0x80, 96, 0]))).toBeNull();
});

it('stamps the id and the time as 6.18 fixed-point seconds, wrapping at 64 s', () => {
  const out = withAbsSendTimeSlot(Buffer.from([...header(false), 0x41]))!;
  stampAbsSendTime(out, 2, 1500);
  expect([...out.subarray(12, 20)]).toEqual([0xbe, 0xde, 0, 1, 0x22, 0x06, 0x00, 0x00]); // 1.5 s = 0x060000
  stampAbsSendTime(out, 3, 64_000 + 250);
  expect([...out.subarray(16, 20)]).toEqual([0x32, 0x01, 0x00, 0x00]); // 0.25 s after the wrap
});
