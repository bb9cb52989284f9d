// How often the window's clock (`now`) ticks. A phone sits idle most of the day: the window then
// only has "5 min ago" labels to keep true, so it wakes twice a minute; call timers, countdowns
// (a registration retry, a transfer request) and park reminders need it twice a second; a window
// nobody can see needs nothing (the clock is set anew when it shows again). Each tick re-renders
// what depends on it, which is the window's whole idle CPU (`cargo xtask bench`, desktop lines).

/** Twice a second: call timers and countdowns move by seconds. */
export const BUSY_TICK_MS = 500;
/** Idle: history's relative times change by minutes. */
export const IDLE_TICK_MS = 30_000;

export interface ClockNeeds {
  /** Calls not over yet (ringing, connected, parked...). */
  calls: number;
  /** Something counts down in seconds (a registration retry, a transfer request). */
  countdown: boolean;
  /** The window can be seen (`document.visibilityState`). */
  visible: boolean;
}

/** Milliseconds between ticks, or null for none. */
export function tickEvery({ calls, countdown, visible }: ClockNeeds): number | null {
  if (!visible) return null;
  return calls > 0 || countdown ? BUSY_TICK_MS : IDLE_TICK_MS;
}
