import { expect, it } from 'vitest';
import { h264FrameSize, vp8FrameSize } from './frame-size.ts';

// SPS NAL units x264 wrote for these sizes (ffmpeg -f lavfi -i testsrc=size=WxH -c:v libx264 -profile:v P).
const SPS = {
  '320x180 baseline (cropped)': '6742c00bd901419f9f011000000300100000030140f142a480',
  '1280x720 baseline': '6742c01fd9005005bb011000000300100000030140f1832480',
  '640x360 high': '67640016acd940a02ff97011000003000100000300140f162d96',
};

const rtp = (payload: string) => Buffer.concat([Buffer.alloc(12), Buffer.from(payload, 'hex')]);

it('reads the picture size from an H.264 SPS, alone or in a STAP-A', () => {
  expect(h264FrameSize(rtp(SPS['320x180 baseline (cropped)']), 12)).toEqual({ width: 320, height: 180 });
  expect(h264FrameSize(rtp(SPS['640x360 high']), 12)).toEqual({ width: 640, height: 360 });
  const sps = Buffer.from(SPS['1280x720 baseline'], 'hex');
  const pps = Buffer.from('68ce3c80', 'hex');
  const stap = Buffer.concat([Buffer.from([24, sps.length >> 8, sps.length & 0xff]), sps, Buffer.from([0, pps.length]), pps]);
  expect(h264FrameSize(Buffer.concat([Buffer.alloc(12), stap]), 12)).toEqual({ width: 1280, height: 720 });
});

it('gives null for packets without an SPS and for garbage', () => {
  expect(h264FrameSize(rtp('65888400'), 12)).toBeNull();
  expect(h264FrameSize(rtp('67'), 12)).toBeNull();
  expect(h264FrameSize(rtp('18ffff'), 12)).toBeNull();
});

it('reads the size of a VP8 keyframe', () => {
  // Payload descriptor 0x10 (start of partition 0), then the frame header libvpx wrote for 640x360.
  expect(vp8FrameSize(rtp('10' + '909c009d012a80026801'), 12)).toEqual({ width: 640, height: 360 });
  expect(vp8FrameSize(rtp('10' + '919c009d012a80026801'), 12)).toBeNull(); // an interframe
});
