import type {
  AuthResult,
  CreateStreamBody,
  CreatedStream,
  LoginBody,
  Me,
  Page,
  PublicProfile,
  RegisterBody,
  StreamKeyView,
  StreamView,
  UpdateMeBody,
} from '../../../protocol/api.ts';
import type { StreamId, UserId } from '../../../protocol/ids.ts';
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
    rotateStreamKey: (streamId: StreamId) =>
      http.request<StreamKeyView>('POST', `/streams/${id(streamId)}/key/rotate`, { auth: true }),
  };
}
export type GlintApi = ReturnType<typeof createGlintApi>;
