import { useEffect, useState } from "react";

/** Milliseconds since ``since`` (null: not started), updated every second. */
export function useElapsed(since: number | null): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (since === null) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [since]);
  return since === null ? null : Math.max(0, now - since);
}
