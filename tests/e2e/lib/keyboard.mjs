// Driving the window by keyboard alone: Tab until focus is on the control wanted, then the key
// that operates it. WebDriver key actions only; the page is read (which element has focus) but
// never clicked.

import { Key } from 'webdriverio';

/** Whether the focused element matches `selector` (and, with `text`, sits in a row or card saying it). */
export function focusIs(browser, selector, text = '') {
  return browser.execute(
    (sel, txt) => {
      const el = document.activeElement;
      if (!el || el === document.body || !el.matches(sel)) return false;
      if (!txt) return true;
      const scope = el.closest('[data-testid="parked-call"], [data-testid="call-card"], [data-testid="incoming-card"]') ?? el;
      return scope.textContent.includes(txt);
    },
    selector,
    text,
  );
}

/** What has focus, for failure messages. */
function focusedDescription(browser) {
  return browser.execute(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'nothing (body)';
    const id = el.getAttribute('data-testid');
    return `<${el.tagName.toLowerCase()}${id ? ` data-testid="${id}"` : ''}> "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}"`;
  });
}

/**
 * Presses Tab until the focused element matches `selector` (within a row/card containing `text`
 * when given); at most `max` presses. Returns how many it took.
 */
export async function tabTo(browser, selector, { text = '', max = 80 } = {}) {
  if (await focusIs(browser, selector, text)) return 0;
  for (let presses = 1; presses <= max; presses++) {
    await browser.keys([Key.Tab]);
    if (await focusIs(browser, selector, text)) return presses;
  }
  throw new Error(`${max} Tabs never reached ${selector}${text ? ` (with "${text}")` : ''}; focus is on ${await focusedDescription(browser)}`);
}

/** Tab to the control, then press `key` (Enter or Space) on it. */
export async function press(browser, selector, key, options = {}) {
  const presses = await tabTo(browser, selector, options);
  await browser.keys([key]);
  return presses;
}

/**
 * Types `text` into the focused field, one key action per character: in one action sequence
 * WebKitWebDriver dropped the second of two equal characters in a row ("38833" arrived "383").
 */
export async function typeText(browser, text) {
  for (const character of text) await browser.keys([character]);
}

export { Key };
