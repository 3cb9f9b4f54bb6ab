/**
 * Room and membership actions: new DM, new room, join, leave, forget,
 * invite, tags, the user and public-room directories, room settings.
 */
import {
  EventType,
  KnownMembership,
  Preset,
  Visibility,
  type ICreateRoomOpts,
  type MatrixClient,
} from "matrix-js-sdk";
import { isExternalProfile, type ExternalUsers } from "./externals";
import { directRoomMap } from "./roomListBinder";

export interface DirectoryUser {
  userId: string;
  displayName: string | null;
  avatarMxc: string | null;
  /** An external partner (the entry's policy mark, as in their profile). */
  external: boolean;
}

export interface PublicRoom {
  roomId: string;
  name: string | null;
  topic: string | null;
  alias: string | null;
  memberCount: number;
  avatarMxc: string | null;
}

const ENCRYPTION = { type: EventType.RoomEncryption, state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

export class RoomActions {
  constructor(
    private readonly client: MatrixClient,
    private readonly externals?: ExternalUsers,
  ) {}

  /** The directory's matches; each one's external mark is remembered for the other views. */
  async searchUsers(term: string): Promise<DirectoryUser[]> {
    const { results } = await this.client.searchUserDirectory({ term, limit: 20 });
    return results
      .filter((u) => u.user_id !== this.client.getUserId())
      .map((u) => {
        const external = isExternalProfile(u);
        this.externals?.learn(u.user_id, external);
        return { userId: u.user_id, displayName: u.display_name ?? null, avatarMxc: u.avatar_url ?? null, external };
      });
  }

  /**
   * Someone typed by full user ID, as their profile says (through their own
   * server: the directory knows only this server's users); null when it does not answer.
   */
  async lookupUser(userId: string): Promise<DirectoryUser | null> {
    try {
      const profile = await this.client.getProfileInfo(userId);
      const external = isExternalProfile(profile);
      this.externals?.learn(userId, external);
      return { userId, displayName: profile.displayname || null, avatarMxc: profile.avatar_url ?? null, external };
    } catch {
      return null;
    }
  }

  /** The existing DM with this user, if we are joined or invited to one. */
  existingDm(userId: string): string | null {
    for (const [roomId, other] of directRoomMap(this.client)) {
      const membership = this.client.getRoom(roomId)?.getMyMembership();
      if (other === userId && (membership === KnownMembership.Join || membership === KnownMembership.Invite)) return roomId;
    }
    return null;
  }

  /** Start an encrypted DM and record it in m.direct. */
  async createDm(userId: string): Promise<string> {
    const existing = this.existingDm(userId);
    if (existing) return existing;
    const { room_id: roomId } = await this.client.createRoom({
      is_direct: true,
      invite: [userId],
      preset: Preset.TrustedPrivateChat,
      visibility: Visibility.Private,
      initial_state: [ENCRYPTION],
    });
    await this.markDirect(roomId, userId);
    return roomId;
  }

  async markDirect(roomId: string, userId: string): Promise<void> {
    const content = { ...((this.client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>) };
    const rooms = new Set(content[userId] ?? []);
    rooms.add(roomId);
    content[userId] = [...rooms];
    await this.client.setAccountData(EventType.Direct, content);
  }

  async createRoom(opts: { name: string; topic: string; encrypted: boolean; isPublic: boolean }): Promise<string> {
    const request: ICreateRoomOpts = {
      name: opts.name,
      preset: opts.isPublic ? Preset.PublicChat : Preset.PrivateChat,
      visibility: opts.isPublic ? Visibility.Public : Visibility.Private,
      initial_state: opts.encrypted ? [ENCRYPTION] : [],
    };
    if (opts.topic) request.topic = opts.topic;
    const { room_id: roomId } = await this.client.createRoom(request);
    return roomId;
  }

  /** Accept an invite (a DM invite goes into m.direct) or join by ID/alias. */
  async join(roomIdOrAlias: string): Promise<string> {
    const room = this.client.getRoom(roomIdOrAlias);
    const me = this.client.getUserId() ?? "";
    const invite = room?.getMember(me)?.events.member;
    const joined = await this.client.joinRoom(roomIdOrAlias);
    if (invite?.getContent().is_direct === true && invite.getSender()) {
      await this.markDirect(joined.roomId, invite.getSender()!);
    }
    return joined.roomId;
  }

  async leave(roomId: string): Promise<void> {
    await this.client.leave(roomId);
  }

  /** Decline an invite: leave, then forget so it leaves no trace. */
  async decline(roomId: string): Promise<void> {
    await this.client.leave(roomId);
    await this.forgetQuietly(roomId);
  }

  async forget(roomId: string): Promise<void> {
    const room = this.client.getRoom(roomId);
    if (room && room.getMyMembership() === KnownMembership.Join) await this.client.leave(roomId);
    await this.client.forget(roomId, true);
  }

  private async forgetQuietly(roomId: string): Promise<void> {
    try {
      await this.client.forget(roomId, true);
    } catch {
      // forgetting is a nicety after a decline
    }
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.client.invite(roomId, userId);
  }

  async setTag(roomId: string, tag: "m.favourite" | "m.lowpriority", on: boolean): Promise<void> {
    const other = tag === "m.favourite" ? "m.lowpriority" : "m.favourite";
    if (on) {
      const room = this.client.getRoom(roomId);
      if (room && other in room.tags) await this.client.deleteRoomTag(roomId, other);
      await this.client.setRoomTag(roomId, tag, { order: 0.5 });
    } else {
      await this.client.deleteRoomTag(roomId, tag);
    }
  }

  async publicRooms(filter: string, since?: string): Promise<{ rooms: PublicRoom[]; next: string | null }> {
    const response = await this.client.publicRooms({
      limit: 30,
      since,
      filter: filter ? { generic_search_term: filter } : undefined,
    });
    return {
      rooms: response.chunk.map((r) => ({
        roomId: r.room_id,
        name: r.name ?? null,
        topic: r.topic ?? null,
        alias: r.canonical_alias ?? null,
        memberCount: r.num_joined_members,
        avatarMxc: r.avatar_url ?? null,
      })),
      next: response.next_batch ?? null,
    };
  }

  async setName(roomId: string, name: string): Promise<void> {
    await this.client.setRoomName(roomId, name);
  }

  async setTopic(roomId: string, topic: string): Promise<void> {
    await this.client.setRoomTopic(roomId, topic);
  }

  async setAvatar(roomId: string, file: File): Promise<void> {
    const { content_uri: url } = await this.client.uploadContent(file, { type: file.type });
    await this.client.sendStateEvent(roomId, EventType.RoomAvatar, { url }, "");
  }

  async setPowerLevel(roomId: string, userId: string, level: number): Promise<void> {
    await this.client.setPowerLevel(roomId, userId, level);
  }

  /** Who may invite: the power level the `invite` action needs. */
  async setInviteLevel(roomId: string, level: number): Promise<void> {
    const room = this.client.getRoom(roomId);
    const current = room?.currentState.getStateEvents(EventType.RoomPowerLevels, "")?.getContent() ?? {};
    await this.client.sendStateEvent(roomId, EventType.RoomPowerLevels, { ...current, invite: level }, "");
  }
}
