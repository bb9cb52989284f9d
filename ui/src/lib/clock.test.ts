import { describe, expect, it } from 'vitest';
import { BUSY_TICK_MS, IDLE_TICK_MS, tickEvery } from './clock';

describe('the window clock', () => {
  it('ticks twice a second while calls or countdowns show', () => {
    expect(tickEvery({ calls: 1, countdown: false, visible: true })).toBe(BUSY_TICK_MS);
    expect(tickEvery({ calls: 0, countdown: true, visible: true })).toBe(BUSY_TICK_MS);
  });

  it('ticks twice a minute when idle and not at all when nobody can see the window', () => {
    expect(tickEvery({ calls: 0, countdown: false, visible: true })).toBe(IDLE_TICK_MS);
    expect(tickEvery({ calls: 2, countdown: true, visible: false })).toBeNull();
  });
});
