/**
 * HTTP pieces shared by WHIP and WHEP (RFC 9725, draft-ietf-wish-whep): ICE server Link
 * headers, the 201 answer, DELETE and PATCH on session URLs.
 */
import type { Reply, RequestContext, HttpRouter } from '../http/http-router.ts';
import { bearerToken } from '../http/bearer.ts';
import type { MediaService, Session, SessionKind } from './media-service.ts';
import type { IceServer } from './ice-servers.ts';

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** `Link: <turn:...>; rel="ice-server"; username=...; credential=...` (RFC 9725 4.6). */
export function iceServerLinks(servers: IceServer[]): string[] {
  return servers.map((s) => {
    let link = `<${s.urls}>; rel="ice-server"`;
    if (s.username !== undefined) link += `; username=${quote(s.username)}`;
    if (s.credential !== undefined) link += `; credential=${quote(s.credential)}; credential-type="password"`;
    return link;
  });
}

export function sdpAnswerReply(session: Session, answer: string, links: string[]): Reply {
  const headers: Record<string, string> = {
    'Content-Type': 'application/sdp',
    Location: `/${session.kind}/sessions/${session.id}`,
    ETag: session.etag,
    'Cache-Control': 'no-store',
  };
  if (links.length > 0) headers.Link = links.join(', ');
  return { status: 201, body: answer, headers };
}

/** 204 with what POST accepts, and the ICE servers for clients that ask before their offer (RFC 9725 4.6). */
export function optionsReply(methods: string, links: string[]): Reply {
  const reply: Reply = {
    status: 204,
    headers: {
      Allow: methods,
      'Accept-Post': 'application/sdp',
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
      'Access-Control-Max-Age': '600',
      'Cache-Control': 'no-store',
    },
  };
  if (links.length > 0) reply.headers!.Link = links.join(', ');
  return reply;
}

/** Reads the SDP body (Content-Type is already checked by the route's `accepts`). */
export function sdpBody(ctx: RequestContext): string {
  return ctx.body.toString('utf8');
}

/**
 * DELETE and PATCH on `/<kind>/sessions/:id`. WHIP session URLs need the stream key as the
 * POST did (RFC 9725 clients send it on both); WHEP session URLs are capability URLs.
 */
export function registerSessionRoutes(router: HttpRouter, kind: SessionKind, media: MediaService): void {
  router.delete(`/${kind}/sessions/:id`, async (ctx) => {
    await media.end(ctx.params.id!, kind, bearerToken(ctx.headers.authorization));
    return { status: 200, body: '', headers: { 'Content-Type': 'text/plain' } };
  });
  router.patch(
    `/${kind}/sessions/:id`,
    async (ctx) => {
      await media.trickle(ctx.params.id!, kind, ctx.body.toString('utf8'), ctx.headers['if-match'], bearerToken(ctx.headers.authorization));
      return { status: 204 };
    },
    { accepts: ['application/trickle-ice-sdpfrag'] },
  );
}
