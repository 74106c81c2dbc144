/**
 * A test server with a streamer broadcasting from headless Chromium (the fake camera and
 * microphone over WHIP): the setup every recording and playback suite starts from.
 */
import type { Browser } from 'playwright-core';
import type { ConfigInput } from '../../server/config.ts';
import { createStreamer, type Streamer } from './http.ts';
import { startTestServer, type TestServer } from './server.ts';
import { publishFromBrowser, type BrowserPublisher } from './browser-publisher.ts';
import { launchChromium } from './chromium.ts';

export interface Broadcast extends Streamer {
  server: TestServer;
  browser: Browser;
  publisher: BrowserPublisher;
  /** Stops the publisher, then Chromium, then the server. */
  stop(): Promise<void>;
}

export async function startBroadcast(options: { config: ConfigInput; username: string; title: string; publish?: Parameters<typeof publishFromBrowser>[3] }): Promise<Broadcast> {
  const server = await startTestServer({ config: options.config });
  let browser: Browser | undefined;
  try {
    const streamer = await createStreamer(server.url, options.username, options.title);
    browser = await launchChromium({ unattended: true });
    const publisher = await publishFromBrowser(browser, server.url, streamer.streamKey, options.publish);
    const started = browser;
    return {
      ...streamer,
      server,
      browser: started,
      publisher,
      async stop() {
        await publisher.stop();
        await started.close();
        await server.stop();
      },
    };
  } catch (err) {
    await browser?.close();
    await server.stop();
    throw err;
  }
}
