import { describe, expect, it } from 'vitest';
import { createEventSourceFactory } from './media-testing.ts';
import { createStreamEvents, type StreamEventMessage } from './stream-events.ts';

describe('stream events', () => {
  it('turns server-sent events into signals and tells subscribers', () => {
    const sources = createEventSourceFactory();
    const events = createStreamEvents({ url: '/streams/1/events', open: sources.open });
    const heard: StreamEventMessage[] = [];
    events.subscribe((e) => heard.push(e));
    events.start();
    const es = sources.last;
    es.open();
    es.send('live');
    es.send('active');
    es.send('viewercount', { viewercount: 7 });
    es.send('error', { message: 'B-frames are not supported' });

    expect(events.connected.value).toBe(true);
    expect(events.status.value).toBe('live');
    expect(events.active.value).toBe(true);
    expect(events.viewers.value).toBe(7);
    expect(events.lastError.value).toBe('B-frames are not supported');
    expect(heard.map((e) => e.type)).toEqual(['live', 'active', 'viewercount', 'error']);
  });

  it("tells EventSource's own connection errors from the server's error event", () => {
    const sources = createEventSourceFactory();
    const events = createStreamEvents({ url: '/streams/1/events', open: sources.open });
    const heard: StreamEventMessage[] = [];
    events.subscribe((e) => heard.push(e));
    events.start();
    sources.last.open();
    sources.last.fail();
    expect(events.connected.value).toBe(false);
    expect(events.lastError.value).toBeNull();
    expect(heard).toEqual([]);
  });

  it('ignores a malformed viewer count and stops listening once closed', () => {
    const sources = createEventSourceFactory();
    const events = createStreamEvents({ url: '/streams/1/events', open: sources.open });
    events.start();
    sources.last.send('viewercount', { viewercount: 'many' });
    expect(events.viewers.value).toBeNull();
    events.close();
    expect(sources.last.closed).toBe(true);
    sources.last.send('live');
    expect(events.status.value).toBeNull();
  });
});
