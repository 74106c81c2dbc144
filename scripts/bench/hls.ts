/**
 * `npm run bench:hls`: LL-HLS through Glint, measured.
 *  - glass-to-glass latency in Chromium: a publisher page draws the clock into a canvas it
 *    sends over WHIP with a tone (as bench:latency does, plus audio, which the recorder
 *    encodes to AAC); two viewers in the same run read the clock back from every displayed
 *    frame: the Watch page's own HLS player (hls.js with Glint's live sync) and bare hls.js in
 *    low-latency mode with its defaults (the baseline);
 *  - CPU of the stream's recorder (the Node recorder process and its FFmpeg), per core;
 *  - the live playlist against the conformance checker (test/hls/conformance.ts), reloaded
 *    throughout, and the first frame of every segment and independent part.
 *   npm run build && BENCH_SECONDS=30 npm run bench:hls
 * BENCH_PART_HOLD_BACK_PARTS (default: the server's, 3) sets the playlists' PART-HOLD-BACK in parts,
 * BENCH_PART_TARGET_SECONDS (default: the server's, 0.35) the part duration.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { StreamId } from '../../protocol/ids.ts';
import { checkMedia, checkPlaylist, parsePlaylist, type MediaPlaylist } from '../../test/hls/conformance.ts';
import { percentile, summary } from './browser.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { launchChromium } from '../../test/helpers/chromium.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const pageScript = readFileSync(new URL('./latency-page.js', import.meta.url), 'utf8');
const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'), 'utf8');
const TICKS = 100; // clock ticks per second of /proc/<pid>/stat

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

async function main(): Promise<void> {
  const holdBack = process.env.BENCH_PART_HOLD_BACK_PARTS ? { hls: { partHoldBackParts: Number(process.env.BENCH_PART_HOLD_BACK_PARTS) } } : {};
  const partTarget = process.env.BENCH_PART_TARGET_SECONDS ? { partTargetSeconds: Number(process.env.BENCH_PART_TARGET_SECONDS) } : {};
  const server = await startTestServer({ config: { log: { level: 'warn' }, recording: { enabled: true, ...partTarget }, ...holdBack } });
  const browser = await launchChromium({ unattended: true });
  try {
    const api = async (method: string, path: string, body?: unknown, token?: string) =>
      (await fetch(server.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined })).json();
    const reg = await api('POST', '/auth/register', { username: 'bench_hls', email: 'hls@bench.example', password: 'benchmarks print figures' });
    const s = await api('POST', '/streams', { title: 'bench:hls' }, reg.accessToken);
    const streamId = s.stream.id as string;

    const pub = await (await browser.newContext()).newPage();
    await pub.goto(`${server.url}/healthz`);
    await pub.evaluate(pageScript);
    await pub.evaluate(`window.benchPublisher(${JSON.stringify(s.streamKey)}, { tone: true, direct: false })`);
    const playlistUrl = `${server.url}/hls/${streamId}/index.m3u8`;
    for (let i = 0; i < 100; i++) {
      const text = await (await fetch(playlistUrl)).text();
      if ((text.match(/#EXTINF/g) ?? []).length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const view = await (await browser.newContext()).newPage();
    await view.goto(`${server.url}/healthz`);
    await view.evaluate(hlsJs);
    await view.evaluate(pageScript);
    await view.evaluate(`window.benchHlsViewer(${JSON.stringify(`${server.url}/hls/${streamId}/master.m3u8`)})`);
    // The product's player: the Watch page switched to HLS.
    const watch = await (await browser.newContext()).newPage();
    const watchErrors: string[] = [];
    watch.on('pageerror', (e) => watchErrors.push(e.message));
    await watch.goto(`${server.url}/watch/${streamId}`);
    await watch.getByRole('button', { name: 'HLS (large audience) / DVR' }).click();
    await watch.waitForSelector('[data-testid="hls-video"]');
    await watch.evaluate(pageScript);
    await watch.evaluate(`window.benchMeasureVideo('[data-testid="hls-video"]')`);
    // Let the players settle at their target latency first.
    await new Promise((r) => setTimeout(r, 5000));
    await view.evaluate('window.hlsLatency.length = 0; window.hlsStalls = 0');
    await watch.evaluate('window.pageLatency.length = 0; window.pageStalls = 0');

    const recorder = server.app.recording.recorderPid(streamId as StreamId)!;
    const pids = [recorder, ...childrenOf(recorder)];
    const cpuBefore = pids.map(cpuTicks);
    const t0 = performance.now();
    const problems = new Map<string, number>();
    let previous: MediaPlaylist | undefined;
    let loads = 0;
    let mediaChecked = 0;
    while (performance.now() - t0 < seconds * 1000) {
      const pl = parsePlaylist(await (await fetch(playlistUrl)).text());
      loads++;
      for (const e of checkPlaylist(pl, { live: true, ...(previous ? { previous } : {}) })) problems.set(e.replace(/\d+(\.\d+)?/g, 'N'), (problems.get(e.replace(/\d+(\.\d+)?/g, 'N')) ?? 0) + 1);
      if (loads % 5 === 0) {
        for (const e of await checkMedia(pl, playlistUrl, { maxSegments: 2 })) problems.set(e, (problems.get(e) ?? 0) + 1);
        mediaChecked += 2;
      }
      previous = pl;
      await new Promise((r) => setTimeout(r, 500));
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = pids.map((p, i) => (cpuTicks(p) - cpuBefore[i]!) / TICKS / elapsed);
    const latency = (await view.evaluate('window.hlsLatency')) as number[];
    const errors = (await view.evaluate('window.hlsErrors')) as string[];
    const stalls = (await view.evaluate('window.hlsStalls')) as number;
    const hlsJsLatency = (await view.evaluate('window.benchHls.latency')) as number;
    const pageLatency = (await watch.evaluate('window.pageLatency')) as number[];
    const pageStalls = (await watch.evaluate('window.pageStalls')) as number;
    const pageHlsLatency = await watch.getByTestId('hls-behind-live').getAttribute('data-latency');
    const pageState = await watch.getByTestId('hls-player').getAttribute('data-state');
    const last = previous!;
    const parts = last.segments.flatMap((x) => x.parts).map((p) => p.duration);
    const segs = last.segments.map((x) => x.duration);

    console.log(`LL-HLS through Glint (WHIP -> sfu-worker -> recorder/FFmpeg -> hls.js in Chromium), 640x360 canvas + a tone, H.264 copied, Opus -> AAC, ${seconds} s`);
    console.log(`  glass-to-glass, the Watch page's player: ${summary(pageLatency)}`);
    console.log(`    hls.js's latency estimate at the end ${pageHlsLatency ?? '?'} s; player ${pageState}; page errors: ${watchErrors.length ? watchErrors.join(', ') : 'none'}; stalls while measured: ${pageStalls}`);
    console.log(`  glass-to-glass, bare hls.js (low-latency mode, maxLiveSyncPlaybackRate 1.5: the Watch page's settings before; same run): ${summary(latency)}`);
    console.log(`    hls.js's latency estimate at the end ${hlsJsLatency.toFixed(2)} s; player errors: ${errors.length ? errors.join(', ') : 'none'}; stalls while measured: ${stalls}`);
    console.log(`  recorder CPU: ${(cpu.reduce((a, b) => a + b, 0) * 100).toFixed(1)}% of one core (recorder process ${(cpu[0]! * 100).toFixed(1)}%, FFmpeg ${(cpu.slice(1).reduce((a, b) => a + b, 0) * 100).toFixed(1)}%)`);
    console.log(`  playlist: PART-TARGET ${last.partTarget} s, TARGETDURATION ${last.targetDuration} s, ${last.serverControl['PART-HOLD-BACK']} s part hold-back;` +
      ` parts ${Math.min(...parts).toFixed(3)}-${Math.max(...parts).toFixed(3)} s (p50 ${percentile([...parts].sort((a, b) => a - b), 0.5).toFixed(3)}), segments ${Math.min(...segs).toFixed(2)}-${Math.max(...segs).toFixed(2)} s`);
    console.log(`  conformance: ${loads} playlist loads checked, ${mediaChecked} segments' keyframes checked, ${problems.size === 0 ? 'no violations' : `violations: ${JSON.stringify(Object.fromEntries(problems))}`}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

// Exit when done: native handles (libdatachannel, the server's workers) would keep the process alive.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
