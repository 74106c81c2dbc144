/**
 * Branded ids: a UserId cannot be passed where a StreamId is expected, even though
 * both are strings on the wire. Brand at the edge (after validation), never in the middle.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type StreamId = Brand<string, 'StreamId'>;
export type RequestId = Brand<string, 'RequestId'>;
export type TokenFamilyId = Brand<string, 'TokenFamilyId'>;
export type NodeId = Brand<string, 'NodeId'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` has the shape of the UUIDs we issue as entity ids. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export const asUserId = (value: string) => value as UserId;
export const asStreamId = (value: string) => value as StreamId;
export type RouterId = Brand<string, 'RouterId'>;
/** One WebRTC session (a WHIP publisher or a WHEP viewer); also its session URL id. */
export type PeerId = Brand<string, 'PeerId'>;
export type WorkerId = Brand<number, 'WorkerId'>;
/**
 * One transport of a media router: a WebRTC peer (a WHIP publisher or WHEP viewer: the
 * same string as its session's PeerId), a plain RTP output to a recorder, or a pipe.
 */
export type TransportId = Brand<string, 'TransportId'>;
