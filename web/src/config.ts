/**
 * The client's runtime configuration, read from `/config.json` which Sceau
 * generates from its own config: one build serves every deployment.
 */
export interface ClientConfig {
  serverName: string;
  baseUrl: string;
  brand: string;
  uploadLimit: number | null;
  features: Record<string, boolean>;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/** Validate the raw JSON; anything missing falls back to same-origin defaults. */
export function parseConfig(raw: unknown, origin: string): ClientConfig {
  const obj = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  const features: Record<string, boolean> = {};
  if (obj.features && typeof obj.features === "object") {
    for (const [key, value] of Object.entries(obj.features as Record<string, unknown>)) {
      if (typeof value === "boolean") features[key] = value;
    }
  }
  const limit = obj.upload_limit;
  const host = (() => {
    try {
      return new URL(origin).host;
    } catch {
      return "localhost";
    }
  })();
  return {
    serverName: str(obj.server_name) ?? host,
    baseUrl: (str(obj.base_url) ?? origin).replace(/\/+$/, ""),
    brand: str(obj.brand) ?? "Sceau",
    uploadLimit: typeof limit === "number" && limit > 0 ? limit : null,
    features,
  };
}

/** Fetch `/config.json`; a missing or broken file means "same origin, defaults". */
export async function loadConfig(origin: string = window.location.origin): Promise<ClientConfig> {
  try {
    const response = await fetch("/config.json", { cache: "no-cache" });
    if (response.ok) return parseConfig(await response.json(), origin);
  } catch {
    // fall through to defaults
  }
  return parseConfig({}, origin);
}
