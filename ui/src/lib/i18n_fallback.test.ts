// @vitest-environment node
/// <reference types="node" />
// A translation with a missing string: paraglide compiles the English text in its place, so the
// window shows English, never a key. Compiled here from a throwaway project with one gap.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { compile } from '@inlang/paraglide-js';

const ui = fileURLToPath(new URL('../../', import.meta.url));

describe('a missing translation', () => {
  it('falls back to English', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hookflash-i18n-'));
    try {
      mkdirSync(path.join(dir, 'project.inlang'));
      mkdirSync(path.join(dir, 'messages'));
      const plugin = path.join(ui, 'node_modules/@inlang/plugin-message-format/dist/index.js');
      writeFileSync(
        path.join(dir, 'project.inlang/settings.json'),
        JSON.stringify({
          baseLocale: 'en',
          locales: ['en', 'de', 'es'],
          modules: [path.relative(dir, plugin)],
          'plugin.inlang.messageFormat': { pathPattern: './messages/{locale}.json' },
        }),
      );
      writeFileSync(path.join(dir, 'messages/en.json'), JSON.stringify({ greet: 'Hello {name}', bye: 'Goodbye' }));
      writeFileSync(path.join(dir, 'messages/de.json'), JSON.stringify({ greet: 'Hallo {name}' }));
      writeFileSync(path.join(dir, 'messages/es.json'), JSON.stringify({}));
      await compile({ project: path.join(dir, 'project.inlang'), outdir: path.join(dir, 'out'), strategy: ['baseLocale'] });
      const mod = await import(/* @vite-ignore */ pathToFileURL(path.join(dir, 'out/messages.js')).href);
      expect(mod.greet({ name: 'Ana' }, { locale: 'de' })).toBe('Hallo Ana');
      expect(mod.bye({}, { locale: 'de' })).toBe('Goodbye');
      expect(mod.greet({ name: 'Ana' }, { locale: 'es' })).toBe('Hello Ana');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
