/**
 * A WHIP publisher in headless Chromium: the fake camera and microphone (or a canvas),
 * H.264 preferred, published from a page of the test server. For media tests that need a
 * real browser encoder (keyframes on request, Opus audio) instead of crafted RTP.
 */
import type { Browser, Page } from 'playwright-core';

const PUBLISH = `async ([streamKey, width, height, codec]) => {
  const media = await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: true });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of media.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly' });
    if (track.kind === 'video') {
      const codecs = RTCRtpSender.getCapabilities('video').codecs;
      const wanted = codecs.filter((c) => codec === 'vp8' ? c.mimeType === 'video/VP8' : c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || '') && /42e01f/.test(c.sdpFmtpLine || ''));
      // Glint picks H.264 when offered: a VP8 publisher offers VP8 alone.
      t.setCodecPreferences(codec === 'vp8' ? wanted : [...wanted, ...codecs.filter((c) => !wanted.includes(c))]);
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 1000);
  });
  const res = await fetch('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + streamKey }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + (await res.text()));
  window.__whipSession = res.headers.get('location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('publisher did not connect')), 15000);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') { clearTimeout(t); resolve(); }
    });
  });
  window.__publisher = pc;
}`;

export interface BrowserPublisher {
  page: Page;
  /** DELETE the WHIP session (the stream goes offline) and close the page. */
  stop(): Promise<void>;
}

/** Publishes the fake camera (640x360 by default, H.264 or VP8) and microphone to `streamKey`. */
export async function publishFromBrowser(browser: Browser, baseUrl: string, streamKey: string, options: { width?: number; height?: number; codec?: 'h264' | 'vp8' } = {}): Promise<BrowserPublisher> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${baseUrl}/healthz`);
  await page.evaluate(`(${PUBLISH})(${JSON.stringify([streamKey, options.width ?? 640, options.height ?? 360, options.codec ?? 'h264'])})`);
  return {
    page,
    async stop() {
      await page.evaluate(`fetch(window.__whipSession, { method: 'DELETE', headers: { authorization: 'Bearer ' + ${JSON.stringify(streamKey)} } }).then(() => window.__publisher.close())`).catch(() => {});
      await context.close();
    },
  };
}
