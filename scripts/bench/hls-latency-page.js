// Runs inside the HLS benchmark's pages (injected as a string). Publisher: the clock drawn
// into a canvas as in latency-page.js, plus a tone (the recorder encodes audio too), sent
// over WHIP. Viewer: plays the live stream with hls.js in low-latency mode and reads the
// clock back from every displayed frame: now - drawn, per frame.
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

  window.benchHlsPublisher = async (streamKey) => {
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    document.body.append(canvas);
    const ctx = canvas.getContext('2d');
    setInterval(() => drawClock(ctx, clock()), 8);
    const video = canvas.captureStream(60).getVideoTracks()[0];
    const audioCtx = new AudioContext();
    const tone = audioCtx.createOscillator();
    const out = audioCtx.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    const audio = out.stream.getAudioTracks()[0];
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const t = pc.addTransceiver(video, { direction: 'sendonly' });
    const codecs = RTCRtpSender.getCapabilities('video').codecs;
    const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || '') && /42e01f/.test(c.sdpFmtpLine || ''));
    t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
    pc.addTransceiver(audio, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
      setTimeout(r, 1000);
    });
    const res = await fetch('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + streamKey }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + (await res.text()));
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.benchPc = pc;
  };

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

  window.benchHlsViewer = (url) => {
    window.hlsLatency = [];
    window.hlsErrors = [];
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
    window.benchHls = hls;
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
        if (d >= 0 && d < 20000) window.hlsLatency.push(d);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
})();
