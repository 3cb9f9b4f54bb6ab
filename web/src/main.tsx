import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { applyTheme, storedTheme } from "./app/theme";
import { loadConfig } from "./config";
import { initI18n } from "./i18n";
import { loadCredentials } from "./matrix/credentials";
import "./ui/styles.css";

// The login screen needs only this chunk; the logged-in app, matrix-js-sdk
// and the crypto WASM are loaded after login (see app/App.tsx).
applyTheme(storedTheme());
const [config, credentials] = await Promise.all([loadConfig(), loadCredentials(), initI18n()]);
document.title = config.brand;
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App config={config} initialCredentials={credentials} />
  </StrictMode>,
);
