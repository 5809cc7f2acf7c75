/** Events a client emits (PROTOCOL.md, "Client to server"). */
export const ClientEvent = {
  Join: 'room:join',
  Leave: 'room:leave',
  Send: 'message:send',
  History: 'room:history',
  Members: 'room:members',
  Typing: 'typing',
  Read: 'room:read',
  Unread: 'rooms:unread',
  Edit: 'message:edit',
  Delete: 'message:delete',
  React: 'message:react',
  Reactors: 'message:reactors',
  AuthRefresh: 'auth:refresh',
} as const;
export type ClientEvent = (typeof ClientEvent)[keyof typeof ClientEvent];

/** Events the server emits to clients (PROTOCOL.md, "Server to client"). */
export const ServerEvent = {
  Message: 'message',
  Presence: 'presence',
  Typing: 'typing',
  Update: 'message:update',
  Read: 'read',
  Session: 'session',
  SessionEnd: 'session:end',
  RoomRemoved: 'room:removed',
} as const;
export type ServerEvent = (typeof ServerEvent)[keyof typeof ServerEvent];
