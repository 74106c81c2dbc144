import { computed } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import type { StreamView } from '../../../protocol/api.ts';
import { createChat, type Chat } from '../state/create-chat.ts';
import { chatSocketUrl } from './chat-protocol.ts';
import { useModel } from './use-model.ts';
import { useServices } from './use-services.ts';

/** The live chat of a stream for as long as the calling page shows it (one socket per page). */
export function useChat(stream: Pick<StreamView, 'id' | 'userId'>): Chat {
  const { api, session, media, WebSocket } = useServices();
  const userId = useMemo(() => computed(() => session.user.value?.id ?? null), [session]);
  const chat = useModel(
    () =>
      createChat({
        streamId: stream.id,
        streamerId: stream.userId,
        url: chatSocketUrl(media.origin, stream.id),
        WebSocket,
        tokens: session.tokens,
        userId,
        api,
      }),
    [api, session, media, WebSocket, userId, stream.id, stream.userId],
  );
  useEffect(() => chat.start(), [chat]);
  return chat;
}
