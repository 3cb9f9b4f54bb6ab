import { useEffect, useState } from "react";
import { useSession } from "../../app/sessionContext";
import type { RoomViewModel } from "../../matrix/roomView";

/** Open a room (or thread) view model for as long as the component lives. */
export function useRoomView(roomId: string, threadId: string | null = null): RoomViewModel | null {
  const session = useSession();
  const [vm, setVm] = useState<RoomViewModel | null>(null);
  useEffect(() => {
    const opened = session.openRoom(roomId, threadId);
    setVm(opened);
    return () => opened?.dispose();
  }, [session, roomId, threadId]);
  return vm;
}
