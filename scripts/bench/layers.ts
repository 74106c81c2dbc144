/**
 * bench:layers — per-viewer simulcast layers under a shaped downlink. A Chromium Studio
 * publishes three layers; two Chromium viewers watch with large players (both on the top
 * layer). Then one viewer's downlink is cut to BENCH_LIMIT_KBPS (tc htb on its UDP port)
 * and later restored. Printed: time until it plays a lower layer after the cut, time until
 * it is back on the top layer after the restore, layer switches during a steady period on
 * the cut link, frozen-frame time around the switch (Chrome's totalFreezesDuration), and the
 * worker's packets per second compared with every viewer on the top layer.
 *
 * Runs in a network namespace of its own (created here, needs root): everything — server,
 * Chromium — sits on that namespace's private loopback, so shaping touches nothing else.
 * `--json` prints one JSON line of figures (the test in npm test runs it that way, shorter).
 *
 *   npm run bench:layers            BENCH_STEADY_SECONDS=60 BENCH_LIMIT_KBPS=400
 */
import { execFileSync, spawn } from 'node:child_process';
import { loadavg, availableParallelism } from 'node:os';
import type { Page } from 'playwright-core';
import { launchChromium } from '../../test/helpers/chromium.ts';
import { postJson } from '../../test/helpers/http.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { firstFrame, loggedInPage, openStudio } from '../../test/helpers/watch-page.ts';

const json = process.argv.includes('--json');
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const LIMIT_KBPS = Number(process.env.BENCH_LIMIT_KBPS ?? 400);
const NS_ENV = 'GLINT_LAYERS_NETNS';

function log(...args: unknown[]): void {
  if (!json) console.log(...args);
  else console.error(...args);
}

/** Outside the namespace: make it, run this script inside it, remove it. */
async function outside(): Promise<void> {
  const name = `glint-layers-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    const child = spawn('ip', ['netns', 'exec', name, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [NS_ENV]: name },
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    process.exitCode = code;
  } finally {
    try {
      for (const pid of execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
    execFileSync('ip', ['netns', 'del', name]);
  }
}

const tc = (...args: string[]) => execFileSync('tc', args, { stdio: 'pipe' });

/** Before any page script: keeps every RTCPeerConnection for the bench to read. */
const KEEP_PCS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config) { super(config); window.__pcs.push(this); }
  };
})()`;

async function viewerStats(page: Page): Promise<{ port: number | null; width: number; freezes: number; freezeSeconds: number; packetsLost: number; frames: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs[pcs.length - 1]!;
    const stats = await pc.getStats();
    let port: number | null = null;
    let freezes = 0;
    let freezeSeconds = 0;
    let packetsLost = 0;
    let frames = 0;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) port = stats.get(stats.get(s.selectedCandidatePairId)?.localCandidateId)?.port ?? null;
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        freezes = s.freezeCount ?? 0;
        freezeSeconds = s.totalFreezesDuration ?? 0;
        packetsLost = s.packetsLost ?? 0;
        frames = s.framesDecoded ?? 0;
      }
    });
    const width = document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')?.videoWidth ?? 0;
    return { port, width, freezes, freezeSeconds, packetsLost, frames };
  });
}

