// ESLint with typescript-eslint: the recommended rules, unused variables and imports as errors.
import Module from 'node:module';
import { defineConfig } from 'eslint/config';

// typescript-eslint parses with TypeScript's JS API, which TypeScript 7 (our compiler) no longer
// ships; `typescript-api` is TypeScript 6 installed under an alias, handed to it as `typescript`.
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === 'typescript' ? 'typescript-api' : request, ...rest);
};
const { default: js } = await import('@eslint/js');
const { default: tseslint } = await import('typescript-eslint');

export default defineConfig({ ignores: ['dist/', 'results/', 'src/kernels/binaries.ts'] }, js.configs.recommended, tseslint.configs.recommended, {
  linterOptions: { reportUnusedDisableDirectives: 'error' },
});
