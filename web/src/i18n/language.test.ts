import { describe, expect, it } from "vitest";
import { pickLanguage } from "./language";

describe("pickLanguage", () => {
  it("defaults to French", () => {
    expect(pickLanguage(null, [])).toBe("fr");
    expect(pickLanguage(null, ["de-DE", "es"])).toBe("fr");
  });
  it("uses English when the browser prefers it", () => {
    expect(pickLanguage(null, ["en-GB", "fr-FR"])).toBe("en");
    expect(pickLanguage(null, ["de", "en-US"])).toBe("en");
  });
  it("keeps French when the browser lists it before English", () => {
    expect(pickLanguage(null, ["fr-CA", "en"])).toBe("fr");
  });
  it("lets the stored choice win over the browser", () => {
    expect(pickLanguage("fr", ["en-US"])).toBe("fr");
    expect(pickLanguage("en", ["fr"])).toBe("en");
    expect(pickLanguage("xx", ["en"])).toBe("en");
  });
});
