// The bench's data, made through the client-server API: one user, N rooms, and
// one room with a long history to scroll back through.
const PASSWORD = "bench-Passw0rd!";

async function call(base, method, path, { token, body } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: {
      "Content-Type": "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  return { status: response.status, data };
}

async function ok(base, method, path, options) {
  const { status, data } = await call(base, method, path, options);
  if (status !== 200) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(data)}`);
  return data;
}

/** Register `localpart` (UIA with the dummy stage); returns { userId, token, password }. */
export async function register(base, localpart) {
  const path = "/_matrix/client/v3/register";
  const first = await call(base, "POST", path, { body: { username: localpart, password: PASSWORD } });
  const data =
    first.status === 200
      ? first.data
      : await ok(base, "POST", path, {
          body: {
            username: localpart,
            password: PASSWORD,
            auth: { type: "m.login.dummy", session: first.data.session },
          },
        });
  return { userId: data.user_id, token: data.access_token, password: PASSWORD, localpart };
}

/** Run `task(i)` for i in [0, count) with at most `width` at once. */
async function pool(count, width, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

export function roomName(i) {
  return `Salon ${String(i + 1).padStart(3, "0")}`;
}

export function messageBody(i) {
  // "numéro 1 de" is no substring of "numéro 10 de": the first message is found exactly.
  return `Message numéro ${i + 1} de l'historique`;
}

/** `rooms` rooms (the last one created is the most recent), and a history room. */
export async function seed(base, { rooms, messages }) {
  const user = await register(base, `bench${Date.now().toString(36)}`);
  const token = user.token;
  const roomIds = [];
  for (let i = 0; i < rooms; i++) {
    const created = await ok(base, "POST", "/_matrix/client/v3/createRoom", {
      token,
      body: { name: roomName(i), preset: "private_chat" },
    });
    roomIds.push(created.room_id);
  }
  const history = await ok(base, "POST", "/_matrix/client/v3/createRoom", {
    token,
    body: { name: "Historique", preset: "private_chat" },
  });
  const send = (i) =>
    ok(base, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(history.room_id)}/send/m.room.message/b${i}`, {
      token,
      body: { msgtype: "m.text", body: messageBody(i) },
    });
  // The first message alone, so that it is the oldest: scrolling back ends on it.
  if (messages > 0) await send(0);
  await pool(messages - 1, 8, (i) => send(i + 1));
  return { user, roomIds, historyRoomId: history.room_id };
}
