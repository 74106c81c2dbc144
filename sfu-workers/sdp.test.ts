import { describe, expect, it } from 'vitest';
import { announceCandidates, choosePublishCodecs, chooseViewCodecs, parseOffer } from './sdp.ts';

const CHROME_PUBLISH = [
  'v=0', 'o=- 4611 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=msid-semantic: WMS s',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:uf1', 'a=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw',
  'a=fingerprint:sha-256 AA:BB', 'a=setup:actpass', 'a=mid:0', 'a=sendonly', 'a=rtcp-mux',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:63 red/48000/2', 'a=ssrc:1001 cname:c',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107 112',
  'c=IN IP4 0.0.0.0', 'a=ice-ufrag:uf1', 'a=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw', 'a=fingerprint:sha-256 AA:BB', 'a=setup:actpass',
  'a=mid:1', 'a=sendonly', 'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000', 'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:103 H264/90000', 'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:106 H264/90000', 'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 H264/90000', 'a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f',
  'a=rtpmap:112 AV1/90000',
  'a=extmap:3/sendrecv http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'a=extmap:15 urn:ietf:params:rtp-hdrext:toffset',
  'a=ssrc-group:FID 2001 2002', 'a=ssrc:2001 cname:c', 'a=ssrc:2002 cname:c', '',
].join('\r\n');

describe('parseOffer', () => {
  it('reads sections, codecs, SSRCs and credentials', () => {
    const r = parseOffer(CHROME_PUBLISH);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.offer.bundle).toEqual(['0', '1']);
    const [a, v] = r.offer.media;
    expect(a).toMatchObject({ kind: 'audio', mid: '0', direction: 'sendonly', ssrcs: [1001] });
    expect(v!.rtpmap.get(106)).toEqual({ codec: 'h264', clockRate: 90000, channels: 1 });
    expect(v!.fidGroups).toEqual([[2001, 2002]]);
    // Ids past 14 need the two-byte header form, which we do not write: not kept.
    expect([...v!.extmaps]).toEqual([['http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 3]]);
  });

  it('gives a reason for what it cannot use', () => {
    expect(parseOffer('')).toEqual({ ok: false, reason: 'the SDP offer is empty' });
    expect(parseOffer('hello')).toMatchObject({ ok: false, reason: expect.stringMatching(/v=0/) });
    expect(parseOffer('v=0\r\ns=-\r\n')).toMatchObject({ ok: false, reason: expect.stringMatching(/no media sections/) });
    expect(parseOffer(CHROME_PUBLISH.replace(/a=mid:1\r\n/, ''))).toMatchObject({ ok: false, reason: expect.stringMatching(/video section has no a=mid/) });
    expect(parseOffer(CHROME_PUBLISH.replace(/a=fingerprint.*\r\n/g, ''))).toMatchObject({ ok: false, reason: expect.stringMatching(/fingerprint/) });
    expect(parseOffer(CHROME_PUBLISH.replace('m=video 9', 'm=video x'))).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed m= line/) });
    expect(parseOffer(CHROME_PUBLISH.replace('a=mid:1', 'a=mid:0'))).toMatchObject({ ok: false, reason: expect.stringMatching(/share one a=mid/) });
    expect(parseOffer('v=0\r\n' + 'a=x\r\n'.repeat(20000))).toMatchObject({ ok: false, reason: expect.stringMatching(/larger than/) });
  });
});

