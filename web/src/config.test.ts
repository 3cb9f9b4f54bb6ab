import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";

describe("parseConfig", () => {
  it("reads every field of the server's config.json", () => {
    const config = parseConfig(
      {
        server_name: "interieur.gouv",
        base_url: "https://matrix.interieur.gouv/",
        brand: "Tchap",
        upload_limit: 1024,
        features: { registration: true, calls: false, bogus: "yes" },
      },
      "https://web.example",
    );
    expect(config).toEqual({
      serverName: "interieur.gouv",
      baseUrl: "https://matrix.interieur.gouv",
      brand: "Tchap",
      uploadLimit: 1024,
      features: { registration: true, calls: false },
    });
  });

  it("falls back to the page's origin when the file is missing or malformed", () => {
    const config = parseConfig(null, "http://127.0.0.1:8008");
    expect(config.baseUrl).toBe("http://127.0.0.1:8008");
    expect(config.serverName).toBe("127.0.0.1:8008");
    expect(config.brand).toBe("Sceau");
    expect(config.uploadLimit).toBeNull();
    expect(config.features).toEqual({});
  });
});
