import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { CallManager, endReasonOf } from "./calls";

describe("endReasonOf", () => {
  it("reads the spec's hangup reasons", () => {
    expect(endReasonOf("invite_timeout", "local", false, "outbound")).toBe("no_answer");
    expect(endReasonOf("ice_failed", "remote", true, "inbound")).toBe("connection_lost");
    expect(endReasonOf("ice_timeout", "local", true, "outbound")).toBe("connection_lost");
    expect(endReasonOf("user_busy", "remote", false, "outbound")).toBe("busy");
    expect(endReasonOf("answered_elsewhere", "remote", false, "inbound")).toBe("answered_elsewhere");
    expect(endReasonOf("no_user_media", "local", false, "outbound")).toBe("no_media");
  });

  it("tells our own hang-up from the other side's, and an unanswered one from a decline", () => {
    expect(endReasonOf("user_hangup", "local", true, "outbound")).toBe("hangup");
    expect(endReasonOf("user_hangup", "remote", true, "outbound")).toBe("remote_hangup");
    expect(endReasonOf(undefined, "remote", false, "outbound")).toBe("declined");
    expect(endReasonOf("user_hangup", "remote", false, "inbound")).toBe("remote_hangup");
  });

  it("calls anything else a failure", () => {
    expect(endReasonOf("something_new", "remote", true, "inbound")).toBe("failed");
  });
});

/** Just what CallManager reads of a MatrixCall. */
class FakeCall extends EventEmitter {
  callId = "c1";
  roomId = "!room:hs";
  groupCallId: string | undefined = undefined;
  type = "video";
  hangupParty: string | undefined = undefined;
  hangupReason: string | undefined = undefined;
  invitee: string | undefined = undefined;
  hangup = vi.fn();
  constructor(public state: string) {
    super();
  }
  getOpponentMember() {
    return { userId: "@bob:hs" };
  }
  getFeeds() {
    return [];
  }
  isMicrophoneMuted() {
    return false;
  }
  isLocalVideoMuted() {
    return false;
  }
  isScreensharing() {
    return false;
  }
}

function fakeClient() {
  const client = new EventEmitter() as EventEmitter & Record<string, unknown>;
  client.getRoom = () => null;
  client.getUserId = () => "@alice:hs";
  client.supportsVoip = () => true;
  return client;
}

function manager() {
  const client = fakeClient();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const calls = new CallManager(client as any);
  return { client, calls };
}

describe("CallManager incoming calls", () => {
  it("shows a ringing call with who calls and how", () => {
    const { client, calls } = manager();
    client.emit("Call.incoming", new FakeCall("ringing"));
    expect(calls.call.get()).toMatchObject({ callId: "c1", phase: "incoming", media: "video", direction: "inbound", peer: { userId: "@bob:hs" } });
  });

  it("ignores invites the SDK could not parse (they never ring)", () => {
    const { client, calls } = manager();
    client.emit("Call.incoming", new FakeCall("ended"));
    client.emit("Call.incoming", new FakeCall("fledgling"));
    expect(calls.call.get()).toBeNull();
  });

  it("leaves group call legs to the group call", () => {
    const { client, calls } = manager();
    const leg = new FakeCall("ringing");
    leg.groupCallId = "g1";
    client.emit("Call.incoming", leg);
    expect(calls.call.get()).toBeNull();
    expect(leg.hangup).not.toHaveBeenCalled();
  });

  it("answers a second caller busy while a call is on", () => {
    const { client, calls } = manager();
    client.emit("Call.incoming", new FakeCall("ringing"));
    const second = new FakeCall("ringing");
    second.callId = "c2";
    client.emit("Call.incoming", second);
    expect(second.hangup).toHaveBeenCalledWith("user_busy", false);
    expect(calls.call.get()?.callId).toBe("c1");
  });

  it("follows the call's state and says why it ended", () => {
    const { client, calls } = manager();
    const call = new FakeCall("ringing");
    client.emit("Call.incoming", call);
    call.state = "ended";
    call.hangupParty = "remote";
    call.hangupReason = "answered_elsewhere";
    call.emit("state", "ended", "ringing", call);
    expect(calls.call.get()).toMatchObject({ phase: "ended", endReason: "answered_elsewhere" });
    calls.dismiss();
    expect(calls.call.get()).toBeNull();
  });
});
