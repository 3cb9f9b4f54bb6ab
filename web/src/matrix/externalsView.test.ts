// @vitest-environment jsdom
import { createClient, Direction, EventType, MatrixEvent, PendingEventOrdering, Room } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { ExternalUsers } from "./externals";
import { RoomViewModel } from "./roomView";

const ME = "@agnes:agents.example";
const JEANNE = "@jeanne:partenaires.example";
const BOB = "@bob:agents.example";
const ROOM = "!dossier:agents.example";
let counter = 0;

function event(type: string, sender: string, content: Record<string, unknown>, stateKey?: string): MatrixEvent {
  counter += 1;
  return new MatrixEvent({
    type,
    sender,
    content,
    event_id: `$e${counter}`,
    origin_server_ts: 1_700_000_000_000 + counter * 1000,
    room_id: ROOM,
    ...(stateKey === undefined ? {} : { state_key: stateKey }),
  });
}

const join = (userId: string, name: string) => event(EventType.RoomMember, userId, { membership: "join", displayname: name }, userId);

/** A room of real SDK objects, no server; `direct` lists it in our m.direct with Jeanne. */
function openRoom(members: MatrixEvent[], direct = false) {
  const client = createClient({ baseUrl: "http://hs.invalid", userId: ME, deviceId: "DEV" });
  if (direct) client.store.storeAccountDataEvents([new MatrixEvent({ type: EventType.Direct, content: { [JEANNE]: [ROOM] } })]);
  const room = new Room(ROOM, client, ME, { pendingEventOrdering: PendingEventOrdering.Detached });
  const state = [event(EventType.RoomCreate, ME, {}, ""), ...members];
  room.currentState.setStateEvents(state);
  room.getLiveTimeline().getState(Direction.Forward)?.setStateEvents(state);
  void room.addLiveEvents([event(EventType.RoomMessage, JEANNE, { msgtype: "m.text", body: "Bonjour" }), event(EventType.RoomMessage, BOB, { msgtype: "m.text", body: "Salut" })], {
    addToState: false,
  });
  room.updateMyMembership("join");
  room.recalculate();
  const asked: string[] = [];
  const externals = new ExternalUsers(async (userId) => {
    asked.push(userId);
    return userId === JEANNE ? { displayname: "Jeanne", policy: { external: true } } : { displayname: "Agnès" };
  }, ME);
  return { vm: new RoomViewModel(client, room, null, externals), asked };
}

/** The view model redraws on the next frame once answers are in. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("external partners in the open room's view state", () => {
  it("marks an external sender once her profile answers, asking once per person", async () => {
    const { vm, asked } = openRoom([join(ME, "Agnès"), join(JEANNE, "Jeanne"), join(BOB, "Bob")]);
    expect(vm.events.get().find((e) => e.body === "Bonjour")?.sender.external).toBeUndefined();
    await settle();
    const senders = Object.fromEntries(vm.events.get().filter((e) => e.kind === "message").map((e) => [e.body, e.sender.external ?? false]));
    expect(senders).toEqual({ Bonjour: true, Salut: false });
    expect(asked.sort()).toEqual([ME, JEANNE].sort());
    vm.dispose();
  });

  it("marks the external members, and the header of a DM with an external partner", async () => {
    const { vm } = openRoom([join(ME, "Agnès"), join(JEANNE, "Jeanne")], true);
    await settle();
    expect(vm.info.get()).toMatchObject({ isDirect: true, partnerExternal: true });
    const members = await vm.members();
    expect(members.map((m) => [m.name, m.external ?? false])).toEqual([
      ["Agnès", false],
      ["Jeanne", true],
    ]);
    vm.dispose();
  });

  it("leaves a room with no DM partner unmarked", async () => {
    const { vm } = openRoom([join(ME, "Agnès"), join(JEANNE, "Jeanne"), join(BOB, "Bob")]);
    await settle();
    expect(vm.info.get()).toMatchObject({ isDirect: false, partnerExternal: false });
    vm.dispose();
  });
});
