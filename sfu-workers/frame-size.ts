/**
 * The picture size a keyframe announces: from the H.264 sequence parameter set (ITU-T H.264
 * 7.3.2.1.1) in a single-NAL or STAP-A packet, or from a VP8 keyframe header (RFC 6386
 * 9.1). Simulcast layers are told apart, and matched to a viewer's player, by it. Called
 * on keyframe packets only; malformed input gives null, never an exception.
 */

export interface FrameSize {
  width: number;
  height: number;
}

/** Size from the first packet of an H.264 keyframe (its SPS), or null when it carries none. */
export function h264FrameSize(b: Uint8Array, off: number): FrameSize | null {
  const type = b[off]! & 0x1f;
  if (type === 7) return parseSps(b, off + 1, b.length);
  if (type !== 24) return null;
  let p = off + 1;
  while (p + 2 < b.length) {
    const size = (b[p]! << 8) | b[p + 1]!;
    if (size === 0 || p + 2 + size > b.length) return null;
    if ((b[p + 2]! & 0x1f) === 7) return parseSps(b, p + 3, p + 2 + size);
    p += 2 + size;
  }
  return null;
}

/** Size from the first packet of a VP8 keyframe (payload descriptor, then the frame header). */
export function vp8FrameSize(b: Uint8Array, off: number): FrameSize | null {
  const d = b[off]!;
  let p = off + 1;
  if (d & 0x80) {
    const x = b[p++]!;
    if (x & 0x80) p += b[p]! & 0x80 ? 2 : 1;
    if (x & 0x40) p += 1;
    if (x & 0x30) p += 1;
  }
  // 3-byte frame tag (bit 0 clear: keyframe), start code 9d 01 2a, then 14-bit width and height (little-endian).
  if (p + 10 > b.length || (b[p]! & 0x01) !== 0 || b[p + 3] !== 0x9d || b[p + 4] !== 0x01 || b[p + 5] !== 0x2a) return null;
  const width = (b[p + 6]! | (b[p + 7]! << 8)) & 0x3fff;
  const height = (b[p + 8]! | (b[p + 9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : null;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function parseSps(b: Uint8Array, start: number, end: number): FrameSize | null {
  // RBSP: drop emulation-prevention bytes (00 00 03 -> 00 00). An SPS is tens of bytes.
  const rbsp: number[] = [];
  for (let i = start, zeros = 0; i < end && rbsp.length < 256; i++) {
    const v = b[i]!;
    if (zeros >= 2 && v === 3) {
      zeros = 0;
      continue;
    }
    zeros = v === 0 ? zeros + 1 : 0;
    rbsp.push(v);
  }
  const r = new BitReader(rbsp);
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.bits(1);
    r.ue();
    r.ue();
    r.bits(1);
    if (r.bits(1)) return null; // scaling matrices: not worth parsing for a size
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bits(1);
    r.se();
    r.se();
    const n = r.ue();
    if (n > 255) return null;
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bits(1);
  const widthMbs = r.ue() + 1;
  const heightUnits = r.ue() + 1;
  const frameMbsOnly = r.bits(1);
  if (!frameMbsOnly) r.bits(1);
  r.bits(1);
  let cropX = 0;
  let cropY = 0;
  if (r.bits(1)) {
    const unitX = chroma === 0 ? 1 : 2;
    const unitY = (chroma === 0 ? 1 : 2) * (2 - frameMbsOnly);
    cropX = (r.ue() + r.ue()) * unitX;
    cropY = (r.ue() + r.ue()) * unitY;
  }
  if (r.failed) return null;
  const width = widthMbs * 16 - cropX;
  const height = (2 - frameMbsOnly) * heightUnits * 16 - cropY;
  return width > 0 && height > 0 && width <= 16384 && height <= 16384 ? { width, height } : null;
}

class BitReader {
  private bit = 0;
  failed = false;
  constructor(private readonly bytes: number[]) {}

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.bit >= this.bytes.length * 8) {
        this.failed = true;
        return 0;
      }
      v = v * 2 + ((this.bytes[this.bit >> 3]! >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (!this.failed && this.bits(1) === 0) if (++zeros > 31) this.failed = true;
    return this.failed ? 0 : 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}
