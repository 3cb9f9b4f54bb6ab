import { describe, expect, it } from "vitest";
import { formatCallDuration, isCallEnd, summarizeCall, type CallEventLike } from "./callHistory";

const ALICE = "@alice:sceau.test";
const BOB = "@bob:sceau.test";
const VIDEO_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
const VOICE_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

function ev(type: string, ts: number, sender: string, content: Record<string, unknown>): CallEventLike {
  return { type, ts, sender, content };
}

const invite = (sdp = VIDEO_SDP) => ev("m.call.invite", 1_000, ALICE, { call_id: "c1", version: "1", offer: { type: "offer", sdp } });
const answer = ev("m.call.answer", 4_000, BOB, { call_id: "c1", version: "1", answer: { type: "answer", sdp: VOICE_SDP } });

describe("summarizeCall", () => {
  it("gives an answered call's length from answer to hangup, whoever hangs up", () => {
    const hangup = ev("m.call.hangup", 4_000 + 65_000, BOB, { call_id: "c1", reason: "user_hangup" });
    expect(summarizeCall("c1", [hangup, answer, invite()])).toEqual({
      callId: "c1",
      callerId: ALICE,
      video: true,
      outcome: "ended",
      durationMs: 65_000,
      endEventTs: 69_000,
      endEventId: null,
    });
  });

  it("tells voice from video by the offer", () => {
    const hangup = ev("m.call.hangup", 9_000, ALICE, { call_id: "c1" });
    expect(summarizeCall("c1", [invite(VOICE_SDP), answer, hangup])?.video).toBe(false);
  });

  it("names a reject as declined, with no duration", () => {
    const reject = ev("m.call.reject", 3_000, BOB, { call_id: "c1", version: "1" });
    expect(summarizeCall("c1", [invite(), reject])).toMatchObject({ outcome: "declined", durationMs: null });
  });

  it("names an invite that timed out as no answer", () => {
    const hangup = ev("m.call.hangup", 61_000, ALICE, { call_id: "c1", reason: "invite_timeout" });
    expect(summarizeCall("c1", [invite(), hangup])).toMatchObject({ outcome: "no_answer", durationMs: null });
  });

  it("names ICE failures as a lost connection and keeps how long it lasted", () => {
    for (const reason of ["ice_failed", "ice_timeout"]) {
      const hangup = ev("m.call.hangup", 34_000, BOB, { call_id: "c1", reason });
      expect(summarizeCall("c1", [invite(), answer, hangup])).toMatchObject({ outcome: "connection_lost", durationMs: 30_000 });
    }
  });

  it("tells a caller's cancel from a callee's old-style decline by hangup", () => {
    const byCaller = ev("m.call.hangup", 2_000, ALICE, { call_id: "c1" });
    const byCallee = ev("m.call.hangup", 2_000, BOB, { call_id: "c1" });
    expect(summarizeCall("c1", [invite(), byCaller])?.outcome).toBe("cancelled");
    expect(summarizeCall("c1", [invite(), byCallee])?.outcome).toBe("declined");
  });

  it("uses the first end event when both sides hang up", () => {
    const first = ev("m.call.hangup", 10_000, ALICE, { call_id: "c1" });
    const second = ev("m.call.hangup", 10_500, BOB, { call_id: "c1", reason: "ice_failed" });
    expect(summarizeCall("c1", [invite(), answer, second, first])).toMatchObject({ outcome: "ended", endEventTs: 10_000 });
  });

  it("is null while the call has not ended", () => {
    expect(summarizeCall("c1", [invite(), answer])).toBeNull();
  });

  it("ignores other calls and survives malformed content", () => {
    const garbage: CallEventLike[] = [
      ev("m.call.invite", 500, BOB, { call_id: 5, offer: "not an offer", lifetime: "soon" }),
      ev("m.call.invite", 600, BOB, { call_id: "c1", offer: { sdp: ["v=0"] } }),
      ev("m.call.answer", 700, BOB, { call_id: { nested: true } }),
      ev("m.call.hangup", 800, BOB, { call_id: "other" }),
      ev("m.call.hangup", 900, BOB, { call_id: "c1", reason: 42 }),
    ];
    expect(summarizeCall("c1", garbage)).toEqual({
      callId: "c1",
      callerId: BOB,
      video: false,
      outcome: "cancelled",
      durationMs: null,
      endEventTs: 900,
      endEventId: null,
    });
    expect(summarizeCall("c1", [ev("m.call.hangup", 1, ALICE, {})])).toBeNull();
  });
});

describe("isCallEnd", () => {
  it("accepts hangups and rejects with a readable call ID only", () => {
    expect(isCallEnd({ type: "m.call.hangup", content: { call_id: "c1" } })).toBe(true);
    expect(isCallEnd({ type: "m.call.reject", content: { call_id: "c1" } })).toBe(true);
    expect(isCallEnd({ type: "m.call.hangup", content: { call_id: 7 } })).toBe(false);
    expect(isCallEnd({ type: "m.call.hangup", content: { call_id: "" } })).toBe(false);
    expect(isCallEnd({ type: "m.call.invite", content: { call_id: "c1" } })).toBe(false);
  });
});

describe("formatCallDuration", () => {
  it("reads like a clock", () => {
    expect(formatCallDuration(0)).toBe("0:00");
    expect(formatCallDuration(65_400)).toBe("1:05");
    expect(formatCallDuration(3_723_000)).toBe("1:02:03");
    expect(formatCallDuration(-5)).toBe("0:00");
  });
});
