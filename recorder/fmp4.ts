/**
 * Fragmented MP4 (ISO BMFF, CMAF-style) as the recorder needs it: split FFmpeg's output
 * stream into top-level boxes, read the tracks of the init segment (ftyp + moov), read the
 * samples of each fragment (moof + mdat), and write our own fragments — one moof + mdat
 * per LL-HLS part, with the sample durations and decode times we decide.
 * Only what FFmpeg's mp4 muxer writes is supported; anything else is refused with an error.
 */

export interface TrackInfo {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  /** RFC 6381 codec string for playlists, e.g. `avc1.42e01f` or `mp4a.40.2`. */
  codec: string;
  width?: number;
  height?: number;
}

export interface Sample {
  trackId: number;
  /** Decode time in the track's timescale. */
  dts: number;
  /** In the track's timescale (the writer's input; the reader fills in what the file said). */
  duration: number;
  /** ISO BMFF sample flags (sync samples have bit 0x10000 clear). */
  flags: number;
  /** Composition time offset (pts - dts), track timescale. */
  cto: number;
  data: Buffer;
}

export const SAMPLE_IS_NON_SYNC = 0x00010000;
/** Flags we write: a sync sample (depends on nothing), or a non-sync one (depends on others). */
export const SYNC_SAMPLE_FLAGS = 0x02000000;
export const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

export function isSync(sample: Pick<Sample, 'flags'>): boolean {
  return (sample.flags & SAMPLE_IS_NON_SYNC) === 0;
}

export class Fmp4Error extends Error {
  override name = 'Fmp4Error';
}

interface Box {
  type: string;
  /** Offset of the box header in the buffer. */
  start: number;
  /** Offset of the payload (after size/type, and largesize when present). */
  body: number;
  end: number;
}

/** The boxes of `buf[from, to)`, one level deep. */
function children(buf: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
  let p = from;
  while (p + 8 <= to) {
    let size = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    let body = p + 8;
    if (size === 1) {
      if (p + 16 > to) throw new Fmp4Error(`truncated ${type} box`);
      size = Number(buf.readBigUInt64BE(p + 8));
      body = p + 16;
    } else if (size === 0) {
      size = to - p;
    }
    if (size < body - p || p + size > to) throw new Fmp4Error(`box ${type} of ${size} bytes overruns its parent`);
    out.push({ type, start: p, body, end: p + size });
    p += size;
  }
  return out;
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  return children(buf, parent.body, parent.end).find((b) => b.type === type);
}

function need(box: Box | undefined, what: string): Box {
  if (!box) throw new Fmp4Error(`no ${what} box`);
  return box;
}

/**
 * Cuts a byte stream into complete top-level boxes. `push` returns the boxes completed by
 * the chunk (type + the whole box, header included).
 */
export class BoxSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): Array<{ type: string; data: Buffer }> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Array<{ type: string; data: Buffer }> = [];
    for (;;) {
      if (this.pendingBytes < 8) break;
      const head = this.peek(16);
      let size = head.readUInt32BE(0);
      if (size === 1) {
        if (head.length < 16) break;
        size = Number(head.readBigUInt64BE(8));
      }
      if (size < 8) throw new Fmp4Error(`invalid box size ${size} in the stream`);
      if (this.pendingBytes < size) break;
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      out.push({ type: all.toString('latin1', 4, 8), data: all.subarray(0, size) });
      const rest = all.subarray(size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= n || this.pending.length === 1) return first;
    return Buffer.concat(this.pending, this.pendingBytes).subarray(0, n);
  }
}

