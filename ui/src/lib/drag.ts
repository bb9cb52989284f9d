// Dragging a parked call onto the active call's card or the conference card merges them
// (HTML5 drag and drop; the parked row's Merge button is the keyboard way to do the same).

import type { CallId } from './types';

/** The drag data type that carries a call id (nothing else the page could drop carries it). */
export const CALL_DRAG_TYPE = 'application/x-hookflash-call';

/** Starts dragging call `id`. */
export function startCallDrag(event: DragEvent, id: CallId): void {
  if (!event.dataTransfer) return;
  event.dataTransfer.setData(CALL_DRAG_TYPE, String(id));
  event.dataTransfer.effectAllowed = 'link';
}

/** Whether a drag over a target carries a call (its data itself is only readable on drop). */
export function carriesCall(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes(CALL_DRAG_TYPE);
}

/** The call dropped, if the drop carries one. */
export function droppedCall(event: DragEvent): CallId | null {
  const text = event.dataTransfer?.getData(CALL_DRAG_TYPE) ?? '';
  const id = Number(text);
  return text !== '' && Number.isInteger(id) && id >= 0 ? id : null;
}

/**
 * Drop-target handlers for an element that merges a dropped call: `over` (dragenter/dragover)
 * accepts only call drags, `drop` hands the call to `onMerge`. `hovering` follows whether a call
 * is being held over the element, for its highlight.
 */
export function mergeDropTarget(onMerge: (id: CallId) => void, hovering: (on: boolean) => void) {
  return {
    over(event: DragEvent) {
      if (!carriesCall(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'link';
      hovering(true);
    },
    leave(event: DragEvent) {
      // Moving between the element's own children fires dragleave too; only leaving it counts.
      const to = event.relatedTarget as Node | null;
      const from = event.currentTarget as Node | null;
      if (to && from?.contains(to)) return;
      hovering(false);
    },
    drop(event: DragEvent) {
      hovering(false);
      const id = droppedCall(event);
      if (id === null) return;
      event.preventDefault();
      onMerge(id);
    },
  };
}
