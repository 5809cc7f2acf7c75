export interface User {
  id: string;
  name: string;
}

export interface Message {
  id: string;
  room: string;
  seq: number;
  text: string;
  user: User;
  ts: number;
  serverId: string;
  clientId?: string;
}

export interface PresenceNotice {
  room: string;
  event: 'join' | 'leave';
  user: User;
}

export interface TypingNotice {
  room: string;
  user: User;
  typing: boolean;
}

/**
 * What travels on a room's routing key. One envelope type per room key keeps a gateway's
 * delivery path a single switch; `t` is short because every room message carries it.
 */
export type RoomEnvelope =
  /** `prev`: the seq before this one in the room's counter (0 when it started a new generation). */
  | { t: 'message'; message: Message; prev?: number }
  | { t: 'presence'; presence: PresenceNotice }
  | { t: 'typing'; typing: TypingNotice }
  /**
   * Several envelopes of one room published by one gateway in the same event-loop turn, as one
   * broker message, in the order they were published (receivers' sequencers put messages in seq
   * order as for separate ones).
   */
  | { t: 'batch'; room: string; items: RoomEnvelope[] };
