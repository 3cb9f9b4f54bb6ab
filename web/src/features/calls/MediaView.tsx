import { useEffect, useRef } from "react";

interface Props {
  stream: MediaStream;
  /** Our own stream: muted, so we do not hear ourselves, and mirrored. */
  local: boolean;
  /** Show the picture; otherwise only the sound plays. */
  video: boolean;
  className?: string;
}

/** A call stream in a <video> (or <audio>) element, through srcObject. */
export function MediaView({ stream, local, video, className }: Props) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (element.srcObject !== stream) element.srcObject = stream;
    void element.play().catch(() => undefined);
  }, [stream]);
  if (!video) return <audio ref={ref} autoPlay muted={local} />;
  return (
    <video
      ref={ref}
      className={`${className ?? "call-video"}${local ? " call-video-local" : ""}`}
      autoPlay
      playsInline
      muted={local}
      aria-hidden="true"
    />
  );
}
