/**
 * A WHIP publisher with a fixed GOP that ignores keyframe requests, like many hardware and
 * software encoders: an H.264 file made by FFmpeg (keyframe every `gopSeconds`, no
 * B-frames) sent in a loop at its frame rate through libdatachannel's H.264 packetizer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeDataChannel from 'node-datachannel';
import { connect, createPublisherPeer } from '../../test/helpers/ndc-peer.ts';

const FPS = 30;

/** Access units of an Annex B stream made with `aud=1` (each starts with an AUD NAL). */
function accessUnits(data: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 4 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 0 && data[i + 3] === 1 && (data[i + 4]! & 0x1f) === 9) starts.push(i);
  }
  return starts.map((s, k) => data.subarray(s, starts[k + 1] ?? data.length));
}

export function makeH264File(gopSeconds: number): string {
  const file = join(tmpdir(), `glint-bench-gop${gopSeconds}.h264`);
  if (!existsSync(file)) {
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=${FPS}`, '-t', '12',
      '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(gopSeconds * FPS), '-keyint_min', String(gopSeconds * FPS),
      '-sc_threshold', '0', '-bf', '0', '-b:v', '1200k', '-x264-params', 'aud=1:repeat-headers=1', '-f', 'h264', '-y', file,
    ]);
  }
  return file;
}

export async function startFixedGopPublisher(baseUrl: string, streamKey: string, gopSeconds: number): Promise<{ stop(): void; keyframesSent(): number }> {
  const units = accessUnits(readFileSync(makeH264File(gopSeconds)));
  if (units.length === 0) throw new Error('no access units in the H.264 file');
  const pub = await createPublisherPeer({ audio: false, name: 'fixed-gop' });
  const config = new nodeDataChannel.RtpPacketizationConfig(0x11111111, 'fixed-gop', 96, 90000);
  pub.video!.setMediaHandler(new nodeDataChannel.H264RtpPacketizer('StartSequence', config));
  const res = await fetch(`${baseUrl}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` }, body: pub.offer });
  if (res.status !== 201) throw new Error(`WHIP ${res.status}: ${await res.text()}`);
  await connect(pub, await res.text());
  let frame = 0;
  let keyframes = 0;
  const started = performance.now();
  let ts = 0;
  const timer = setInterval(() => {
    // Catch up on the wall clock so timer jitter does not slow the stream down.
    while (frame < ((performance.now() - started) * FPS) / 1000) {
      const unit = units[frame % units.length]!;
      config.timestamp = ts >>> 0;
      ts += 90000 / FPS;
      if (unit.includes(Buffer.from([0, 0, 0, 1, 0x65])) || unit.includes(Buffer.from([0, 0, 1, 0x65]))) keyframes++;
      try {
        pub.video!.sendMessageBinary(unit);
      } catch {
        // closed
      }
      frame++;
    }
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      pub.close();
    },
    keyframesSent: () => keyframes,
  };
}
