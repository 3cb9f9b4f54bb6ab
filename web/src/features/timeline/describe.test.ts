import { describe, expect, it } from "vitest";
import fr from "../../i18n/fr.json";
import type { TimelineEvent } from "../../matrix/timeline";
import { describeState } from "./describe";

function state(type: string, content: Record<string, unknown>, prev: Record<string, unknown> = {}, sender = "@a:hs", stateKey = "@a:hs"): TimelineEvent {
  return {
    id: "$e",
    eventId: "$e",
    sender: { userId: sender, name: sender === "@a:hs" ? "Alice" : "Bob", avatarMxc: null },
    ts: 0,
    kind: type === "m.room.member" ? "membership" : "state",
    body: "",
    html: null,
    edited: false,
    replyTo: null,
    reactions: [],
    thread: null,
    sendState: "sent",
    readBy: [],
    mentionsMe: false,
    mine: false,
    decryptionError: null,
    content: { ...content, type, state_key: stateKey, prev_content: prev },
  };
}

describe("state event descriptions", () => {
  it("tells joins, invitations, departures, declines and removals apart", () => {
    expect(describeState(state("m.room.member", { membership: "join", displayname: "Alice" }))).toEqual({
      key: "timeline.state.joined",
      vars: { sender: "Alice" },
    });
    expect(describeState(state("m.room.member", { membership: "invite", displayname: "Carole" }, {}, "@a:hs", "@c:hs")).key).toBe(
      "timeline.state.invited",
    );
    expect(describeState(state("m.room.member", { membership: "leave" }, { membership: "join" })).key).toBe("timeline.state.left");
    expect(describeState(state("m.room.member", { membership: "leave" }, { membership: "invite" })).key).toBe("timeline.state.declined");
    expect(describeState(state("m.room.member", { membership: "leave" }, { membership: "join" }, "@b:hs", "@a:hs")).key).toBe(
      "timeline.state.removed",
    );
  });
  it("reports a display-name change rather than a second join", () => {
    expect(
      describeState(state("m.room.member", { membership: "join", displayname: "Alice M." }, { membership: "join", displayname: "Alice" })),
    ).toEqual({ key: "timeline.state.renamedSelf", vars: { old: "Alice", name: "Alice M." } });
  });
  it("describes room name, topic and encryption", () => {
    expect(describeState(state("m.room.name", { name: "Projet" }, {}, "@a:hs", "")).vars.name).toBe("Projet");
    expect(describeState(state("m.room.topic", { topic: "Suivi" }, {}, "@a:hs", "")).key).toBe("timeline.state.topic");
    expect(describeState(state("m.room.encryption", { algorithm: "m.megolm.v1.aes-sha2" }, {}, "@a:hs", "")).key).toBe(
      "timeline.state.encryption",
    );
  });
});

describe("state description keys", () => {
  it("all exist in the French catalogue", () => {
    const cases = [
      state("m.room.member", { membership: "ban" }, {}, "@a:hs", "@c:hs"),
      state("m.room.member", { membership: "knock" }),
      state("m.room.member", { membership: "join", avatar_url: "mxc://x/y" }, { membership: "join" }),
      state("m.room.name", {}, {}, "@a:hs", ""),
      state("m.room.avatar", {}, {}, "@a:hs", ""),
      state("m.room.create", {}, {}, "@a:hs", ""),
      state("m.room.join_rules", {}, {}, "@a:hs", ""),
    ];
    const states = (fr as { timeline: { state: Record<string, string> } }).timeline.state;
    for (const c of cases) {
      const key = describeState(c).key;
      expect(key.startsWith("timeline.state.")).toBe(true);
      expect(states[key.slice("timeline.state.".length)]).toBeTruthy();
    }
  });
});
