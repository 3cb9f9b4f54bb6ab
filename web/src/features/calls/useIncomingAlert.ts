import { useEffect } from "react";

/** Two-tone ring, 1 s on, 2 s off, drawn with Web Audio (no sound file to fetch). */
function startRinging(): () => void {
  const Context = window.AudioContext;
  if (!Context) return () => undefined;
  let context: AudioContext;
  try {
    context = new Context();
  } catch {
    return () => undefined;
  }
  const gain = context.createGain();
  gain.gain.value = 0;
  gain.connect(context.destination);
  for (const frequency of [440, 480]) {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    oscillator.start();
  }
  const ring = () => {
    const now = context.currentTime;
    gain.gain.setValueAtTime(0.08, now);
    gain.gain.setValueAtTime(0, now + 1);
  };
  ring();
  const timer = window.setInterval(ring, 3000);
  return () => {
    window.clearInterval(timer);
    void context.close().catch(() => undefined);
  };
}

/**
 * While the component that calls it is shown (a ringing call): the ring tone,
 * and a browser notification when the page is hidden and notifications are
 * allowed (the same setting as for messages).
 */
export function useIncomingAlert(title: string, body: string): void {
  useEffect(() => {
    const stopRinging = startRinging();
    let notification: Notification | null = null;
    const allowed =
      typeof Notification !== "undefined" &&
      Notification.permission === "granted" &&
      localStorage.getItem("sceau.notifications") !== "off";
    if (document.hidden && allowed) {
      notification = new Notification(title, { body, tag: "sceau-call", requireInteraction: true });
      notification.onclick = () => {
        window.focus();
        notification?.close();
      };
    }
    return () => {
      stopRinging();
      notification?.close();
    };
  }, [title, body]);
}
