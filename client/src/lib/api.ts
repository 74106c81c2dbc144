import type {
  AuthResult,
  CreateStreamBody,
  CreatedStream,
  LoginBody,
  Me,
  Page,
  PlaybackView,
  PublicProfile,
  RegisterBody,
  StreamKeyView,
  StreamView,
  UpdateMeBody,
  VodView,
} from '../../../protocol/api.ts';
import type { StreamId, UserId } from '../../../protocol/ids.ts';
import type { ChatBanView, ChatMessage, ChatSettings, ChatSettingsPatch, ChatUser, ModerationLogEntry } from '../../../protocol/signalling.ts';
import type { HttpClient } from './http.ts';

/** The account endpoints that need no access token; the session uses them. */
export function createAuthApi(http: HttpClient) {
  return {
    register: (body: RegisterBody) => http.request<AuthResult>('POST', '/auth/register', { body }),
    login: (body: LoginBody) => http.request<AuthResult>('POST', '/auth/login', { body }),
    refresh: (refreshToken: string, signal?: AbortSignal) =>
      http.request<AuthResult>('POST', '/auth/refresh', { body: { refreshToken }, ...(signal ? { signal } : {}) }),
    logout: (refreshToken: string) => http.request<void>('POST', '/auth/logout', { body: { refreshToken } }),
  };
}
export type AuthApi = ReturnType<typeof createAuthApi>;

/** Every other endpoint of docs/api.md the client uses, typed from protocol/api.ts. */
export function createGlintApi(http: HttpClient) {
  const id = encodeURIComponent;
  return {
    me: () => http.request<{ user: Me }>('GET', '/users/me', { auth: true }),
    updateMe: (body: UpdateMeBody) => http.request<{ user: Me }>('PATCH', '/users/me', { auth: true, body }),
    myStreams: () => http.request<{ items: StreamView[] }>('GET', '/users/me/streams', { auth: true }),
    profile: (userId: UserId) =>
      http.request<{ profile: PublicProfile }>('GET', `/users/${id(userId)}/profile`),

    liveStreams: (query: { limit?: number; cursor?: string | null } = {}) =>
      http.request<Page<StreamView>>('GET', '/streams/live', { query }),
    stream: (streamId: StreamId) => http.request<{ stream: StreamView }>('GET', `/streams/${id(streamId)}`),
    createStream: (body: CreateStreamBody) =>
      http.request<CreatedStream>('POST', '/streams', { auth: true, body }),
    streamKey: (streamId: StreamId) =>
      http.request<StreamKeyView>('GET', `/streams/${id(streamId)}/key`, { auth: true }),
    vods: (streamId: StreamId) => http.request<{ items: VodView[] }>('GET', `/streams/${id(streamId)}/vods`),
    playback: (streamId: StreamId) => http.request<PlaybackView>('GET', `/streams/${id(streamId)}/playback`),
    rotateStreamKey: (streamId: StreamId) =>
      http.request<StreamKeyView>('POST', `/streams/${id(streamId)}/key/rotate`, { auth: true }),

    /** Older chat messages (newest last), for scrolling up; `nextBefore` is null at the start of the chat. */
    chatMessages: (streamId: string, query: { before?: number | null; limit?: number } = {}) =>
      http.request<{ items: ChatMessage[]; nextBefore: number | null }>('GET', `/streams/${id(streamId)}/chat/messages`, {
        query,
      }),
    chatSettings: (streamId: string) =>
      http.request<{ settings: ChatSettings }>('GET', `/streams/${id(streamId)}/chat/settings`),
    /** Owner only. */
    updateChatSettings: (streamId: string, body: ChatSettingsPatch) =>
      http.request<{ settings: ChatSettings }>('PATCH', `/streams/${id(streamId)}/chat/settings`, { auth: true, body }),
    /** Owner and moderators. */
    chatModerators: (streamId: string) =>
      http.request<{ items: ChatUser[] }>('GET', `/streams/${id(streamId)}/chat/moderators`, { auth: true }),
    /** Owner only. */
    setChatModerator: (streamId: string, userId: string, moderator: boolean) =>
      http.request<void>(moderator ? 'PUT' : 'DELETE', `/streams/${id(streamId)}/chat/moderators/${id(userId)}`, {
        auth: true,
      }),
    /** Owner and moderators: bans and timeouts in force. */
    chatBans: (streamId: string) =>
      http.request<{ items: ChatBanView[] }>('GET', `/streams/${id(streamId)}/chat/bans`, { auth: true }),
    /** Owner and moderators: newest first. */
    moderationLog: (streamId: string, query: { before?: number | null; limit?: number } = {}) =>
      http.request<{ items: ModerationLogEntry[]; nextBefore: number | null }>(
        'GET',
        `/streams/${id(streamId)}/chat/moderation-log`,
        { auth: true, query },
      ),
    /** Follow (or stop following) a streamer; followers-only chats need it. */
    setFollowing: (userId: string, following: boolean) =>
      http.request<void>(following ? 'PUT' : 'DELETE', `/users/${id(userId)}/follow`, { auth: true }),
  };
}

export type GlintApi = ReturnType<typeof createGlintApi>;
