import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ClientConfig } from "../config";
import type { Credentials } from "../matrix/credentials";
import { MatrixSession } from "../matrix/session";
import { MediaContext } from "../ui/media";
import { useStore } from "../ui/useStore";
import { CallLayer } from "../features/calls/CallLayer";
import { EncryptionOverlay } from "../features/verification/EncryptionOverlay";
import { ExpiredAccountScreen } from "../features/policy/ExpiredAccountScreen";
import { RoomScreen } from "../features/room/RoomScreen";
import { RoomListPanel } from "../features/roomlist/RoomListPanel";
import { Loading } from "./App";
import { ConnectionBanner } from "./ConnectionBanner";
import { SessionContext } from "./sessionContext";
import { useNotifications } from "./useNotifications";
import { useRoute } from "./useRoute";

interface Props {
  config: ClientConfig;
  credentials: Credentials;
  onLoggedOut: () => void;
}

/** The logged-in app: its own chunk, with matrix-js-sdk and (later) the crypto WASM. */
export default function LoggedInApp({ config, credentials, onLoggedOut }: Props) {
  const { t } = useTranslation();
  const [session, setSession] = useState<MatrixSession | null>(null);
  useEffect(() => {
    const started = new MatrixSession(credentials, config);
    setSession(started);
    void started.start();
    const stop = started.loggedOut.subscribe(() => {
      if (started.loggedOut.get()) onLoggedOut();
    });
    return () => {
      stop();
      started.stop();
    };
  }, [credentials, config, onLoggedOut]);
  if (!session) return <Loading label={t("app.loading")} />;
  return (
    <SessionContext.Provider value={session}>
      <MediaContext.Provider value={session.media}>
        <Shell session={session} />
      </MediaContext.Provider>
    </SessionContext.Provider>
  );
}

function Shell({ session }: { session: MatrixSession }) {
  const { t } = useTranslation();
  const ready = useStore(session.ready);
  const expired = useStore(session.expired);
  const connection = useStore(session.connection);
  const rooms = useStore(session.roomList.rooms);
  const [route, navigate] = useRoute();
  const openRoom = useCallback((roomId: string | null) => navigate({ roomId, threadId: null }), [navigate]);
  const current = route.roomId ? rooms.find((r) => r.roomId === route.roomId) : undefined;
  useNotifications(session, rooms, current?.name ?? null, openRoom);

  if (expired) return <ExpiredAccountScreen session={session} />;
  if (!ready) return <Loading label={t("app.syncing")} />;
  const roomOpen = route.roomId !== null;
  return (
    <div className="app" data-view={roomOpen ? "room" : "list"}>
      <CallLayer />
      <ConnectionBanner state={connection} />
      <EncryptionOverlay />
      <a className="skip-link" href="#main-content">
        {t("app.skipToContent")}
      </a>
      <RoomListPanel selected={route.roomId} onSelect={openRoom} />
      <main id="main-content" className="room-pane" tabIndex={-1} aria-label={current?.name ?? t("app.main")}>
        {route.roomId ? (
          <RoomScreen
            key={route.roomId}
            roomId={route.roomId}
            threadId={route.threadId}
            onBack={() => openRoom(null)}
            onOpenThread={(threadId) => navigate({ roomId: route.roomId, threadId })}
            onOpenRoom={openRoom}
          />
        ) : (
          <div className="empty-state">
            <span className="brand-mark brand-mark-large" aria-hidden="true" />
            <h1>{t("app.welcomeTitle", { brand: session.config.brand })}</h1>
            <p>{t("app.welcomeText")}</p>
          </div>
        )}
      </main>
    </div>
  );
}
