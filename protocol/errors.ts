/**
 * The error catalogue: every code the API can answer with, its HTTP status and what it
 * means. Codes are a stable contract (clients branch on them); messages may change.
 * docs/api.md lists the same table; a test keeps the two in step.
 */
export const ERRORS = {
  // Request shape
  INVALID_JSON: { status: 400, description: 'The body is not valid JSON.' },
  VALIDATION_FAILED: { status: 400, description: 'A field is missing, unknown, or of the wrong type or size; `details` lists each problem.' },
  INVALID_QUERY: { status: 400, description: 'A query parameter is malformed.' },
  BODY_TOO_LARGE: { status: 413, description: 'The body is larger than the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The Content-Type is not one this route accepts.' },
  ROUTE_NOT_FOUND: { status: 404, description: 'No route has this path.' },
  METHOD_NOT_ALLOWED: { status: 405, description: 'The path exists but not with this method; `Allow` lists the methods.' },

  // Accounts and auth
  WEAK_PASSWORD: { status: 400, description: 'The password is too short, too common, or contains the username or email.' },
  USERNAME_TAKEN: { status: 409, description: 'Another account already uses this username (case-insensitive).' },
  EMAIL_TAKEN: { status: 409, description: 'Another account already uses this email address.' },
  INVALID_CREDENTIALS: { status: 401, description: 'Unknown login or wrong password (the same answer for both).' },
  TOO_MANY_ATTEMPTS: { status: 429, description: 'Too many failed logins for this account or address; `Retry-After` says when to try again.' },
  UNAUTHENTICATED: { status: 401, description: 'The route needs `Authorization: Bearer <access token>`.' },
  TOKEN_EXPIRED: { status: 401, description: 'The access token has expired; refresh it.' },
  TOKEN_INVALID: { status: 401, description: 'The access token is malformed, tampered with, or not an access token.' },
  REFRESH_TOKEN_INVALID: { status: 401, description: 'The refresh token is unknown, expired or revoked.' },
  REFRESH_TOKEN_REUSED: { status: 401, description: 'An already-used refresh token was presented; every token of its session was revoked.' },
  USER_NOT_FOUND: { status: 404, description: 'No user has this id.' },

  // Streams
  STREAM_NOT_FOUND: { status: 404, description: 'No stream has this id.' },
  NOT_STREAM_OWNER: { status: 403, description: 'Only the owner of the stream may do this.' },
  NOT_A_MODERATOR: { status: 403, description: 'Only the streamer and the channel\'s moderators may do this.' },
  UPGRADE_REQUIRED: { status: 426, description: 'The path is a WebSocket endpoint; connect with a WebSocket client.' },

  // Media sessions (WHIP / WHEP)
  STREAM_KEY_INVALID: { status: 401, description: 'WHIP needs `Authorization: Bearer <stream key>`: the current key of a stream to publish, the key a session was opened with on its session URL.' },
  SDP_MALFORMED: { status: 400, description: 'The SDP offer cannot be parsed; the message says which line or attribute.' },
  SDP_UNSUPPORTED: { status: 422, description: 'The offer is valid SDP but asks for something Glint does not do (codec, direction, simulcast, unbundled media); the message says what.' },
  STREAM_ALREADY_PUBLISHING: { status: 409, description: 'Another encoder is publishing this stream right now.' },
  STREAM_NOT_LIVE: { status: 409, description: 'Nothing is being published on this stream yet; `Retry-After` says when to try again.' },
  SESSION_NOT_FOUND: { status: 404, description: 'No WHIP/WHEP session has this URL (it ended, or never existed).' },
  ICE_RESTART_UNSUPPORTED: { status: 422, description: 'ICE restarts are not supported: start a new session (POST again).' },
  PRECONDITION_FAILED: { status: 412, description: '`If-Match` does not match the session\'s current ETag.' },
  MEDIA_UNAVAILABLE: { status: 503, description: 'No media worker can take the session now (starting, restarting or full); `Retry-After` says when to try again.' },
  WEBRTC_FULL: { status: 503, description: 'Every media worker that could take this viewer is full: `error.hls.url` names the stream\'s LL-HLS playlist to watch meanwhile (null when it is not recorded); `Retry-After` says when to try WebRTC again.' },
  MEDIA_NOT_FOUND: { status: 404, description: 'No HLS playlist, segment or recording has this URL (the stream was never recorded, or the file expired).' },

  // Between the nodes of a cluster (internal routes)
  CLUSTER_AUTH_REQUIRED: { status: 401, description: 'An internal route between nodes was called without a cluster signature (user tokens and stream keys do not open these).' },
  CLUSTER_AUTH_INVALID: { status: 401, description: 'The cluster signature is wrong or stale: another CLUSTER_SECRET, or clocks more than 30 s apart.' },
  CLUSTER_NODE_UNKNOWN: { status: 403, description: 'The signing node is not a live node of the cluster directory.' },
  CLUSTER_UNAVAILABLE: { status: 503, description: 'The cluster directory (Redis) or the node holding the stream cannot be reached now; `Retry-After` says when to try again. Sessions already open keep their media.' },

  // Server side
  RATE_LIMITED: { status: 429, description: 'Too many requests; `Retry-After` says when to try again.' },
  SERVICE_UNAVAILABLE: { status: 503, description: 'The server is starting, draining or a dependency is down; retry later.' },
  INTERNAL: { status: 500, description: 'An unexpected error; it was logged with the request id. Never caused by client input.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** One problem with one field of a request, as listed in `error.details`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The body of every error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details?: FieldIssue[];
    requestId?: string;
    /** WEBRTC_FULL: where to watch instead. */
    hls?: { url: string } | null;
  };
}
