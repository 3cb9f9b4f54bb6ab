// A minimal client with the hooks the bench uses: a login form, a room list in
// a nav, the open room's name in main's h1, a scrollable history.
const root = document.getElementById("root");
const api = (path, token, init = {}) =>
  fetch("/_matrix/client/v3" + path, {
    ...init,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  }).then((r) => r.json());

function loginScreen() {
  root.innerHTML = `<main><h1>Connexion</h1><form><label>Identifiant <input name="username" autocomplete="username"></label>
  <label>Mot de passe <input type="password" name="password"></label><button type="submit">Se connecter</button></form></main>`;
  root.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { type: "m.login.password", identifier: { type: "m.id.user", user: form.get("username") }, password: form.get("password") };
    const answer = await api("/login", null, { method: "POST", body: JSON.stringify(body) });
    localStorage.setItem("token", answer.access_token);
    app(answer.access_token);
  });
}

async function app(token) {
  const sync = await api("/sync?timeout=0", token);
  const rooms = Object.entries(sync.rooms?.join ?? {}).map(([id, room]) => {
    const name = [...room.state.events, ...room.timeline.events].find((e) => e.type === "m.room.name")?.content.name ?? id;
    const last = Math.max(...room.timeline.events.map((e) => e.origin_server_ts), 0);
    return { id, name, last };
  });
  rooms.sort((a, b) => b.last - a.last);
  root.innerHTML = `<nav aria-label="Salons"><ul></ul></nav><main><h1></h1><div class="timeline"></div></main>`;
  Object.assign(root.querySelector(".timeline").style, { height: "400px", overflow: "auto" });
  const list = root.querySelector("ul");
  for (const room of rooms) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.textContent = room.name;
    button.addEventListener("click", () => open(token, room));
    item.append(button);
    list.append(item);
  }
}

async function open(token, room) {
  root.querySelector("main h1").textContent = room.name;
  const timeline = root.querySelector(".timeline");
  timeline.textContent = "";
  let from = null;
  let loading = false;
  const more = async () => {
    if (loading || from === undefined) return;
    loading = true;
    const page = await api(`/rooms/${encodeURIComponent(room.id)}/messages?dir=b&limit=100${from ? `&from=${from}` : ""}`, token);
    for (const event of page.chunk) {
      if (event.type !== "m.room.message") continue;
      const p = document.createElement("p");
      p.textContent = event.content.body;
      timeline.prepend(p);
    }
    from = page.chunk.length ? page.end : undefined;
    loading = false;
  };
  timeline.onscroll = () => timeline.scrollTop < 50 && more();
  await more();
  timeline.scrollTop = timeline.scrollHeight;
}

const saved = localStorage.getItem("token");
if (saved) app(saved);
else loginScreen();
