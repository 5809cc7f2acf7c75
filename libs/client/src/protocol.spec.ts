import type * as server from '@roomcast/contracts';
import type * as sdk from './protocol';

// The SDK states the wire types itself (it is installed without the server's code); these
// assignments fail to compile (`npx tsc -p tsconfig.json --noEmit`, in `npm run lint`) when the
// server's types drift from them: whatever the server sends must fit what the SDK reads, and
// whatever the SDK sends must fit what the server takes.
type Fits<From, To> = [From] extends [To] ? true : false;
const fits = <T extends true>(checks: T[]) => checks.length;

type Ack<E extends keyof server.ClientToServerEvents> = server.AckResultOf<E>;
type Payload<E extends keyof server.ClientToServerEvents> = Parameters<
  server.ClientToServerEvents[E]
>[0];

describe("the SDK's wire types", () => {
  it("take what the server's contract types send, and send what they take", () => {
    const checks = [
      true as Fits<server.User, sdk.User>,
      true as Fits<server.Message, sdk.Message>,
      true as Fits<server.Update, sdk.Update>,
      true as Fits<server.SessionInfo, sdk.Session>,
      true as Fits<server.SessionEnd, sdk.SessionEnd>,
      true as Fits<server.RoomRemoved, sdk.RoomRemoved>,
      true as Fits<server.PresenceNotice, sdk.PresenceNotice>,
      true as Fits<server.TypingNotice, sdk.TypingNotice>,
      true as Fits<server.ReadNotice, sdk.ReadNotice>,
      true as Fits<server.ErrorCode, sdk.ErrorCode>,
      true as Fits<Ack<'room:join'>, sdk.JoinResult>,
      true as Fits<Ack<'room:history'>, sdk.HistoryResult>,
      true as Fits<Ack<'message:send'>, sdk.SendResult>,
      true as Fits<Ack<'message:edit'>, sdk.Requests['message:edit'][1]>,
      true as Fits<Ack<'room:read'>, sdk.Requests['room:read'][1]>,
      true as Fits<Ack<'auth:refresh'>, sdk.Requests['auth:refresh'][1]>,
      true as Fits<sdk.Requests['room:join'][0], Payload<'room:join'>>,
      true as Fits<sdk.Requests['room:history'][0], Payload<'room:history'>>,
      true as Fits<sdk.Requests['message:send'][0], Payload<'message:send'>>,
      true as Fits<sdk.Requests['message:edit'][0], Payload<'message:edit'>>,
      true as Fits<sdk.Requests['message:delete'][0], Payload<'message:delete'>>,
      true as Fits<sdk.Requests['message:react'][0], Payload<'message:react'>>,
      true as Fits<sdk.Requests['room:read'][0], Payload<'room:read'>>,
      true as Fits<sdk.Requests['typing'][0], Payload<'typing'>>,
      true as Fits<sdk.Requests['auth:refresh'][0], Payload<'auth:refresh'>>,
    ];
    expect(fits(checks)).toBe(25);
  });
});
