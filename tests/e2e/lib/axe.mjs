// axe-core (the pinned npm package) run inside the app's real window: its script injected over
// WebDriver, `axe.run` on the whole document, violations printed with their ids and targets.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The impacts that fail a test; moderate and minor ones are printed only. */
export const FAILING_IMPACTS = ['serious', 'critical'];

/**
 * Runs axe-core on the window's document as it is now; returns its violations
 * (`{ id, impact, help, nodes: [{ target, summary }] }`).
 */
export async function axeViolations(browser) {
  // The script defines `window.axe`; injected once per page.
  if (!(await browser.execute(() => typeof window.axe === 'object'))) await browser.execute(axeSource);
  const result = await browser.executeAsync((done) => {
    window.axe
      .run(document, { resultTypes: ['violations'] })
      .then((r) =>
        done(
          JSON.stringify(
            r.violations.map((v) => ({
              id: v.id,
              impact: v.impact,
              help: v.help,
              nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
            })),
          ),
        ),
      )
      .catch((error) => done(JSON.stringify({ error: String(error) })));
  });
  const parsed = JSON.parse(result);
  if (parsed.error) throw new Error(`axe.run failed in the window: ${parsed.error}`);
  return parsed;
}

/** One line per violation and per element, for the test's output. */
export function describeViolations(violations) {
  return violations
    .flatMap((v) => [
      `  ${v.impact ?? 'unknown'} ${v.id}: ${v.help}`,
      ...v.nodes.map((n) => `    at ${n.target}${n.summary ? ` — ${n.summary.replace(/\s+/g, ' ')}` : ''}`),
    ])
    .join('\n');
}

/**
 * Runs axe on the window in the state `label` names, prints every violation, and returns the
 * serious and critical ones (the test fails on those).
 */
export async function checkAccessibility(browser, label, log = console.log) {
  const violations = await axeViolations(browser);
  if (violations.length === 0) log(`axe (${label}): no violations`);
  else log(`axe (${label}): ${violations.length} violation(s)\n${describeViolations(violations)}`);
  return violations.filter((v) => FAILING_IMPACTS.includes(v.impact));
}
