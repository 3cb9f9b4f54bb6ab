import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { GroupCallManager, MAX_GROUP_CALL_PARTICIPANTS } from "./groupCalls";

const ME = "@carla:hs";
const MY_DEVICE = "CARLA1";

function member(userId: string) {
  return { userId, name: userId.slice(1, userId.indexOf(":")), getMxcAvatarUrl: () => undefined };
}

function fakeRoom() {
  return {
    roomId: "!team:hs",
    name: "Équipe",
    getMember: (userId: string) => member(userId),
    getMyMembership: () => "join",
    currentState: { maySendStateEvent: () => true },
  };
}

/** Just what GroupCallManager reads of a GroupCall. */
class FakeGroupCall extends EventEmitter {
  state = "entered";
  type = "m.video";
  userMediaFeeds = [];
  participants = new Map<ReturnType<typeof member>, Map<string, { sessionId: string; screensharing: boolean }>>();
  leave = vi.fn();
  terminate = vi.fn(async () => {
    this.state = "ended";
  });
  enter = vi.fn(async () => {
    this.add(ME, MY_DEVICE);
  });
  constructor(readonly room: ReturnType<typeof fakeRoom>) {
    super();
  }
  add(userId: string, deviceId: string) {
    const existing = [...this.participants.keys()].find((m) => m.userId === userId) ?? member(userId);
    const devices = this.participants.get(existing) ?? new Map();
    devices.set(deviceId, { sessionId: "s", screensharing: false });
    this.participants.set(existing, devices);
  }
  hasLocalParticipant() {
    return [...this.participants.keys()].some((m) => m.userId === ME);
  }
  isMicrophoneMuted() {
    return false;
  }
  isLocalVideoMuted() {
    return false;
  }
}

function setup(existing?: (call: FakeGroupCall) => void) {
  const room = fakeRoom();
  const groupCalls = new Map<string, FakeGroupCall>();
  const client = new EventEmitter() as EventEmitter & Record<string, unknown>;
  const created = new FakeGroupCall(room);
  if (existing) {
    existing(created);
    groupCalls.set(room.roomId, created);
  }
  Object.assign(client, {
    getRoom: () => room,
    getUserId: () => ME,
    getDeviceId: () => MY_DEVICE,
    supportsVoip: () => true,
    groupCallEventHandler: { groupCalls },
    waitUntilRoomReadyForGroupCalls: async () => undefined,
    getGroupCallForRoom: () => groupCalls.get(room.roomId) ?? null,
    createGroupCall: vi.fn(async () => {
      groupCalls.set(room.roomId, created);
      return created;
    }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const manager = new GroupCallManager(client as any);
  return { client, manager, call: created, room };
}

describe("GroupCallManager", () => {
  it("starts a call when the room has none and shows who is in it", async () => {
    const { client, manager, call, room } = setup();
    await manager.join(room.roomId);
    expect(client.createGroupCall).toHaveBeenCalledOnce();
    expect(call.enter).toHaveBeenCalledOnce();
    expect(manager.current.get()).toMatchObject({ roomId: room.roomId, joining: false, participants: [{ userId: ME }] });
    expect(manager.rooms.get().get(room.roomId)?.participants.map((p) => p.userId)).toEqual([ME]);
  });

  it("joins the room's ongoing call instead of starting another", async () => {
    const { client, manager, call, room } = setup((c) => c.add("@dan:hs", "DAN1"));
    expect(manager.rooms.get().get(room.roomId)?.participants.map((p) => p.name)).toEqual(["dan"]);
    await manager.join(room.roomId);
    expect(client.createGroupCall).not.toHaveBeenCalled();
    expect(call.enter).toHaveBeenCalledOnce();
  });

  it("refuses a seventh participant", async () => {
    const { manager, call, room } = setup((c) => {
      for (let i = 0; i < MAX_GROUP_CALL_PARTICIPANTS; i++) c.add(`@p${i}:hs`, `D${i}`);
    });
    expect(manager.canStart(room.roomId)).toBe(false);
    await manager.join(room.roomId);
    expect(call.enter).not.toHaveBeenCalled();
    expect(manager.current.get()).toBeNull();
  });

  it("leaves a call others are still in, and ends it when leaving last", async () => {
    const busy = setup((c) => c.add("@dan:hs", "DAN1"));
    await busy.manager.join(busy.room.roomId);
    await busy.manager.leave();
    expect(busy.call.leave).toHaveBeenCalledOnce();
    expect(busy.call.terminate).not.toHaveBeenCalled();

    const alone = setup();
    await alone.manager.join(alone.room.roomId);
    await alone.manager.leave();
    expect(alone.call.terminate).toHaveBeenCalledOnce();
    expect(alone.manager.current.get()).toBeNull();
  });
});
