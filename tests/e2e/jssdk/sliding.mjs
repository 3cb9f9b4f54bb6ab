// Commands for a client that syncs with Simplified Sliding Sync (MSC4186) through
// matrix-js-sdk's SlidingSync, as Element Web's labs does: one list "all" over
// every room, and the SDK's own extensions (to_device, e2ee, account_data,
// typing, receipts) registered by `startClient({ slidingSync })`.
import {
  MSC3575_STATE_KEY_LAZY,
  MSC3575_STATE_KEY_ME,
  MSC3575_WILDCARD,
  SlidingSync,
  SlidingSyncEvent,
} from "matrix-js-sdk/lib/sliding-sync.js";

import { WAIT_MS, clients, describe, get, sdk, until } from "./support.mjs";

export const LIST = "all";
// The long-poll timeout: short, so that stopping a client does not wait long.
const POLL_MS = 5000;

/** What the room list shows of each room: Element's labs ask for about this. */
const ROOM_LIST_STATE = [
  [sdk.EventType.RoomName, ""],
  [sdk.EventType.RoomEncryption, ""],
  [sdk.EventType.RoomCreate, ""],
  [sdk.EventType.RoomJoinRules, ""],
  [sdk.EventType.RoomAvatar, ""],
  [sdk.EventType.RoomCanonicalAlias, ""],
  [sdk.EventType.RoomTombstone, ""],
  [sdk.EventType.RoomMember, MSC3575_STATE_KEY_ME],
  [sdk.EventType.RoomMember, MSC3575_STATE_KEY_LAZY],
];

/** A room opened in the client: all its state, lazy members. */
const ROOM_SUBSCRIPTION = {
  timeline_limit: 50,
  required_state: [
    [MSC3575_WILDCARD, MSC3575_WILDCARD],
    [sdk.EventType.RoomMember, MSC3575_STATE_KEY_ME],
    [sdk.EventType.RoomMember, MSC3575_STATE_KEY_LAZY],
  ],
};

function firstSync(client) {
  return new Promise((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (state, _previous, data) => {
      if (state === sdk.SyncState.Prepared) resolve();
      if (state === sdk.SyncState.Error) reject(data?.error ?? new Error("sync failed"));
    });
  });
}

/** The rooms the list holds, most recent first, as a client sorting by bump_stamp shows them. */
function roomList(entry) {
  const { client } = entry;
  const rooms = client
    .getRooms()
    .filter((room) => ["join", "invite", "knock"].includes(room.getMyMembership()))
    .map((room) => ({
      roomId: room.roomId,
      name: room.name,
      membership: room.getMyMembership(),
      bumpStamp: room.getBumpStamp() ?? null,
      unread: room.getUnreadNotificationCount(sdk.NotificationCountType.Total),
      highlights: room.getUnreadNotificationCount(sdk.NotificationCountType.Highlight),
      serverCount: entry.counts.get(room.roomId) ?? null,
    }));
  // Element's recency order; ties (never bumped) by room ID so the order is stable.
  rooms.sort((a, b) => (b.bumpStamp ?? 0) - (a.bumpStamp ?? 0) || a.roomId.localeCompare(b.roomId));
  return rooms;
}

