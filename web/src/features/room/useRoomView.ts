import { useEffect, useState } from "react";
import { useSession } from "../../app/sessionContext";
import type { RoomViewModel } from "../../matrix/roomView";
import { useStore } from "../../ui/useStore";

/**
 * Open a room (or thread) view model for as long as the component lives.
 * A room we just created or joined may reach the client a moment after we
 * navigate to it: the model opens once the room appears in the list.
 */
export function useRoomView(roomId: string, threadId: string | null = null): RoomViewModel | null {
  const session = useSession();
  const rooms = useStore(session.roomList.rooms);
  const known = rooms.some((r) => r.roomId === roomId);
  const [vm, setVm] = useState<RoomViewModel | null>(null);
  useEffect(() => {
    const opened = session.openRoom(roomId, threadId);
    setVm(opened);
    return () => opened?.dispose();
  }, [session, roomId, threadId, known]);
  return vm;
}
