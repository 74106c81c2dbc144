/**
 * WHIP ingest (RFC 9725): `POST /whip` with the stream key as Bearer token and an SDP offer;
 * 201 + answer + Location of the session; DELETE ends the broadcast.
 */
import { AppError } from '../errors.ts';
import { bearerToken } from '../http/bearer.ts';
import type { HttpRouter } from '../http/http-router.ts';
import type { MediaService } from '../media/media-service.ts';
import { iceServerLinks, optionsReply, registerSessionRoutes, sdpAnswerReply, sdpBody } from '../media/session-http.ts';
import type { IceServers } from '../media/ice-servers.ts';

export function registerWhipRoutes(router: HttpRouter, media: MediaService, iceServers: IceServers): void {
  router.add('OPTIONS', '/whip', () => optionsReply('POST, OPTIONS', iceServerLinks(iceServers.forClient())));
  router.post(
    '/whip',
    async (ctx) => {
      const streamKey = bearerToken(ctx.headers.authorization);
      if (!streamKey) {
        throw new AppError('STREAM_KEY_INVALID', 'WHIP needs the stream key as a Bearer token (Authorization: Bearer <stream key>; OBS: "Bearer Token").', {
          headers: { 'WWW-Authenticate': 'Bearer realm="glint-whip"' },
        });
      }
      const replaces = ctx.query.get('replaces') ?? undefined;
      const { session, answer } = await media.publish(streamKey, sdpBody(ctx), replaces);
      return sdpAnswerReply(session, answer, iceServerLinks(iceServers.forClient()));
    },
    { accepts: ['application/sdp'] },
  );
  registerSessionRoutes(router, 'whip', media);
}
