/**
 * The ClusterDirectory contract (server/cluster/directory.ts), run against every
 * implementation. `open(n)` returns n handles on one directory, as n nodes would hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId, StreamId } from '../../protocol/ids.ts';
import type { ClusterDirectory, NodeEntry, StreamOrigin } from '../../server/cluster/directory.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nodeEntry(id: string, url = `http://${id}.internal:8080`): NodeEntry {
  return { id: id as NodeId, url, mediaAddress: '10.0.0.1', peers: 3, capacity: 500, streams: 1, secretId: 'abc', startedAt: 1 };
}

function origin(streamId: string, node: string, status: StreamOrigin['status'] = 'live'): StreamOrigin {
  return { streamId: streamId as StreamId, node: node as NodeId, worker: 0, producers: [{ kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, profileLevelId: '42e01f' }], status, hls: true };
}

export function describeDirectory(name: string, open: (n: number) => Promise<ClusterDirectory[]>): void {
  describe(`${name} directory contract`, () => {
    let handles: ClusterDirectory[] = [];
    afterEach(async () => {
      await Promise.all(handles.map((d) => d.close()));
      handles = [];
    });

    it('lists the nodes whose entries are fresh, and forgets one that stops refreshing', async () => {
      handles = await open(2);
      const [a, b] = handles as [ClusterDirectory, ClusterDirectory];
      await a.putNode(nodeEntry('node-a'), 300);
      await b.putNode(nodeEntry('node-b'), 5_000);
      expect((await b.nodes()).map((n) => n.id).sort()).toEqual(['node-a', 'node-b']);
      expect(await b.node('node-a' as NodeId)).toEqual(nodeEntry('node-a'));
      await sleep(150);
      await a.putNode({ ...nodeEntry('node-a'), peers: 7 }, 300); // a heartbeat: the TTL starts again
      await sleep(200);
      expect((await b.node('node-a' as NodeId))?.peers).toBe(7);
      await sleep(250);
      expect(await b.node('node-a' as NodeId)).toBeUndefined();
      expect((await b.nodes()).map((n) => n.id)).toEqual(['node-b']);
      await b.removeNode('node-b' as NodeId);
      expect(await a.nodes()).toEqual([]);
    });

    it('lets one node claim a stream and answers the owner to any other claim', async () => {
      handles = await open(2);
      const [a, b] = handles as [ClusterDirectory, ClusterDirectory];
      const s = '7b2f7a2e-1111-4c1e-9a3e-3f3f3f3f3f3f';
      expect(await a.claimStream(origin(s, 'node-a'), 5_000)).toEqual(origin(s, 'node-a'));
      expect(await b.claimStream(origin(s, 'node-b'), 5_000)).toEqual(origin(s, 'node-a'));
      // The owner refreshes and updates its own entry.
      expect((await a.claimStream(origin(s, 'node-a', 'reconnecting'), 5_000)).status).toBe('reconnecting');
      expect((await b.stream(s as StreamId))?.status).toBe('reconnecting');
      // Only the owner releases it; a forced claim takes it over.
      await b.releaseStream(s as StreamId, 'node-b' as NodeId);
      expect((await b.stream(s as StreamId))?.node).toBe('node-a');
      expect((await b.claimStream(origin(s, 'node-b'), 5_000, true)).node).toBe('node-b');
      await a.releaseStream(s as StreamId, 'node-a' as NodeId);
      expect((await a.stream(s as StreamId))?.node).toBe('node-b');
      await b.releaseStream(s as StreamId, 'node-b' as NodeId);
      expect(await a.stream(s as StreamId)).toBeUndefined();
    });

    it('forgets a stream whose origin stops refreshing it, so another node may claim it', async () => {
      handles = await open(2);
      const [a, b] = handles as [ClusterDirectory, ClusterDirectory];
      const s = '7b2f7a2e-2222-4c1e-9a3e-3f3f3f3f3f3f';
      await a.claimStream(origin(s, 'node-a'), 200);
      await sleep(300);
      expect(await b.stream(s as StreamId)).toBeUndefined();
      expect((await b.claimStream(origin(s, 'node-b'), 5_000)).node).toBe('node-b');
    });
  });
}