export const slidingCommands = {
  /** m.login.password as a new device, Rust crypto in memory, synced by SlidingSync. */
  async slidingLogin({
    name, baseUrl, userId, password, deviceName, timelineLimit = 10, lastIndex = 50,
  }) {
    const anonymous = sdk.createClient({ baseUrl });
    const login = await anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: userId },
      password,
      initial_device_display_name: deviceName ?? name,
    });
    const client = sdk.createClient({
      baseUrl,
      userId: login.user_id,
      deviceId: login.device_id,
      accessToken: login.access_token,
    });
    const lists = new Map([
      [
        LIST,
        { ranges: [[0, lastIndex]], timeline_limit: timelineLimit, required_state: ROOM_LIST_STATE },
      ],
    ]);
    const slidingSync = new SlidingSync(baseUrl, lists, ROOM_SUBSCRIPTION, client, POLL_MS);
    // The counts exactly as the server last sent them, per room (the SDK may adjust its own).
    const entry = { client, password, slidingSync, counts: new Map(), responses: 0, errors: [] };
    slidingSync.on(SlidingSyncEvent.RoomData, (roomId, data) => {
      if (data.notification_count != null) entry.counts.set(roomId, data.notification_count);
    });
    slidingSync.on(SlidingSyncEvent.Lifecycle, (_state, response, error) => {
      if (response) entry.responses += 1;
      if (error) entry.errors.push(error.errcode ?? error.name ?? String(error));
    });
    clients.set(name, entry);
    await client.initRustCrypto({ useIndexedDB: false });
    const synced = firstSync(client);
    await client.startClient({ slidingSync });
    await synced;
    return { userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token };
  },

  /** The list as the client sees it now: the server's count and the rooms, most recent first. */
  roomList({ name }) {
    const entry = get(name);
    return { count: entry.slidingSync.getListData(LIST)?.joinedCount ?? null, rooms: roomList(entry) };
  },

  /** Until the list's room IDs start with `order` (and it holds `count` rooms, when given). */
  async waitForRoomOrder({ name, order, count = null, timeoutMs = WAIT_MS }) {
    const entry = get(name);
    let last = null;
    return await until(
      () => {
        last = slidingCommands.roomList({ name });
        const ids = last.rooms.map((room) => room.roomId);
        const matches = order.every((roomId, i) => ids[i] === roomId);
        return matches && (count === null || last.count === count) ? last : null;
      },
      `${name}'s room list to start with ${JSON.stringify(order)}`,
      timeoutMs,
      () => `Last: ${JSON.stringify(last)}`,
    );
  },

  /** Until the room's unread notification count is `count`, in the SDK and as the server sent it. */
  async waitForUnread({ name, roomId, count, timeoutMs = WAIT_MS }) {
    const entry = get(name);
    let last = null;
    return await until(
      () => {
        last = roomList(entry).find((room) => room.roomId === roomId) ?? null;
        return last && last.unread === count && last.serverCount === count ? last : null;
      },
      `${count} unread in ${roomId} at ${name}`,
      timeoutMs,
      () => `Last: ${JSON.stringify(last)}`,
    );
  },

  /** Sends a read receipt (and fully-read marker) for the room's latest event. */
  async readUpTo({ name, roomId, eventId }) {
    const { client } = get(name);
    const room = client.getRoom(roomId);
    const event = room?.findEventById(eventId);
    if (!event) throw new Error(`${eventId} is not in ${name}'s timeline of ${roomId}`);
    await client.sendReadReceipt(event, sdk.ReceiptType.Read);
    return true;
  },

  /** The messages of the room's live timeline, decrypted when keys have arrived. */
  roomMessages({ name, roomId }) {
    const room = get(name).client.getRoom(roomId);
    const events = room ? room.getLiveTimeline().getEvents() : [];
    return events
      .filter((e) => ["m.room.message", "m.room.encrypted"].includes(e.getType()))
      .map(describe);
  },

  /** Leaves the room (or rejects its invite). */
  async leaveRoom({ name, roomId }) {
    await get(name).client.leave(roomId);
    return true;
  },

  /** Opens the room as Element does: a room subscription (all state, a longer timeline). */
  subscribeRoom({ name, roomId }) {
    const { slidingSync } = get(name);
    slidingSync.modifyRoomSubscriptions(new Set([roomId]));
    return true;
  },

  /** Asks the list for a longer timeline on the same connection. */
  setListTimelineLimit({ name, timelineLimit }) {
    const { slidingSync } = get(name);
    slidingSync.setList(LIST, { ...slidingSync.getListParams(LIST), timeline_limit: timelineLimit });
    return true;
  },

  /** Until the room's live timeline holds exactly these message bodies, in this order. */
  async waitForMessages({ name, roomId, bodies, timeoutMs = WAIT_MS }) {
    let last = [];
    return await until(
      () => {
        last = slidingCommands.roomMessages({ name, roomId }).map((m) => m.body);
        return JSON.stringify(last) === JSON.stringify(bodies) ? last : null;
      },
      `${name}'s timeline of ${roomId} to be ${JSON.stringify(bodies)}`,
      timeoutMs,
      () => `Last: ${JSON.stringify(last)}`,
    );
  },

  /** Until the room's topic (state the room list does not ask for) is `topic`. */
  async waitForTopic({ name, roomId, topic, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    const read = () =>
      client.getRoom(roomId)?.currentState.getStateEvents(sdk.EventType.RoomTopic, "")?.getContent()
        ?.topic ?? null;
    return await until(
      () => read() === topic,
      `topic "${topic}" in ${roomId} at ${name}`,
      timeoutMs,
      () => `Topic: ${JSON.stringify(read())}`,
    );
  },

  /** Until `userId` is shown typing (or not) in the room (typing extension). */
  async waitForTyping({ name, roomId, userId, typing = true, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    return await until(
      () => (client.getRoom(roomId)?.getMember(userId)?.typing ?? false) === typing,
      `${userId} ${typing ? "" : "not "}typing in ${roomId} at ${name}`,
      timeoutMs,
    );
  },

  /** Until global account data of `type` has `content` (account_data extension). */
  async waitForAccountData({ name, type, content, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    const read = () => client.getAccountData(type)?.getContent() ?? null;
    return await until(
      () => JSON.stringify(read()) === JSON.stringify(content),
      `${type} account data at ${name}`,
      timeoutMs,
      () => `Last: ${JSON.stringify(read())}`,
    );
  },

  /** Until the room carries the tag (room account data through the account_data extension). */
  async waitForTag({ name, roomId, tag, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    return await until(
      () => Boolean(client.getRoom(roomId)?.tags?.[tag]),
      `tag ${tag} on ${roomId} at ${name}`,
      timeoutMs,
      () => `Tags: ${JSON.stringify(client.getRoom(roomId)?.tags ?? null)}`,
    );
  },

  /** How many sliding sync responses the client has had, and the errors it met (errcodes). */
  responses({ name }) {
    const { responses, errors } = get(name);
    return { responses, errors };
  },
};
