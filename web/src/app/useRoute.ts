import { useCallback, useEffect, useState } from "react";
import { formatRoute, parseRoute, type Route } from "./route";

export function useRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const navigate = useCallback((next: Route) => {
    window.location.hash = formatRoute(next);
  }, []);
  return [route, navigate];
}
