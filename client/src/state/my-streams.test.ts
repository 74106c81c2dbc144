import { describe, expect, it } from 'vitest';
import type { StreamKeyView, StreamView } from '../../../protocol/api.ts';
import type { StreamId, UserId } from '../../../protocol/ids.ts';
import { ApiError } from '../lib/api-error.ts';
import { createMyStreams, type MyStreamsApi } from './my-streams.ts';

const ID = 'stream-1' as StreamId;

function view(id: StreamId, title: string): StreamView {
  return {
    id,
    userId: 'user-1' as UserId,
    title,
    description: '',
    status: 'offline',
    startTime: null,
    endTime: null,
    viewCount: 0,
    ingestUrl: `https://glint.test/whip/${id}`,
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

function fakeApi() {
  let keyNumber = 1;
  const calls: string[] = [];
  const keyView = (): StreamKeyView => ({ streamKey: `glint_sk_${keyNumber}`, ingestUrl: `https://glint.test/whip/${ID}` });
  const api: MyStreamsApi = {
    myStreams: async () => {
      calls.push('list');
      return { items: [view(ID, 'First')] };
    },
    createStream: async (body) => {
      calls.push(`create ${body.title}`);
      return { stream: view('stream-2' as StreamId, body.title), streamKey: 'glint_sk_new' };
    },
    streamKey: async () => {
      calls.push('key');
      return keyView();
    },
    rotateStreamKey: async () => {
      calls.push('rotate');
      keyNumber += 1;
      return keyView();
    },
  };
  return { api, calls };
}

describe('my streams', () => {
  it('lists the streams and puts a new one first', async () => {
    const { api } = fakeApi();
    const mine = createMyStreams(api);
    await mine.load();
    await mine.create({ title: 'Second' });
    expect(mine.items.value.map((s) => s.title)).toEqual(['Second', 'First']);
  });

  it('keeps the key hidden until revealed, and hides it again', async () => {
    const { api, calls } = fakeApi();
    const key = createMyStreams(api).keyFor(ID);
    expect(key.key.value).toBeNull();
    expect(calls).toEqual([]);

    await key.reveal();
    expect(key.key.value?.streamKey).toBe('glint_sk_1');

    key.hide();
    expect(key.key.value).toBeNull();
  });

  it('rotates only after the rotation was confirmed', async () => {
    const { api, calls } = fakeApi();
    const key = createMyStreams(api).keyFor(ID);

    await key.rotate();
    expect(calls).toEqual([]);

    key.askRotate();
    expect(key.confirmingRotate.value).toBe(true);
    await key.rotate();
    expect(calls).toEqual(['rotate']);
    expect(key.key.value?.streamKey).toBe('glint_sk_2');
    expect(key.confirmingRotate.value).toBe(false);
  });

  it('shows the API error of a failed reveal', async () => {
    const { api } = fakeApi();
    api.streamKey = async () => {
      throw new ApiError('NOT_STREAM_OWNER', 'Only the owner of the stream may do this.', { status: 403 });
    };
    const key = createMyStreams(api).keyFor(ID);
    await key.reveal();
    expect(key.key.value).toBeNull();
    expect(key.error.value?.code).toBe('NOT_STREAM_OWNER');
    expect(key.busy.value).toBeNull();
  });
});

describe('copying a hidden stream key', () => {
  it('fetches the key without showing it', async () => {
    const { api, calls } = fakeApi();
    const key = createMyStreams(api).keyFor(ID);
    expect(await key.valueForCopy()).toBe('glint_sk_1');
    expect(key.key.value).toBeNull();
    expect(calls).toEqual(['key']);
  });
});