/** Polls until `check` holds; the time it took (ms), or null after `ms`. */
async function timeUntil(check: () => Promise<boolean>, ms: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function inside(): Promise<void> {
  const server = await startTestServer({ config: { rtc: { portBase: 40000 }, log: { level: 'warn' } } });
  const browser = await launchChromium({ unattended: true });
  try {
    const username = `bench_${Date.now().toString(36)}`;
    const password = 'Quartz-Meadow-Signal-5821';
    const token = (await postJson(server.url, '/auth/register', { username, email: `${username}@example.com`, password })).accessToken;
    const { stream } = await postJson(server.url, '/streams', { title: 'bench:layers' }, token);
    const { page: studio } = await loggedInPage(browser, server.url, username, password);
    await openStudio(studio, server.url, stream.id);
    await studio.getByRole('button', { name: 'Go live' }).click();
    await studio.waitForSelector('[data-testid="studio-status"][data-status="live"]', { timeout: 30_000 });
    await studio.waitForFunction(() => document.querySelector('[data-testid="studio-figures"]')?.getAttribute('data-layers') === '320x180,640x360,1280x720', undefined, { timeout: 60_000 });
    const layersText = await studio.getByTestId('figure-layers').textContent();
    log(`studio layers: ${layersText}`);

    const viewers: Page[] = [];
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      await context.addInitScript(KEEP_PCS);
      const page = await context.newPage();
      await page.goto(`${server.url}/watch/${stream.id}`);
      await firstFrame(page, 30_000);
      viewers.push(page);
    }
    const [cut, control] = viewers as [Page, Page];
    await cut.getByRole('button', { name: 'Show stats' }).click();
    const serverView = async () => {
      const stats = cut.getByTestId('player-stats');
      return `layer ${await stats.getAttribute('data-layer')} (cap ${await stats.getAttribute('data-layer-cap')}, ${await stats.getAttribute('data-layer-switches')} switches in all)`;
    };
    for (const v of viewers) await v.waitForFunction(() => document.querySelector<HTMLVideoElement>('[data-testid="player-video"]')?.videoWidth === 1280, undefined, { timeout: 30_000 });

    const worker = server.app.workers.get(0)!;
    const packetRate = async (seconds: number) => {
      const a = worker.stats!.packetsOut;
      const at = worker.stats!.sampledAt;
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return ((worker.stats!.packetsOut - a) * 1000) / Math.max(1, worker.stats!.sampledAt - at);
    };
    const allTopPps = await packetRate(5);

    // Cut the first viewer's downlink: what the SFU sends to its port goes through a 400 kbit/s class.
    const port = (await viewerStats(cut)).port;
    if (!port) throw new Error('no selected candidate pair on the viewer');
    tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1');
    tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit');
    tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', `${LIMIT_KBPS}kbit`, 'ceil', `${LIMIT_KBPS}kbit`, 'burst', '15k');
    tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:2', 'handle', '20:', 'pfifo', 'limit', '50');
    tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:2');
    const beforeCut = await viewerStats(cut);
    const downMs = await timeUntil(async () => (await viewerStats(cut)).width < 1280, 30_000);
    const afterDown = await viewerStats(cut);
    log(`cut to ${LIMIT_KBPS} kbit/s: lower layer after ${downMs} ms (now ${afterDown.width} wide)`);

    // A steady period on the cut link: how often does it switch?
    let switches = 0;
    let lastWidth = afterDown.width;
    const steadyStart = Date.now();
    const widths = new Set<number>([lastWidth]);
    let cutPps = 0;
    const pps = packetRate(Math.min(10, STEADY_SECONDS)).then((r) => (cutPps = r));
    while (Date.now() - steadyStart < STEADY_SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 250));
      const w = (await viewerStats(cut)).width;
      if (w !== lastWidth) {
        switches++;
        lastWidth = w;
        widths.add(w);
      }
    }
    await pps;
    const steady = await viewerStats(cut);
    log(`steady ${STEADY_SECONDS} s on the cut link: ${switches} switches (widths ${[...widths].join(', ')}); the server says: ${await serverView()}`);

    // Restore the link.
    tc('class', 'change', 'dev', 'lo', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '10gbit', 'ceil', '10gbit');
    const beforeUp = await viewerStats(cut);
    const upMs = await timeUntil(async () => (await viewerStats(cut)).width === 1280, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const afterUp = await viewerStats(cut);
    const controlStats = await viewerStats(control);
    tc('qdisc', 'del', 'dev', 'lo', 'root');

    const figures = {
      nproc: availableParallelism(),
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      limitKbps: LIMIT_KBPS,
      downMs,
      upMs,
      steadySeconds: STEADY_SECONDS,
      steadySwitches: switches,
      widthOnCutLink: steady.width,
      freezesDuringDown: afterDown.freezes - beforeCut.freezes,
      freezesSteady: steady.freezes - afterDown.freezes,
      freezesDuringUp: afterUp.freezes - beforeUp.freezes,
      freezeSecondsDuringDown: Number((afterDown.freezeSeconds - beforeCut.freezeSeconds).toFixed(3)),
      controlWidth: controlStats.width,
      controlFreezes: controlStats.freezes,
      workerPpsAllTop: Math.round(allTopPps),
      workerPpsOneCut: Math.round(cutPps),
    };
    if (json) console.log(JSON.stringify(figures));
    else {
      log(`back on the top layer ${upMs} ms after the link was restored (target ≤ 12000 ms); down took ${downMs} ms (target ≤ 3000 ms)`);
      log(`freezes: ${figures.freezesDuringDown} (${figures.freezeSecondsDuringDown} s) from the cut until the lower layer played (the overloaded link), ${figures.freezesSteady} in the steady period, ${figures.freezesDuringUp} across the switch back up (target 0); the uncut viewer: ${controlStats.width} wide, ${controlStats.freezes} freezes`);
      log(`worker packets/s: ${figures.workerPpsAllTop} with both viewers on the top layer, ${figures.workerPpsOneCut} with one on the cut link (saved ${Math.round(figures.workerPpsAllTop - figures.workerPpsOneCut)})`);
      log(`nproc ${figures.nproc}, load average ${figures.loadavg.join(' ')}`);
    }
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
}

if (process.env[NS_ENV]) await inside();
else await outside();
