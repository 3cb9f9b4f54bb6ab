/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built files are served by Sceau at "/": no inline scripts (strict CSP),
// hashed assets for immutable caching. The logged-in app and matrix-js-sdk's
// Rust crypto (WASM) are separate chunks loaded after login.
const sceau = process.env.SCEAU_URL ?? "http://127.0.0.1:8008";
const sceauProxy = { "/_matrix": sceau, "/config.json": sceau, "/.well-known": sceau };

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    target: "es2022",
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 4096,
  },
  // `npm run dev` / `npm run preview` talk to a local Sceau (SCEAU_URL).
  server: { proxy: sceauProxy },
  preview: { proxy: sceauProxy },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
