// Steps of the call scenarios (tests/e2e/web/test_calls.py). Elements are found
// by role and French accessible name (docs/web-client.md, "Test hooks").
//
// `instrumentCalls` runs before the client's code in every page of the user:
// it keeps each RTCPeerConnection the client makes (so the test can read
// getStats() from both ends) and, with `forceRelay`, sets the connection's
// iceTransportPolicy to "relay", so media can only flow through the TURN
// server whose credentials Sceau handed out.

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What getStats() says of every live peer connection of the page. */
async function peerStats(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.__sceauPeerConnections ?? []) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      const byId = new Map();
      report.forEach((entry) => byId.set(entry.id, entry));
      const inbound = { audio: 0, video: 0 };
      let pair = null;
      report.forEach((entry) => {
        if (entry.type === "inbound-rtp" && (entry.kind === "audio" || entry.kind === "video")) {
          inbound[entry.kind] += entry.packetsReceived ?? 0;
        }
        if (entry.type === "transport" && entry.selectedCandidatePairId) {
          pair = byId.get(entry.selectedCandidatePairId) ?? pair;
        }
      });
      if (!pair) {
        report.forEach((entry) => {
          if (entry.type === "candidate-pair" && entry.state === "succeeded" && entry.nominated) pair = entry;
        });
      }
      const local = pair ? byId.get(pair.localCandidateId) : null;
      const remote = pair ? byId.get(pair.remoteCandidateId) : null;
      out.push({
        connectionState: pc.connectionState,
        iceTransportPolicy: pc.getConfiguration().iceTransportPolicy,
        iceServers: pc.getConfiguration().iceServers?.map((s) => [].concat(s.urls)) ?? [],
        inbound,
        localCandidateType: local?.candidateType ?? null,
        remoteCandidateType: remote?.candidateType ?? null,
        localRelayProtocol: local?.relayProtocol ?? null,
      });
    }
    return out;
  });
}

export function callSteps(user) {
  return {
    /** Record the user's peer connections (and force the relay) from the next page load on. */
    async instrumentCalls({ name, forceRelay = true }) {
      await user(name).context.addInitScript((relayOnly) => {
        const Original = window.RTCPeerConnection;
        if (!Original || Original.__sceauWrapped) return;
        window.__sceauPeerConnections = [];
        class Recorded extends Original {
          constructor(config, ...rest) {
            super(relayOnly ? { ...(config ?? {}), iceTransportPolicy: "relay" } : config, ...rest);
            window.__sceauPeerConnections.push(this);
          }
        }
        Recorded.__sceauWrapped = true;
        window.RTCPeerConnection = Recorded;
      }, forceRelay);
    },

    /** Open a room from the room list by its name. */
    async openRoom({ name, room }) {
      const { page } = user(name);
      const list = page.getByRole("navigation", { name: "Conversations" });
      await list.getByRole("link", { name: new RegExp(`^${escapeRegExp(room)}`) }).first().click();
      await page.getByRole("main", { name: room }).waitFor();
    },

    /** Click the button with this accessible name (inside the element of `within`, if given). */
    async press({ name, label, within, exact = true }) {
      const { page } = user(name);
      const scope = within ? page.getByRole(within.role, { name: within.label }) : page;
      await scope.getByRole("button", { name: label, exact }).first().click();
    },

    /** Wait until this text shows in the page (or in the element of `within`). */
    async waitText({ name, text, within, timeout }) {
      const { page } = user(name);
      const scope = within ? page.getByRole(within.role, { name: within.label }) : page;
      await scope.getByText(text, { exact: false }).first().waitFor({ timeout });
    },

    /** Wait until nothing matches the role and name any more. */
    async waitGone({ name, role, label, timeout }) {
      const { page } = user(name);
      await page.getByRole(role, { name: label }).first().waitFor({ state: "detached", timeout });
    },

    /** getStats() of the user's peer connections: inbound packets and the candidate pair in use. */
    async rtcStats({ name }) {
      return peerStats(user(name).page);
    },

    /**
     * Poll getStats() until `count` connections receive audio and video over a
     * relay candidate on our side; returns the last stats either way.
     */
    async waitRelayedMedia({ name, count = 1, timeout = 40_000 }) {
      const { page } = user(name);
      const deadline = Date.now() + timeout;
      let stats = [];
      while (Date.now() < deadline) {
        stats = await peerStats(page);
        const flowing = stats.filter(
          (s) => s.inbound.audio > 0 && s.inbound.video > 0 && s.localCandidateType === "relay",
        );
        if (flowing.length >= count) return stats;
        await page.waitForTimeout(500);
      }
      return stats;
    },
  };
}
