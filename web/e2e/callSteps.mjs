// Steps of the call scenarios (tests/e2e/web/test_calls.py). Elements are found
// by role and French accessible name, given as a key of the client's catalogue
// (`key`, with `vars`) or as text (`label`); docs/web-client.md, "Test hooks".
//
// `instrumentCalls` runs before the client's code in every page of the user:
// it keeps each RTCPeerConnection the client makes (so the test can read
// getStats() from both ends) and, with `forceRelay`, sets the connection's
// iceTransportPolicy to "relay", so media can only flow through the TURN
// server whose credentials Sceau handed out.

import { tr } from "./i18n.mjs";

/** An accessible name: the catalogue string of `key` (a prefix match when `partial`), or `label`. */
function accessibleName({ key, vars, label, partial = false }) {
  return key ? tr(key, vars ?? {}, { exact: !partial }) : label;
}

/** The page, or the element of role `within.role` named by `within` (key or label). */
function scopeOf(page, within) {
  return within ? page.getByRole(within.role, { name: accessibleName(within) }) : page;
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
      const inbound = { audio: 0, video: 0, videoStreams: 0 };
      let pair = null;
      report.forEach((entry) => {
        if (entry.type === "inbound-rtp" && (entry.kind === "audio" || entry.kind === "video")) {
          inbound[entry.kind] += entry.packetsReceived ?? 0;
          if (entry.kind === "video" && (entry.packetsReceived ?? 0) > 0) inbound.videoStreams += 1;
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

    /** Click the button named by `key`/`vars` or `label` (inside the element of `within`, if given). */
    async press({ name, within, ...named }) {
      const { page } = user(name);
      await scopeOf(page, within).getByRole("button", { name: accessibleName(named) }).first().click();
    },

    /** Wait until an element of `role`, named by `key`/`vars` or `label`, shows. */
    async waitRole({ name, role, within, timeout, pressed, ...named }) {
      const { page } = user(name);
      const options = { name: accessibleName(named), ...(pressed === undefined ? {} : { pressed }) };
      await scopeOf(page, within).getByRole(role, options).first().waitFor({ timeout });
    },

    /** Wait until text (`key`/`vars` or `label`, matched as a part) shows in the page or `within`. */
    async waitText({ name, within, timeout, ...named }) {
      const { page } = user(name);
      const text = named.key ? tr(named.key, named.vars ?? {}, { exact: false }) : named.label;
      await scopeOf(page, within).getByText(text).first().waitFor({ timeout });
    },

    /** Wait until nothing of `role` named by `key`/`vars` or `label` is left. */
    async waitGone({ name, role, timeout, ...named }) {
      const { page } = user(name);
      await page.getByRole(role, { name: accessibleName(named) }).first().waitFor({ state: "detached", timeout });
    },

    /** getStats() of the user's peer connections: inbound packets and the candidate pair in use. */
    async rtcStats({ name }) {
      return peerStats(user(name).page);
    },

    /**
     * Poll getStats() until `count` connections receive audio and video (at
     * least `videoStreams` video streams each) over a relay candidate on our
     * side; returns the last stats either way.
     */
    async waitRelayedMedia({ name, count = 1, videoStreams = 1, timeout = 40_000 }) {
      const { page } = user(name);
      const deadline = Date.now() + timeout;
      let stats = [];
      while (Date.now() < deadline) {
        stats = await peerStats(page);
        const flowing = stats.filter(
          (s) =>
            s.inbound.audio > 0 &&
            s.inbound.videoStreams >= videoStreams &&
            s.localCandidateType === "relay",
        );
        if (flowing.length >= count) return stats;
        await page.waitForTimeout(500);
      }
      return stats;
    },
  };
}
