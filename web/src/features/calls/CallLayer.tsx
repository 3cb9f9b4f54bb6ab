import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";
import { CallScreen } from "./CallScreen";
import { GroupCallScreen } from "./GroupCallScreen";
import { IncomingCall } from "./IncomingCall";
import "./calls.css";

/** Above the whole app: the ringing, ongoing or just-ended call, one at a time. */
export function CallLayer() {
  const session = useSession();
  const call = useStore(session.calls.call);
  const group = useStore(session.groupCalls.current);
  if (call) {
    return call.phase === "incoming" ? <IncomingCall call={call} calls={session.calls} /> : <CallScreen call={call} calls={session.calls} />;
  }
  if (group) {
    const name = session.client.getRoom(group.roomId)?.name ?? group.roomId;
    return <GroupCallScreen call={group} groupCalls={session.groupCalls} roomName={name} />;
  }
  return null;
}
