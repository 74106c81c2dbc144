// Runs inside the benchmark pages (injected as a string). Publisher: draws the clock into a
// canvas as a grid of black/white cells (32 bits of ms, then the same bits inverted, as a
// check) and sends it over WHIP (with a tone when asked: bench:hls records audio too) and,
// for bench:latency, over a direct peer connection. Viewers (WebRTC, or LL-HLS with hls.js
// injected before this script) decode the cells of every displayed frame and record
// now - drawn.
(() => {
  const W = 640, H = 360, CELL = 40, COLS = 16;
  const clock = () => performance.timeOrigin + performance.now();

  function drawClock(ctx, ms) {
    ctx.fillStyle = '#808080';
    ctx.fillRect(0, 0, W, H);
    const v = Math.floor(ms) >>> 0;
    for (let i = 0; i < 64; i++) {
      const bit = i < 32 ? (v >>> (31 - i)) & 1 : ((v >>> (63 - i)) & 1) ^ 1;
      ctx.fillStyle = bit ? '#fff' : '#000';
      ctx.fillRect((i % COLS) * CELL, Math.floor(i / COLS) * CELL, CELL, CELL);
    }
  }

  function readClock(ctx) {
    const img = ctx.getImageData(0, 0, COLS * CELL, 4 * CELL).data;
    const bits = [];
    for (let i = 0; i < 64; i++) {
      const x = (i % COLS) * CELL + CELL / 2, y = Math.floor(i / COLS) * CELL + CELL / 2;
      let sum = 0;
      for (let dy = -6; dy <= 6; dy += 3) for (let dx = -6; dx <= 6; dx += 3) sum += img[((y + dy) * COLS * CELL + (x + dx)) * 4 + 1];
      bits.push(sum / 25 > 128 ? 1 : 0);
    }
    let v = 0;
    for (let i = 0; i < 32; i++) {
      if (bits[i] === bits[i + 32]) return null; // check bits disagree: a blurred or torn frame
      v = (v * 2 + bits[i]) >>> 0;
    }
    return v;
  }

  async function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise((r) => {
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
      setTimeout(r, 1000);
    });
  }

  function preferH264(transceiver) {
    const codecs = RTCRtpSender.getCapabilities('video').codecs;
    const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || '') && /42e01f/.test(c.sdpFmtpLine || ''));
    if (h264.length) transceiver.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
  }

  /** A sine tone as a track (bench:hls: the recorder encodes audio as well). */
  function toneTrack() {
    const audioCtx = new AudioContext();
    const tone = audioCtx.createOscillator();
    const out = audioCtx.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    return out.stream.getAudioTracks()[0];
  }

  /** Returns the direct connection's offer, unless `{ direct: false }`. */
  window.benchPublisher = async (streamKey, options = {}) => {
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    document.body.append(canvas);
    const ctx = canvas.getContext('2d');
    setInterval(() => drawClock(ctx, clock()), 8);
    const track = canvas.captureStream(60).getVideoTracks()[0];
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    preferH264(pc.addTransceiver(track, { direction: 'sendonly' }));
    if (options.tone) pc.addTransceiver(toneTrack(), { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await fetch('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + streamKey }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + (await res.text()));
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.benchPc = pc;
    if (options.direct === false) return undefined;
    // The direct peer-to-peer baseline: same track, offer handed to the viewer by the harness.
    const direct = new RTCPeerConnection();
    preferH264(direct.addTransceiver(track, { direction: 'sendonly' }));
    await direct.setLocalDescription(await direct.createOffer());
    await gathered(direct);
    window.benchDirect = direct;
    return direct.localDescription.sdp;
  };

  window.benchDirectAnswer = async (sdp) => {
    await window.benchDirect.setRemoteDescription({ type: 'answer', sdp });
  };

  function measure(video, into, maxMs = 10000) {
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const onFrame = (now, meta) => {
      ctx.drawImage(video, 0, 0, W, H);
      const drawn = readClock(ctx);
      const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
      if (drawn !== null) {
        const d = ((Math.floor(shown) >>> 0) - drawn) | 0;
        if (d >= 0 && d < maxMs) into.push(d);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /** A <video> that measures the clock in every frame of `pc`'s track into `into`. */
  function attach(pc, into) {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    pc.addEventListener('track', (e) => {
      video.srcObject = new MediaStream([e.track]);
      video.play().catch(() => {});
      measure(video, into);
    });
  }

  /** A WHEP viewer of `url` (any node of a cluster: CORS is open) measuring into `into`. */
  async function whepInto(url, into) {
    const sfu = new RTCPeerConnection();
    attach(sfu, into);
    sfu.addTransceiver('video', { direction: 'recvonly' });
    await sfu.setLocalDescription(await sfu.createOffer());
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sfu.localDescription.sdp });
    if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + (await res.text()));
    await sfu.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  }

  /** A viewer of another node (its page comes from that node; one browser, one clock): window.edgeLatency. */
  window.benchEdgeViewer = async (whepUrl) => {
    window.edgeLatency = [];
    await whepInto(whepUrl, window.edgeLatency);
  };

  window.benchViewer = async (streamId, directOffer) => {
    window.sfuLatency = [];
    window.directLatency = [];
    await whepInto('/whep/' + streamId, window.sfuLatency);
    const direct = new RTCPeerConnection();
    attach(direct, window.directLatency);
    await direct.setRemoteDescription({ type: 'offer', sdp: directOffer });
    await direct.setLocalDescription(await direct.createAnswer());
    await gathered(direct);
    return direct.localDescription.sdp;
  };

  /** Measures the clock in an existing <video> (the Watch page's player): window.pageLatency, window.pageStalls. */
  window.benchMeasureVideo = (selector) => {
    window.pageLatency = [];
    window.pageStalls = 0;
    const video = document.querySelector(selector);
    if (!video) throw new Error('no video ' + selector);
    video.addEventListener('waiting', () => window.pageStalls++);
    measure(video, window.pageLatency, 20000);
  };

  /** Plays `url` with hls.js (window.Hls) in low-latency mode: window.hlsLatency, window.hlsErrors. */
  window.benchHlsViewer = (url) => {
    window.hlsLatency = [];
    window.hlsErrors = [];
    /** Times playback stalled (the video waited for data) since the last reset. */
    window.hlsStalls = 0;
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const hls = new Hls({ lowLatencyMode: true, enableWorker: false, maxLiveSyncPlaybackRate: 1.5 });
    hls.on(Hls.Events.ERROR, (_e, d) => window.hlsErrors.push(`${d.fatal ? 'fatal ' : ''}${d.type}/${d.details}`));
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
    video.addEventListener('waiting', () => window.hlsStalls++);
    window.benchHls = hls;
    measure(video, window.hlsLatency, 20000);
  };
})();
