import { describe, expect, it } from "vitest";
import { parseMxc, thumbnailPath } from "./media";

describe("mxc URIs", () => {
  it("parse into server and media ID", () => {
    expect(parseMxc("mxc://hs.example/AbC123")).toEqual({ server: "hs.example", mediaId: "AbC123" });
    expect(parseMxc("https://evil/x")).toBeNull();
    expect(parseMxc("mxc://hs/a/b")).toBeNull();
  });
  it("map to the authenticated thumbnail endpoint", () => {
    expect(thumbnailPath("mxc://hs.example/AbC", 40)).toBe(
      "/_matrix/client/v1/media/thumbnail/hs.example/AbC?width=40&height=40&method=crop",
    );
  });
});
