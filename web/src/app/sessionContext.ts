import { createContext, useContext } from "react";
import type { MatrixSession } from "../matrix/session";

export const SessionContext = createContext<MatrixSession | null>(null);

/** The logged-in session; only used under <LoggedInApp>. */
export function useSession(): MatrixSession {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside the logged-in app");
  return session;
}
