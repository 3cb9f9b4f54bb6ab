import { lazy, Suspense, useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ClientConfig } from "../config";
import { SignInScreen } from "../features/signin/SignInScreen";
import { saveCredentials, type Credentials } from "../matrix/credentials";

const LoggedInApp = lazy(() => import("./LoggedInApp"));

interface Props {
  config: ClientConfig;
  initialCredentials: Credentials | null;
}

export function Loading({ label }: { label: string }) {
  return (
    <div className="loading-screen" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <p>{label}</p>
    </div>
  );
}

/** Signed out: the sign-in screen. Signed in: the app, loaded on demand. */
export function App({ config, initialCredentials }: Props) {
  const [credentials, setCredentials] = useState(initialCredentials);
  const { t } = useTranslation();
  const onLoggedOut = useCallback(() => {
    window.location.hash = "";
    setCredentials(null);
  }, []);
  if (!credentials) {
    return (
      <SignInScreen
        config={config}
        onSignedIn={async (creds) => {
          await saveCredentials(creds);
          setCredentials(creds);
        }}
      />
    );
  }
  return (
    <Suspense fallback={<Loading label={t("app.loading")} />}>
      <LoggedInApp
        config={config}
        credentials={credentials}
        onLoggedOut={onLoggedOut}
      />
    </Suspense>
  );
}