/** The tracks of an init segment (ftyp + moov, or moov alone). */
export function parseInit(init: Buffer): TrackInfo[] {
  const moov = need(children(init, 0, init.length).find((b) => b.type === 'moov'), 'moov');
  const tracks: TrackInfo[] = [];
  for (const trak of children(init, moov.body, moov.end).filter((b) => b.type === 'trak')) {
    const tkhd = need(child(init, trak, 'tkhd'), 'tkhd');
    const version = init[tkhd.body]!;
    const id = init.readUInt32BE(tkhd.body + (version === 1 ? 20 : 12));
    const mdia = need(child(init, trak, 'mdia'), 'mdia');
    const mdhd = need(child(init, mdia, 'mdhd'), 'mdhd');
    const timescale = init.readUInt32BE(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12));
    const hdlr = need(child(init, mdia, 'hdlr'), 'hdlr');
    const handler = init.toString('latin1', hdlr.body + 8, hdlr.body + 12);
    if (handler !== 'vide' && handler !== 'soun') continue;
    const stsd = need(child(init, need(child(init, need(child(init, mdia, 'minf'), 'minf'), 'stbl'), 'stbl'), 'stsd'), 'stsd');
    // stsd: full box header (4) + entry count (4), then the sample entries.
    const entry = need(children(init, stsd.body + 8, stsd.end)[0], 'sample entry');
    const kind = handler === 'vide' ? 'video' : 'audio';
    const track: TrackInfo = { id, kind, timescale, codec: entry.type };
    if (kind === 'video') {
      // VisualSampleEntry: 6 reserved + 2 index + 16 predefined/reserved, then width, height.
      track.width = init.readUInt16BE(entry.body + 24);
      track.height = init.readUInt16BE(entry.body + 26);
      const avcC = children(init, entry.body + 78, entry.end).find((b) => b.type === 'avcC');
      if (entry.type === 'avc1' || entry.type === 'avc3') {
        if (!avcC) throw new Fmp4Error('avc1 sample entry without avcC');
        const hex = (n: number) => init[avcC.body + n]!.toString(16).padStart(2, '0');
        track.codec = `${entry.type}.${hex(1)}${hex(2)}${hex(3)}`;
      }
    } else if (entry.type === 'mp4a') {
      const esds = children(init, entry.body + 28, entry.end).find((b) => b.type === 'esds');
      track.codec = `mp4a.40.${esds ? aacObjectType(init, esds) : 2}`;
    }
    tracks.push(track);
  }
  if (tracks.length === 0) throw new Fmp4Error('the init segment has no audio or video track');
  return tracks;
}

