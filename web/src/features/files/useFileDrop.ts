import { useState, type ClipboardEvent, type DragEvent } from "react";
import { useSession } from "../../app/sessionContext";

function hasFiles(e: DragEvent): boolean {
  return [...e.dataTransfer.types].includes("Files");
}

/**
 * Drag-and-drop and paste of files into a room: spread the returned handlers
 * on the room's element; `dragging` lets it show a drop hint.
 */
export function useFileDrop(roomId: string, threadId: string | null = null) {
  const { files } = useSession().e2ee;
  const [dragging, setDragging] = useState(false);
  return {
    dragging,
    handlers: {
      onDragEnter: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(true);
      },
      onDragOver: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
      },
      onDragLeave: (e: DragEvent) => {
        if (e.currentTarget.contains(e.relatedTarget as Node | null)) return;
        setDragging(false);
      },
      onDrop: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(false);
        const dropped = [...e.dataTransfer.files];
        if (dropped.length) void files.sendFiles(roomId, dropped, threadId);
      },
      onPaste: (e: ClipboardEvent) => {
        const pasted = [...e.clipboardData.files];
        if (pasted.length === 0) return; // text paste goes to the composer as usual
        e.preventDefault();
        void files.sendFiles(roomId, pasted, threadId);
      },
    },
  };
}
