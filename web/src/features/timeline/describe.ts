import type { TimelineEvent } from "../../matrix/timeline";

/** A state event as an i18n key and its variables (translated by the tile). */
export interface Description {
  key: string;
  vars: Record<string, string>;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function describeState(event: TimelineEvent): Description {
  const c = event.content;
  const prev = (c.prev_content ?? {}) as Record<string, unknown>;
  const sender = event.sender.name;
  const target = str(c.displayname) || str(prev.displayname) || str(c.state_key);
  switch (c.type) {
    case "m.room.member": {
      const membership = str(c.membership);
      const before = str(prev.membership);
      if (membership === "join" && before === "join") {
        if (str(c.displayname) !== str(prev.displayname)) {
          return { key: "timeline.state.renamedSelf", vars: { old: str(prev.displayname) || str(c.state_key), name: target } };
        }
        return { key: "timeline.state.changedAvatar", vars: { sender } };
      }
      if (membership === "join") return { key: "timeline.state.joined", vars: { sender: target } };
      if (membership === "invite") return { key: "timeline.state.invited", vars: { sender, target } };
      if (membership === "ban") return { key: "timeline.state.banned", vars: { sender, target } };
      if (membership === "leave") {
        if (event.sender.userId !== c.state_key) return { key: "timeline.state.removed", vars: { sender, target } };
        if (before === "invite") return { key: "timeline.state.declined", vars: { sender: target } };
        return { key: "timeline.state.left", vars: { sender: target } };
      }
      return { key: "timeline.state.other", vars: { sender } };
    }
    case "m.room.name":
      return str(c.name)
        ? { key: "timeline.state.roomName", vars: { sender, name: str(c.name) } }
        : { key: "timeline.state.roomNameRemoved", vars: { sender } };
    case "m.room.topic":
      return { key: "timeline.state.topic", vars: { sender, topic: str(c.topic) } };
    case "m.room.avatar":
      return { key: "timeline.state.roomAvatar", vars: { sender } };
    case "m.room.encryption":
      return { key: "timeline.state.encryption", vars: { sender } };
    case "m.room.create":
      return { key: "timeline.state.created", vars: { sender } };
    default:
      return { key: "timeline.state.other", vars: { sender } };
  }
}