describe('choosePublishCodecs', () => {
  const offer = (sdp: string) => {
    const r = parseOffer(sdp);
    if (!r.ok) throw new Error(r.reason);
    return r.offer;
  };

  it('prefers constrained-baseline H.264 with packetization-mode 1, and Opus', () => {
    const r = choosePublishCodecs(offer(CHROME_PUBLISH));
    expect(r.ok && r.choices.map((c) => [c.kind, c.codec, c.payloadType])).toEqual([['audio', 'opus', 111], ['video', 'h264', 106]]);
  });

  it("answers abs-send-time with the offer's id for each section that has it", () => {
    const r = choosePublishCodecs(offer(CHROME_PUBLISH));
    expect(r.ok && r.choices.map((c) => c.absSendTimeId)).toEqual([2, 3]);
    const without = choosePublishCodecs(offer(CHROME_PUBLISH.replace(/a=extmap:.*\r\n/g, '')));
    expect(without.ok && without.choices.map((c) => c.absSendTimeId)).toEqual([undefined, undefined]);
  });

  it('takes high profile when that is all there is, then VP8', () => {
    const highOnly = CHROME_PUBLISH.replace(/a=rtpmap:10[236].*\r\n|a=fmtp:10[236].*\r\n/g, '');
    expect(choosePublishCodecs(offer(highOnly))).toMatchObject({ ok: true, choices: [{ codec: 'opus' }, { codec: 'h264', payloadType: 107, profileLevelId: '640c1f' }] });
    const vp8Only = CHROME_PUBLISH.replace(/a=rtpmap:10\d H264.*\r\n/g, '');
    expect(choosePublishCodecs(offer(vp8Only))).toMatchObject({ ok: true, choices: [{ codec: 'opus' }, { codec: 'vp8', payloadType: 96 }] });
  });

  it('refuses what it cannot carry, saying why', () => {
    const noVideoCodec = CHROME_PUBLISH.replace(/a=rtpmap:(96|10\d) .*\r\n/g, '');
    expect(choosePublishCodecs(offer(noVideoCodec))).toMatchObject({ ok: false, reason: expect.stringMatching(/no supported video codec.*offered: rtx, av1/) });
    expect(choosePublishCodecs(offer(CHROME_PUBLISH.replace(/a=sendonly/g, 'a=recvonly')))).toMatchObject({ ok: false, reason: expect.stringMatching(/sendonly or sendrecv/) });
    expect(choosePublishCodecs(offer(CHROME_PUBLISH.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 1')))).toMatchObject({ ok: false, reason: expect.stringMatching(/bundled/) });
    expect(choosePublishCodecs(offer(CHROME_PUBLISH.replace(/a=ssrc(-group:FID 2001 2002|:200\d cname:c)\r\n/g, '').replace('a=rtcp-mux\r\na=rtpmap:96', 'a=rtcp-mux\r\na=simulcast:send h;l\r\na=rtpmap:96')))).toMatchObject({ ok: false, reason: expect.stringMatching(/simulcast/) });
    expect(choosePublishCodecs(offer(CHROME_PUBLISH.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel')))).toMatchObject({ ok: false, reason: expect.stringMatching(/audio and video only/) });
  });

  it('counts a port-0 bundle-only section as active (JSEP max-bundle)', () => {
    const bundleOnly = CHROME_PUBLISH.replace('m=video 9', 'm=video 0').replace('a=mid:1', 'a=mid:1\r\na=bundle-only');
    expect(choosePublishCodecs(offer(bundleOnly))).toMatchObject({ ok: true, choices: [{ kind: 'audio' }, { kind: 'video' }] });
    const rejected = CHROME_PUBLISH.replace('m=video 9', 'm=video 0');
    expect(choosePublishCodecs(offer(rejected))).toMatchObject({ ok: true, choices: [{ kind: 'audio' }] });
  });
});

describe('chooseViewCodecs', () => {
  const viewer = (sdp: string) => {
    const r = parseOffer(sdp.replace(/a=sendonly/g, 'a=recvonly'));
    if (!r.ok) throw new Error(r.reason);
    return r.offer;
  };

  it("picks the viewer's payload type that decodes the stream's codec unchanged", () => {
    const r = chooseViewCodecs(viewer(CHROME_PUBLISH), [{ kind: 'video', codec: 'h264', profileLevelId: '42e01f' }, { kind: 'audio', codec: 'opus' }]);
    expect(r.ok && r.choices.map((c) => [c.kind, c.payloadType])).toEqual([['video', 106], ['audio', 111]]);
    const high = chooseViewCodecs(viewer(CHROME_PUBLISH), [{ kind: 'video', codec: 'h264', profileLevelId: '640c1f' }]);
    expect(high.ok && high.choices[0]!.payloadType).toBe(107);
  });

  it('refuses a viewer that cannot decode the stream', () => {
    const noHigh = CHROME_PUBLISH.replace(/a=rtpmap:107.*\r\n|a=fmtp:107.*\r\n/g, '');
    expect(chooseViewCodecs(viewer(noHigh), [{ kind: 'video', codec: 'h264', profileLevelId: '640c1f' }])).toMatchObject({ ok: false, reason: expect.stringMatching(/profile-level-id 640c1f/) });
    expect(chooseViewCodecs(viewer(CHROME_PUBLISH).media.length ? viewer(CHROME_PUBLISH.replace(/a=recvonly|a=sendonly/g, 'a=inactive')) : viewer(''), [{ kind: 'audio', codec: 'opus' }])).toMatchObject({ ok: false });
  });
});

it('announces the configured address in host candidates', () => {
  const answer = 'a=candidate:1 1 UDP 2114977791 10.0.0.5 40000 typ host\r\na=candidate:2 1 UDP 2114977791 172.17.0.1 40000 typ host\r\n';
  expect(announceCandidates(answer, 'live.example.com')).toBe(
    'a=candidate:1 1 UDP 2114977791 live.example.com 40000 typ host\r\na=candidate:2 1 UDP 2114977791 live.example.com 40000 typ host\r\n',
  );
  expect(announceCandidates(answer, '')).toBe(answer);
});