/** AAC audio object type from an esds box (DecoderSpecificInfo), 2 (LC) when unreadable. */
function aacObjectType(buf: Buffer, esds: Box): number {
  // Walk the descriptors: ES (3) > DecoderConfig (4) > DecoderSpecific (5).
  let p = esds.body + 4;
  const readLen = () => {
    let len = 0;
    for (let i = 0; i < 4 && p < esds.end; i++) {
      const b = buf[p++]!;
      len = (len << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    return len;
  };
  while (p < esds.end) {
    const tag = buf[p++]!;
    const len = readLen();
    if (tag === 3) {
      const flags = buf[p + 2]!;
      p += 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x40 ? 1 + buf[p + 3]! : 0) + (flags & 0x20 ? 2 : 0);
    } else if (tag === 4) {
      p += 13;
    } else if (tag === 5) {
      return p < esds.end ? buf[p]! >> 3 : 2;
    } else {
      p += len;
    }
  }
  return 2;
}

/** The samples of fragments (each a moof and the mdat that follows it), concatenated. */
export function parseFragment(fragment: Buffer): Sample[] {
  const moofs = children(fragment, 0, fragment.length).filter((b) => b.type === 'moof');
  if (moofs.length === 0) throw new Fmp4Error('no moof box');
  const samples: Sample[] = [];
  for (const moof of moofs) readMoof(fragment, moof, samples);
  return samples;
}

function readMoof(fragment: Buffer, moof: Box, samples: Sample[]): void {
  let implicitBase = moof.start;
  for (const traf of children(fragment, moof.body, moof.end).filter((b) => b.type === 'traf')) {
    const tfhd = need(child(fragment, traf, 'tfhd'), 'tfhd');
    const tfhdFlags = fragment.readUInt32BE(tfhd.body) & 0xffffff;
    const trackId = fragment.readUInt32BE(tfhd.body + 4);
    let p = tfhd.body + 8;
    if (tfhdFlags & 0x1) throw new Fmp4Error('explicit base-data-offset is not supported');
    if (tfhdFlags & 0x2) p += 4;
    let defaultDuration = 0;
    let defaultSize = 0;
    let defaultFlags = 0;
    if (tfhdFlags & 0x8) (defaultDuration = fragment.readUInt32BE(p)), (p += 4);
    if (tfhdFlags & 0x10) (defaultSize = fragment.readUInt32BE(p)), (p += 4);
    if (tfhdFlags & 0x20) (defaultFlags = fragment.readUInt32BE(p)), (p += 4);
    const base = tfhdFlags & 0x20000 ? moof.start : implicitBase;
    const tfdt = child(fragment, traf, 'tfdt');
    let dts = 0;
    if (tfdt) dts = fragment[tfdt.body] === 1 ? Number(fragment.readBigUInt64BE(tfdt.body + 4)) : fragment.readUInt32BE(tfdt.body + 4);
    let dataEnd = base;
    for (const trun of children(fragment, traf.body, traf.end).filter((b) => b.type === 'trun')) {
      const version = fragment[trun.body]!;
      const flags = fragment.readUInt32BE(trun.body) & 0xffffff;
      const count = fragment.readUInt32BE(trun.body + 4);
      let q = trun.body + 8;
      let offset = dataEnd;
      if (flags & 0x1) (offset = base + fragment.readInt32BE(q)), (q += 4);
      let firstFlags: number | undefined;
      if (flags & 0x4) (firstFlags = fragment.readUInt32BE(q)), (q += 4);
      for (let i = 0; i < count; i++) {
        if (q > trun.end) throw new Fmp4Error('truncated trun');
        let duration = defaultDuration;
        let size = defaultSize;
        let sampleFlags = i === 0 && firstFlags !== undefined ? firstFlags : defaultFlags;
        let cto = 0;
        if (flags & 0x100) (duration = fragment.readUInt32BE(q)), (q += 4);
        if (flags & 0x200) (size = fragment.readUInt32BE(q)), (q += 4);
        if (flags & 0x400) (sampleFlags = fragment.readUInt32BE(q)), (q += 4);
        if (flags & 0x800) (cto = version === 0 ? fragment.readUInt32BE(q) : fragment.readInt32BE(q)), (q += 4);
        if (offset + size > fragment.length) throw new Fmp4Error(`sample data of track ${trackId} lies outside the fragment`);
        samples.push({ trackId, dts, duration, flags: sampleFlags, cto, data: fragment.subarray(offset, offset + size) });
        dts += duration;
        offset += size;
      }
      dataEnd = offset;
    }
    implicitBase = dataEnd;
  }
}

export interface FragmentTrack {
  id: number;
  samples: Sample[];
}

/**
 * One fragment (moof + mdat) holding `tracks`' samples, each traf starting at its first
 * sample's dts. Sample durations, sizes, flags and composition offsets are written per sample.
 */
export function writeFragment(sequence: number, tracks: FragmentTrack[]): Buffer {
  const used = tracks.filter((t) => t.samples.length > 0);
  const trafSizes = used.map((t) => 8 + 16 + 20 + 20 + t.samples.length * 16);
  const moofSize = 8 + 16 + trafSizes.reduce((a, b) => a + b, 0);
  let mdatSize = 8;
  for (const t of used) for (const s of t.samples) mdatSize += s.data.length;
  const out = Buffer.alloc(moofSize + mdatSize);
  let p = 0;
  const box = (size: number, type: string) => {
    out.writeUInt32BE(size, p);
    out.write(type, p + 4, 'latin1');
    p += 8;
  };
  box(moofSize, 'moof');
  box(16, 'mfhd');
  out.writeUInt32BE(0, p);
  out.writeUInt32BE(sequence >>> 0, p + 4);
  p += 8;
  let dataOffset = moofSize + 8;
  used.forEach((t, i) => {
    box(trafSizes[i]!, 'traf');
    box(16, 'tfhd');
    out.writeUInt32BE(0x020000, p); // default-base-is-moof
    out.writeUInt32BE(t.id, p + 4);
    p += 8;
    box(20, 'tfdt');
    out.writeUInt32BE(0x01000000, p); // version 1: 64-bit decode time
    out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(t.samples[0]!.dts))), p + 4);
    p += 12;
    box(20 + t.samples.length * 16, 'trun');
    // version 1 (signed composition offsets); data offset, duration, size, flags, cto per sample.
    out.writeUInt32BE(0x01000000 | 0x1 | 0x100 | 0x200 | 0x400 | 0x800, p);
    out.writeUInt32BE(t.samples.length, p + 4);
    out.writeInt32BE(dataOffset, p + 8);
    p += 12;
    for (const s of t.samples) {
      out.writeUInt32BE(Math.max(0, Math.round(s.duration)) >>> 0, p);
      out.writeUInt32BE(s.data.length, p + 4);
      out.writeUInt32BE(s.flags >>> 0, p + 8);
      out.writeInt32BE(Math.round(s.cto), p + 12);
      p += 16;
      dataOffset += s.data.length;
    }
  });
  box(mdatSize, 'mdat');
  for (const t of used) {
    for (const s of t.samples) {
      s.data.copy(out, p);
      p += s.data.length;
    }
  }
  return out;
}
